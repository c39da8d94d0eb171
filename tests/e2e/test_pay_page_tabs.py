"""A debtor with the payment page open in two tabs: the first tab's checkout holds the
balance, and the second is told so in a sentence instead of starting a second payment."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_pay_page import PHONE, link_for
from tests.factories import SeededTenant
from tests.helpers import keyed


async def test_a_second_tab_cannot_pay_what_the_first_is_paying(
    browser: Browser, client: httpx.AsyncClient, live_server: str, tenant: SeededTenant
) -> None:
    link = await link_for(client, tenant, tenant.accounts[0].id)
    context = await browser.new_context(**PHONE)
    # The first tab goes to the provider's checkout and stays there, unpaid.
    await context.route("**/sandbox/checkout/**", lambda route: route.abort())
    tabs = []
    for _ in range(2):
        tab = await context.new_page()
        await tab.goto(live_server + "/pay/" + link["url"].split("/pay/", 1)[1])
        await expect(tab.locator("#balance")).to_contain_text("1,075.00")
        tabs.append(tab)
    first, second = tabs
    async with first.expect_request("**/sandbox/checkout/**"):
        await first.get_by_role("button", name="Pay in full").click()
    await second.get_by_role("button", name="Pay in full").click()
    alert = second.get_by_role("alert")
    await expect(alert).to_contain_text(
        "A payment of $1,075.00 on this account is still under way: nothing more can be "
        "paid until it ends (a payment left unfinished ends by "
    )
    await expect(alert).to_have_text(re.compile(r"ends by \d\d:\d\d UTC\)\.$"))  # a sentence
    # Opened again, the page says so before anyone presses anything, and offers no payment.
    await second.reload()
    await expect(second.get_by_role("status")).to_have_text(
        "A payment of $1,075.00 started in the last hour is still under way: nothing more "
        "can be paid until it ends."
    )
    await expect(
        second.get_by_role("button", name=re.compile("^Pay (in full|the rest)"))
    ).to_have_count(0)
    await expect(second.get_by_text("Pay another amount")).to_have_count(0)
    await screenshot(second, "pay-under-way-phone")
    await context.close()


async def test_a_part_under_way_leaves_the_rest_to_pay(
    browser: Browser, client: httpx.AsyncClient, live_server: str, tenant: SeededTenant
) -> None:
    link = await link_for(client, tenant, tenant.accounts[0].id)
    token = link["url"].split("/pay/", 1)[1]
    started = await client.post(f"/pay/{token}/checkout", json={"amount": "75.00"}, headers=keyed())
    assert started.status_code == 200, started.text
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live_server}/pay/{token}")
    await expect(page.get_by_role("status")).to_have_text(
        "A payment of $75.00 started in the last hour is still under way."
    )
    pay_rest = page.get_by_role("button", name="Pay the rest: $1,000.00")
    await expect(pay_rest).to_be_visible()
    await screenshot(page, "pay-under-way")
    await context.route("**/sandbox/checkout/**", lambda route: route.abort())
    async with page.expect_request("**/sandbox/checkout/**"):
        await pay_rest.click()
    await context.close()
