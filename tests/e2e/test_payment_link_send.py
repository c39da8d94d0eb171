"""The account screen sends the debtor a payment link by text or e-mail and shows how it
went, or makes one to copy; the debtor's page shows the receipt number once they paid."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.factories import SeededTenant

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}


async def _account_page(
    browser: Browser, base: str, tenant: SeededTenant, account_id: int, size: dict
) -> Page:
    context = await browser.new_context(**size)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = await context.new_page()
    await sign_in(page, base, tenant.collector.email, tenant.collector.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.goto(f"{base}/accounts/{account_id}")
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
    return page


def _card(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".card").filter(has=page.locator("#payment-link"))


async def _inside_its_card(page: Page) -> None:
    box = await page.locator("#payment-link-url").bounding_box()
    card = await _card(page).bounding_box()
    assert box is not None
    assert card is not None
    assert card["x"] <= box["x"]
    assert box["x"] + box["width"] <= card["x"] + card["width"]


async def test_a_collector_texts_the_link_and_sees_it_sent(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE debtors SET opt_out_email = true WHERE id = $1", account.debtor_id
        )
    page = await _account_page(browser, live_server, tenant, account.id, DESKTOP)
    text = page.get_by_role("button", name="Text the link to +15555550100")
    await expect(text).to_be_visible()
    # The opted-out channel is not offered, and the card says why.
    await expect(page.get_by_role("button", name="E-mail the link")).to_have_count(0)
    await expect(page.locator(".link-blocked")).to_contain_text(
        "E-mail: the debtor opted out of email contact"
    )
    await text.click()
    outcome = page.locator("#payment-link .link-outcome")
    await expect(outcome).to_contain_text("Text sent to +15555550100", timeout=15_000)
    await expect(outcome.locator(".badge")).to_have_text("sent")
    # The link is there to copy too, inside its card.
    await expect(page.locator("#payment-link-url")).to_have_value(re.compile(r"/pay/"))
    await _inside_its_card(page)
    await page.get_by_role("button", name="Copy", exact=True).click()
    await expect(page.locator("#payment-link .link-box")).to_contain_text("Copied")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == await page.locator("#payment-link-url").input_value()
    # The text is on the account's timeline, as every message is.
    await expect(page.locator("#timeline li").first).to_contain_text("sms", ignore_case=True)
    await _card(page).screenshot(path=str(SCREENSHOTS / "account-payment-link.png"))
    await page.context.close()


async def test_a_text_at_night_waits_and_the_link_to_copy_fits_a_phone(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    from tests.integration.test_payment_link_send import night_zone

    account = tenant.accounts[0]
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE debtors SET time_zone = $2 WHERE id = $1", account.debtor_id, night_zone()
        )
    page = await _account_page(browser, live_server, tenant, account.id, PHONE)
    await page.get_by_role("button", name="Text the link to +15555550100").click()
    outcome = page.locator("#payment-link .link-outcome")
    await expect(outcome.locator(".badge")).to_have_text("waiting")
    await expect(outcome).to_contain_text("Outside the debtor's hours")
    await _inside_its_card(page)
    await _card(page).screenshot(path=str(SCREENSHOTS / "account-payment-link-phone.png"))
    await page.get_by_role("button", name="Make a link to copy").click()
    await expect(page.locator("#payment-link-url")).to_be_focused()
    await expect(outcome).to_have_count(0)
    await _inside_its_card(page)
    await page.context.close()


async def test_a_refusal_shows_the_reason_next_to_the_choice(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE debtors SET opt_out_sms = true WHERE id = $1", account.debtor_id)
    # A screen that has not heard of the opt-out yet (its contact status from before it):
    # the choice is offered, and the server refuses it with the reason.
    before = {"channel": "sms", "allowed": True, "reasons": [], "opens_at": None}

    async def stale(route):  # type: ignore[no-untyped-def]
        response = await route.fetch()
        status = await response.json()
        status["channels"] = [before if c["channel"] == "sms" else c for c in status["channels"]]
        await route.fulfill(response=response, json=status)

    context = await browser.new_context(**DESKTOP)
    await context.route("**/contact-status", stale)
    page = await context.new_page()
    await sign_in(page, live_server, tenant.collector.email, tenant.collector.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.goto(f"{live_server}/accounts/{account.id}")
    await page.get_by_role("button", name="Text the link to +15555550100").click()
    await expect(_card(page).get_by_role("alert")).to_contain_text(
        "sms not allowed: the debtor opted out of sms contact"
    )


async def _pay(
    browser: Browser,
    base: str,
    client: httpx.AsyncClient,
    tenant: SeededTenant,
    size: dict,
    name: str,
) -> None:
    account = await tenant.account()
    link = await client.post(
        f"/api/v1/accounts/{account.id}/payment-links", json={}, headers=tenant.admin.headers
    )
    context = await browser.new_context(**size)
    page = await context.new_page()
    await page.goto(base + "/pay/" + link.json()["url"].split("/pay/", 1)[1])
    await page.get_by_text("Pay another amount").click()
    await page.get_by_label("Amount (USD)").fill("125.50")
    await page.get_by_role("button", name="Pay this amount").click()
    await page.get_by_role("button", name="Pay 125.50 USD").click()
    confirmed = page.get_by_role("status").filter(has_text="Payment confirmed")
    await expect(confirmed).to_be_visible(timeout=15_000)
    async with tenant.db.tenant(tenant.id) as conn:
        payment_id = await conn.fetchval(
            "SELECT id FROM payments WHERE account_id = $1 AND status = 'succeeded'", account.id
        )
    await expect(page.locator("#receipt")).to_have_text(f"R-{payment_id}")
    await expect(page.locator("#payments li")).to_have_count(1)
    await expect(page.locator("#payments li").first).to_contain_text(f"Receipt R-{payment_id}")
    await expect(page.locator("#payments li").first).to_contain_text("$125.50")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= size["viewport"]["width"]
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    await context.close()


async def test_the_pay_page_shows_the_receipt_number_on_a_phone_and_a_desktop(
    browser: Browser, client, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    await _pay(browser, live_server, client, tenant, PHONE, "pay-receipt-phone")
    await _pay(browser, live_server, client, tenant, DESKTOP, "pay-receipt")
