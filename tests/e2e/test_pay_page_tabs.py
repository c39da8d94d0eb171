"""A debtor with the payment page open in two tabs: the first tab's checkout holds the
balance, and the second is told so in a sentence instead of starting a second payment."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, expect

from tests.e2e.test_pay_page import PHONE, link_for
from tests.factories import SeededTenant


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
    await context.close()
