"""Two browsers on one account: what one does appears in the other without a reload."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import ARGS, screenshot  # noqa: F401  (the browser fixture lives there)
from tests.e2e.test_login import sign_in
from tests.factories import SeededTenant


async def open_account(
    browser: Browser, base: str, email: str, password: str, account_id: int
) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    await sign_in(page, base, email, password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.goto(f"{base}/accounts/{account_id}")
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
    return page


async def test_changes_in_one_page_appear_live_in_another(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    supervisor = await open_account(
        browser, live_server, tenant.supervisor.email, tenant.supervisor.password, account.id
    )
    collector = await open_account(
        browser, live_server, tenant.collector.email, tenant.collector.password, account.id
    )
    await expect(collector.locator("#facts")).to_contain_text("Active")

    # The collector logs a call; the supervisor's page shows it.
    await collector.get_by_label("Channel").select_option("call")
    await collector.get_by_label("Outcome").select_option("left_message")
    await collector.get_by_label("Notes").fill("Left a voicemail about the balance")
    await collector.get_by_role("button", name="Log").click()
    for page in (supervisor, collector):
        await expect(page.locator("#timeline li").first).to_contain_text(
            "Left a voicemail about the balance"
        )

    # The supervisor opens a dispute (the one way a status changes on screen, asked first);
    # the collector's page shows it.
    await expect(supervisor.get_by_role("button", name="Set status")).to_have_count(0)
    await expect(supervisor.locator("#account-status")).to_have_count(0)
    await supervisor.get_by_label("Change", exact=True).select_option("disputed")
    await supervisor.get_by_label("Reason", exact=True).select_option("not_mine")
    await supervisor.get_by_role("button", name="Change status…").click()
    await supervisor.locator("#status-confirm-yes").click()
    await expect(collector.locator("#facts")).to_contain_text("Disputed")
    # One summary says contact is stopped, and a banner above the account says why.
    await expect(collector.locator("#contact-banner")).to_have_text(
        "Disputed: contact is paused while the dispute is open; a payment the debtor makes is still taken."
    )
    await expect(collector.locator("#contact-summary")).to_have_text(
        "No contact now on any channel."
    )
    await screenshot(collector, "account-live")

    # A change from elsewhere (the API) arrives too: the balance moves.
    response = await _patch(live_server, tenant, account.id, {"fees": "125.00"})
    assert response == 200
    await expect(collector.locator("#balance")).to_contain_text("1,175.00")
    await expect(supervisor.locator("#balance")).to_contain_text("1,175.00")

    # The collector takes a payment on the phone and records a promise for the rest.
    # A card: nothing is recorded until it is said how the card is paid and confirmed.
    # An amount beyond the currency's cents is refused as typed, never rounded to one.
    await collector.get_by_label("Amount (USD)").fill("75.005")
    await collector.get_by_role("button", name="Take payment").click()
    await expect(collector.get_by_role("alert")).to_have_text(
        "USD amounts have at most 2 decimals."
    )
    await collector.get_by_label("Amount (USD)").fill("75.00")
    await collector.get_by_label("Method").select_option("card")
    await collector.get_by_role("button", name="Take payment").click()
    await expect(collector.get_by_role("alert")).to_have_text(
        "Choose how the card is paid: already charged elsewhere, or through the checkout."
    )
    await collector.get_by_label("Already charged elsewhere").check()
    await collector.get_by_role("button", name="Take payment").click()
    await expect(collector.locator("#pay-confirm")).to_contain_text(
        "Record $75.00 by card, received elsewhere? It counts as paid at once."
    )
    await expect(collector.locator("#payments li")).to_have_text(["No payments yet."])
    await screenshot(collector, "account-payment-confirm")
    await collector.set_viewport_size({"width": 390, "height": 844})
    await collector.locator("#pay-how").scroll_into_view_if_needed()
    await screenshot(collector, "account-payment-confirm-phone")
    await collector.set_viewport_size({"width": 1280, "height": 860})
    await collector.get_by_role("button", name="Record as paid").click()
    await expect(collector.locator("#pay-result")).to_have_text("$75.00 by card recorded as paid.")
    await expect(supervisor.locator("#balance")).to_contain_text("1,100.00")
    await expect(supervisor.locator("#payments li").first).to_contain_text("succeeded")
    await collector.get_by_label("Promised amount").fill("500.00")
    await collector.get_by_label("By").fill(_in_days(5))
    await collector.get_by_role("button", name="Record promise").click()
    await expect(supervisor.locator("#promises li").first).to_contain_text("pending")
    await expect(collector.locator("#contact-status")).to_contain_text("Debtor local")
    await screenshot(collector, "account-collector")
    for page in (supervisor, collector):
        await page.context.close()


async def _patch(base: str, tenant: SeededTenant, account_id: int, body: dict) -> int:
    import httpx

    async with httpx.AsyncClient() as http:
        response = await http.patch(
            f"{base}/api/v1/accounts/{account_id}", json=body, headers=tenant.admin.headers
        )
    return response.status_code


def _in_days(days: int) -> str:
    import datetime as dt

    return (dt.date.today() + dt.timedelta(days=days)).isoformat()
