"""The debtor's payment page as a debtor reads it: one outcome at a time (a decline gives
way to what comes after), a real receipt, dates in words in their language and time zone,
the promise dates the tenant allows, the agency that collects, and a dispute that reaches
the collector's screen live."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_live_account import open_account
from tests.e2e.test_pay_page import PHONE, link_for
from tests.factories import SeededTenant

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
BRANDING = {
    "name": "Northwind Recovery LLC",
    "phone": "+1 (555) 010-2030",
    "hours": "Monday to Friday, 8 am to 8 pm Eastern",
    "privacy_url": "https://northwind.example/privacy",
}
NOTICE = (
    "This is a communication from a debt collector. This is an attempt to collect a debt, "
    "and any information obtained will be used for that purpose."
)


async def settings(client: httpx.AsyncClient, tenant: SeededTenant, **body: Any) -> dict:
    response = await client.patch("/api/v1/tenant", json=body, headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def debtor_zone(tenant: SeededTenant, account_id: int) -> str:
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval(
            "SELECT d.time_zone FROM accounts a JOIN debtors d ON d.id = a.debtor_id "
            "WHERE a.id = $1",
            account_id,
        )


async def open_page(browser: Browser, base: str, link: dict, size: dict, locale: str) -> Page:
    context = await browser.new_context(**size, locale=locale)
    page = await context.new_page()
    await page.goto(base + "/pay/" + link["url"].split("/pay/", 1)[1])
    await expect(page.locator("#balance")).not_to_be_empty()
    return page


async def test_a_decline_gives_way_to_a_promise_and_a_payment_brings_a_receipt(
    browser: Browser, client, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    tenant_zone = (await settings(client, tenant, promises={"max_days_ahead": 10}))["time_zone"]
    today = dt.datetime.now(ZoneInfo(tenant_zone)).date()
    account = tenant.accounts[1]
    page = await open_page(
        browser, live_server, await link_for(client, tenant, account.id), PHONE, "en-US"
    )
    await page.get_by_text("Pay another amount").click()
    await page.get_by_label("Amount (USD)").fill("100")
    await page.get_by_role("button", name="Pay this amount").click()
    await page.get_by_role("button", name="Decline the card").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "The payment did not go through: Your card was declined. You have not been charged.",
        timeout=15_000,
    )

    # The date picker offers the days the tenant's promise rules allow, and no others.
    await page.get_by_text("Propose a date").click()
    picker = page.get_by_label("I can pay in full on")
    last = today + dt.timedelta(days=10)
    await expect(picker).to_have_attribute("min", today.isoformat())
    await expect(picker).to_have_attribute("max", last.isoformat())
    await picker.fill(last.isoformat())
    await page.get_by_role("button", name="Propose this date").click()
    in_words = f"{last:%B} {last.day}, {last.year}"
    await expect(page.get_by_role("status").first).to_have_text(
        f"Thank you. We noted your promise to pay $1,075.00 by {in_words}."
    )
    await expect(page.get_by_role("alert")).to_have_count(0)
    await expect(page.locator("#promises")).to_contain_text(f"By {in_words}")

    await page.get_by_text("Pay another amount").click()
    await page.get_by_label("Amount (USD)").fill("100")
    await page.get_by_role("button", name="Pay this amount").click()
    await page.get_by_role("button", name="Pay 100.00 USD").click()
    receipt = page.get_by_role("status").filter(has_text="Payment confirmed")
    await expect(receipt).to_be_visible(timeout=15_000)
    await expect(page.get_by_role("alert")).to_have_count(0)
    async with tenant.db.tenant(tenant.id) as conn:
        paid = await conn.fetchrow(
            """SELECT p.id, p.received_at, d.time_zone FROM payments p
            JOIN accounts a ON a.id = p.account_id JOIN debtors d ON d.id = a.debtor_id
            WHERE p.account_id = $1 AND p.status = 'succeeded'""",
            account.id,
        )
    local = paid["received_at"].astimezone(ZoneInfo(paid["time_zone"]))
    await expect(receipt).to_contain_text(f"Receipt numberR-{paid['id']}")
    await expect(receipt).to_contain_text("Amount paid$100.00")
    await expect(receipt).to_contain_text(f"Date{local:%B} {local.day}, {local.year}")
    await expect(receipt).to_contain_text("MethodCard")
    await expect(receipt).to_contain_text("Still to pay$975.00")
    await expect(receipt).not_to_contain_text("Reference")
    await expect(page.locator("#payments li").first).to_contain_text(
        f"{local:%B} {local.day}, {local.year}"
    )
    await screenshot(page, "pay-after-decline-phone")
    await page.context.close()


async def test_the_page_names_the_agency_in_the_debtors_language(
    browser: Browser, client, live_server: str, relay, tenant: SeededTenant
) -> None:
    await settings(client, tenant, branding=BRANDING)
    link = await link_for(client, tenant, tenant.accounts[0].id, expires_in_hours=48)
    zone = await debtor_zone(tenant, tenant.accounts[0].id)
    expires = dt.datetime.fromisoformat(link["expires_at"]).astimezone(ZoneInfo(zone))
    for size, name in ((DESKTOP, "pay-desktop"), (PHONE, "pay-phone")):
        page = await open_page(browser, live_server, link, size, "en-GB")
        await expect(page.locator(".eyebrow")).to_have_text(
            f"Northwind Recovery LLC, for Test Bank · reference {tenant.accounts[0].external_ref}"
        )
        footer = page.locator("footer")
        await expect(footer.get_by_role("heading")).to_have_text("About Northwind Recovery LLC")
        await expect(page.locator("#debt-collector-notice")).to_have_text(NOTICE)
        await expect(footer.get_by_role("link", name="+1 (555) 010-2030")).to_have_attribute(
            "href", "tel:+15550102030"
        )
        await expect(footer).to_contain_text("(Monday to Friday, 8 am to 8 pm Eastern)")
        await expect(footer).to_contain_text("To dispute this debt, use “Dispute this debt” above")
        await expect(
            footer.get_by_role("link", name="How we use your information")
        ).to_have_attribute("href", "https://northwind.example/privacy")
        # In words, the British way, in the debtor's zone: "2 December 2026 at 21:05 GMT-7".
        await expect(page.locator("#link-expiry")).to_contain_text(
            f"This link works until {expires.day} {expires:%B} {expires.year}"
        )
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["viewport"]["width"]
        await screenshot(page, name)
        await page.screenshot(path=f"/tmp/debtor-shots/{name}-full.png", full_page=True)
        await page.context.close()


async def test_a_debtor_disputes_and_the_collectors_screen_shows_it_live(
    browser: Browser, client, live_server: str, relay, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    collector = await open_account(
        browser, live_server, tenant.collector.email, tenant.collector.password, account.id
    )
    await expect(collector.locator("#facts")).to_contain_text("Active")
    page = await open_page(
        browser, live_server, await link_for(client, tenant, account.id), PHONE, "en-US"
    )
    await page.get_by_text("Dispute this debt", exact=True).click()
    await page.get_by_label("Reason").select_option("already_paid")
    await page.get_by_label("Anything we should know (optional)").fill("I paid Test Bank in March.")
    await screenshot(page, "pay-dispute-phone")
    await page.get_by_role("button", name="Send my dispute").click()
    today = dt.datetime.now(ZoneInfo(await debtor_zone(tenant, account.id))).date()
    await expect(page.get_by_role("status").filter(has_text="You disputed")).to_have_text(
        f"You disputed this debt on {today:%B} {today.day}, {today.year}. We have paused "
        "collection while we look into it, and we will write to you with what we find. You "
        "do not need to do anything else now; you can still pay if you choose to."
    )
    await expect(page.locator("#disputed")).to_be_focused()
    await expect(page.get_by_text("Dispute this debt", exact=True)).to_have_count(0)
    await expect(page.locator("footer")).not_to_contain_text("To dispute this debt")
    await screenshot(page, "pay-disputed-phone")
    await expect(collector.locator("#facts")).to_contain_text("Disputed", timeout=10_000)
    await expect(collector.locator("#contact-status")).to_contain_text("dispute", timeout=10_000)
    # A reload shows the same: the dispute is the account's, not the page's.
    await page.reload()
    await expect(page.locator("#disputed")).to_contain_text("You disputed this debt on")
    await page.context.close()
    await collector.context.close()


async def test_an_expired_link_says_whom_to_call_and_a_forged_one_where_to_turn(
    browser: Browser, client, live_server: str, tenant: SeededTenant
) -> None:
    await settings(client, tenant, branding=BRANDING)
    link = await link_for(client, tenant, tenant.accounts[0].id)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE payment_links SET expires_at = now() - interval '1 minute' WHERE id = $1",
            link["id"],
        )
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(live_server + "/pay/" + link["url"].split("/pay/", 1)[1])
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "This payment link no longer works"
    )
    await expect(page.locator("main")).to_contain_text(
        "This payment link has expired. For a new one, call Northwind Recovery LLC on +1 (555) 010-2030 "
        "(Monday to Friday, 8 am to 8 pm Eastern)."
    )
    await screenshot(page, "pay-expired-phone")
    await page.goto(f"{live_server}/pay/not-a-real-link")
    await expect(page.locator("main")).to_contain_text(
        "call the company that sent you that message, on the number in its letters"
    )
    await expect(page.locator("main")).not_to_contain_text("Northwind")
    await context.close()
