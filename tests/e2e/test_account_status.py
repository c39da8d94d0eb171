"""A supervisor on the account page: refunds a payment (asked first, the amount in the
account's currency and a reason) and sees the balance grow back; marks the account bankrupt
(asked first, told it stops all contact) and sees the banner, the status and the timeline
change as the event arrives."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from domain.accounts.schemas import Account
from tests.e2e.test_workflow_screens import both_sizes, no_errors, open_app
from tests.factories import SeededTenant, SeededUser
from tests.helpers import keyed


async def cash_payment(
    client: httpx.AsyncClient, tenant: SeededTenant, account: Account
) -> dict[str, Any]:
    """25.00 in cash on ``account``, taken by the tenant's collector."""
    paid = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "25.00", "currency": account.currency, "method": "cash"},
        headers=keyed(tenant.collector.headers),
    )
    assert paid.status_code == 201, paid.text
    return paid.json()


async def account_page(
    browser: Browser, live_server: str, user: SeededUser, account_id: int
) -> Page:
    """The account's page, signed in as ``user``, its socket live."""
    page = await open_app(browser, live_server, user)
    await page.goto(f"{live_server}/accounts/{account_id}")
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
    return page


async def test_a_supervisor_refunds_a_payment_and_marks_the_account_bankrupt(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    async with httpx.AsyncClient(base_url=live_server) as client:
        paid = await cash_payment(client, tenant, account)
        before = await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    balance = Decimal(before.json()["balance"])
    assert balance == account.balance - Decimal("25.00")

    page = await account_page(browser, live_server, tenant.supervisor, account.id)
    await expect(page.locator("#balance")).to_have_text(f"${balance:,.2f}")

    item = page.locator(f"#payments li[data-payment='{paid['id']}']")
    await item.get_by_role("button", name="Refund…").click()
    await expect(item.locator(".pay-confirm")).to_contain_text(
        "Refund $25.00? The money goes back to the debtor and the balance grows by it."
    )
    await item.get_by_label("Reason").fill("Paid twice")
    await item.get_by_role("button", name="Refund $25.00").click()
    await expect(page.locator("#balance")).to_have_text(f"${account.balance:,.2f}")
    await expect(item.get_by_role("button", name="Refund…")).to_have_count(0)
    await expect(page.locator("#payments li").first).to_contain_text("refunded")

    # A plan: three instalments a month apart reach past the 60 days a promise may run to,
    # said in words; two weeks apart they are made and listed.
    first = dt.date.today() + dt.timedelta(days=7)
    await page.get_by_label("Each (USD)").fill("150.00")
    await page.get_by_label("Instalments").fill("3")
    await page.get_by_label("How often").select_option("monthly")
    await page.get_by_label("First on").fill(first.isoformat())
    await page.get_by_role("button", name="Plan…").click()
    await expect(page.locator("#plan-confirm li")).to_have_count(3)
    await page.locator("#plan-confirm-yes").click()
    await expect(page.locator(".problem")).to_contain_text("a promise may be due at most 60 days")
    await page.get_by_label("How often").select_option("fortnightly")
    await page.get_by_role("button", name="Plan…").click()
    await expect(page.locator("#plan-confirm")).to_contain_text("3 instalments of $150.00?")
    last = first + dt.timedelta(days=28)
    await expect(page.locator("#plan-confirm li").last).to_have_text(
        f"{last:%b} {last.day}, {last.year} · $150.00"
    )
    await page.locator("#plan-confirm-yes").click()
    await expect(page.locator("#promises li")).to_have_count(3)
    for n in (1, 2, 3):
        await expect(page.locator("#promises")).to_contain_text("$150.00 by")
        await expect(page.locator("#promises")).to_contain_text(f"({n}/3)")
    await expect(page.locator("#plan-confirm")).to_be_hidden()

    # Marking it bankrupt: asked first, in words of what it does.
    await expect(page.locator("#status-banner")).to_be_hidden()
    await page.get_by_label("Change", exact=True).select_option("bankrupt")
    await page.get_by_label("Reason", exact=True).fill("Chapter 7 filing")
    await page.get_by_role("button", name="Change status…").click()
    await expect(page.locator("#status-confirm")).to_have_text(
        "Mark bankrupt? This stops all contact, letters too.Mark bankruptBack"
    )
    await both_sizes(page, "account-status", "#status-changes")
    await page.locator("#status-confirm-yes").click()
    await expect(page.locator("#status-banner")).to_have_text(
        "Bankrupt: the debtor is in bankruptcy: no contact at all, letters included."
    )
    await expect(page.locator("#facts")).to_contain_text("Bankrupt")
    await expect(page.locator("#timeline li").first).to_have_text(
        re.compile("^statusStatus promised → bankruptSupervisor of ")
    )
    await expect(page.locator("#contact-summary")).to_have_text("No contact now on any channel.")
    # From bankrupt only a cease or a death may follow.
    options = page.locator("#status-change option")
    await expect(options).to_have_text(["Record a cease request", "Mark deceased"])
    await both_sizes(page, "account-bankrupt")
    no_errors(page, "422 /api/v1/accounts")


async def test_a_refund_being_asked_about_stays_open_while_events_arrive(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    """Any money event reloads the payments; the question a manager is answering, and the
    reason half typed, stay where they are until the payment itself changes."""
    account = tenant.accounts[0]
    async with httpx.AsyncClient(base_url=live_server) as client:
        paid = await cash_payment(client, tenant, account)
        page = await account_page(browser, live_server, tenant.supervisor, account.id)
        item = page.locator(f"#payments li[data-payment='{paid['id']}']")
        await item.get_by_role("button", name="Refund…").click()
        reason = item.get_by_label("Reason")
        await reason.fill("Paid tw")
        # A collector takes a promise meanwhile: its event reloads payments and promises.
        due = dt.date.today() + dt.timedelta(days=10)
        promised = await client.post(
            f"/api/v1/accounts/{account.id}/promises",
            json={"amount": "150.00", "due_date": due.isoformat()},
            headers=tenant.collector.headers,
        )
        assert promised.status_code == 201, promised.text
    await expect(page.locator("#promises")).to_contain_text("$150.00 by")
    await expect(item.locator(".pay-confirm")).to_be_visible()
    await expect(reason).to_have_value("Paid tw")
    await expect(reason).to_be_focused()
    await page.keyboard.type("ice")
    await item.get_by_role("button", name="Refund $25.00").click()
    await expect(page.locator("#payments li").first).to_contain_text("refunded")
    await expect(item.get_by_role("button", name="Refund…")).to_have_count(0)
    async with httpx.AsyncClient(base_url=live_server) as client:
        refunded = await client.get(f"/api/v1/payments/{paid['id']}", headers=tenant.admin.headers)
    assert refunded.json()["status"] == "refunded"
    no_errors(page)


async def test_a_collector_opens_a_dispute_and_cannot_refund(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    async with httpx.AsyncClient(base_url=live_server) as client:
        await cash_payment(client, tenant, account)
    page = await account_page(browser, live_server, tenant.collector, account.id)
    await expect(page.locator("#payments li")).to_have_count(1)
    await expect(page.locator("#payments button")).to_have_count(0)
    options = page.locator("#status-change option")
    await expect(options).to_have_text(["Open a dispute", "Record a cease request"])

    await page.get_by_label("Reason", exact=True).select_option("already_paid")
    await page.get_by_role("button", name="Change status…").click()
    await expect(page.locator("#status-confirm p")).to_have_text(
        "Open a dispute? This pauses all contact, letters too, until a supervisor resolves "
        "the dispute."
    )
    await page.locator("#status-confirm-yes").click()
    await expect(page.locator("#contact-banner")).to_contain_text("Disputed:")
    await expect(page.locator("#facts")).to_contain_text("Disputed")
    await expect(options).to_have_text(["Record a cease request"])
    no_errors(page)
