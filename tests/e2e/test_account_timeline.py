"""The account's timeline in the browser: every kind of entry, newest first, "Show more" for
older ones, what happens arriving live; and "call back later" refused at the window's
closing minute (named in the debtor's zone), booked a minute before."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Browser, expect

from domain.db import Database
from domain.payments.links import open_link
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_workflow_screens import WIDER_THAN_SCREEN, no_errors, open_app
from tests.factories import SeededTenant
from tests.integration.test_account_timeline import _everything
from tests.integration.test_callbacks import ZONE, _in_chicago, tomorrow_at

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
NOTES = 12  # 10 entries of every kind + 12 notes: one page of 20 and two more


async def test_the_timeline_shows_everything_pages_back_and_takes_a_callback(
    browser: Browser, live_server: str, relay, db: Database, settings, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    async with httpx.AsyncClient(base_url=live_server) as client:
        for n in range(NOTES):
            logged = await client.post(
                f"/api/v1/accounts/{account.id}/interactions",
                json={"channel": "note", "notes": f"Note {n + 1}"},
                headers=tenant.collector.headers,
            )
            assert logged.status_code == 201, logged.text
        # Its call is logged where it is early afternoon now (the tenant's zone), whatever
        # the clock; only then is the debtor moved to Chicago, for the callback's window.
        await _everything(client, db, settings.secret_key, tenant)
    await _in_chicago(tenant, account.id)

    page = await open_app(browser, live_server, tenant.collector)
    await page.goto(f"{live_server}/accounts/{account.id}")
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
    entries = page.locator("#timeline li")
    await expect(entries).to_have_count(20)
    await expect(entries.first).to_contain_text("Payment $25.50 by cash — succeeded")
    await expect(entries.first).to_contain_text(f"Collector of {tenant.slug}")
    await expect(entries.nth(8)).to_contain_text("Status disputed → active")
    await expect(entries.nth(9)).to_contain_text("Status active → disputed")
    await expect(entries.nth(9)).to_contain_text(f"Supervisor of {tenant.slug}")
    await page.get_by_role("button", name="Show more").click()
    await expect(entries).to_have_count(10 + NOTES)
    await expect(page.get_by_role("button", name="Show more")).to_be_hidden()
    await expect(entries.last).to_contain_text("Note 1")
    timeline = page.locator("#timeline")
    for line in (
        "Payment $25.50 by cash — succeeded",
        "Promise $200.00 by",
        "Call outbound — promise",
        "Payment link opened",
        "SMS to +15555550100",
        "Payment link made (opened)",
        "Call task cancelled — cancelled",
        "Call task created: Ring Pat",
    ):
        await expect(timeline).to_contain_text(line)

    # A note logged now arrives on top, from the account's channel.
    await page.get_by_label("Channel").select_option("note")
    await page.get_by_label("Notes", exact=True).fill("Debtor rang back: pays Friday")
    await page.get_by_role("button", name="Log", exact=True).click()
    await expect(entries.first).to_contain_text("Note")
    await expect(entries.first).to_contain_text("Debtor rang back: pays Friday")
    await expect(entries).to_have_count(11 + NOTES)

    # Call back later: the window's closing minute is refused in the debtor's words.
    await expect(page.locator("#callback-zone")).to_have_text(ZONE)
    at = page.get_by_label("Call back at")
    await at.fill(tomorrow_at(21, 0))
    await page.get_by_role("button", name="Book callback").click()
    problem = page.locator("#callback-problem .problem")
    await expect(problem).to_contain_text(
        "calls only between 08:00 and 21:00 in the debtor's time zone (America/Chicago)"
    )
    await at.fill(tomorrow_at(20, 59))
    await page.get_by_label("Reminder for the call").fill("after payday")
    await page.get_by_role("button", name="Book callback").click()
    booked = dt.date.fromisoformat(tomorrow_at(20, 59)[:10])
    await expect(page.locator("#callback-booked")).to_contain_text(
        f"Callback booked for {booked:%b} {booked.day}, {booked.year}, 8:59 PM debtor time ({ZONE})"
    )
    await expect(problem).to_have_count(0)
    await expect(entries.first).to_contain_text("Call task created: Callback")
    held = dt.datetime.fromisoformat(tomorrow_at(20, 59)).replace(tzinfo=ZoneInfo(ZONE))
    await expect(entries.first).to_contain_text(f"Collector of {tenant.slug}")
    await expect(entries.first).to_contain_text(f"debtor time ({ZONE})")
    assert held > dt.datetime.now(dt.UTC)

    # The debtor opens a new link while the collector watches: it shows at once.
    async with httpx.AsyncClient(base_url=live_server) as client:
        made = await client.post(
            f"/api/v1/accounts/{account.id}/payment-links",
            json={"expires_in_hours": 24},
            headers=tenant.collector.headers,
        )
        assert made.status_code == 201, made.text
    await expect(entries.first).to_contain_text("Payment link made")
    await open_link(db, settings.secret_key, made.json()["url"].rsplit("/", 1)[1])
    await expect(entries.first).to_contain_text("Payment link opened")
    await expect(entries.first).to_contain_text("debtor")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        await page.set_viewport_size(size)
        # Past the highlight of the entry that just arrived.
        await page.wait_for_timeout(1500)
        await page.evaluate("document.activeElement.blur()")
        await page.locator("#timeline-card").evaluate("e => e.scrollIntoView({block: 'start'})")
        await page.screenshot(path=str(SCREENSHOTS / f"account-timeline{suffix}.png"))
        wide = await page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (size, wide)
    no_errors(page, "422 /api/v1/accounts")
