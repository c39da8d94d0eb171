"""Every time the contact rules judge is said on the debtor's clock with the zone named: when
calls open again (the queue's row, the task's card, the account's contact chips), a call
task's due time, and the contact hours beside the debtor's local time."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_queue import call, open_queue
from tests.factories import SeededTenant
from tests.integration.test_callbacks import ZONE, _in_chicago
from tests.integration.test_compliance import insert_calls

NAMED = f"debtor time ({ZONE})"


async def test_times_the_contact_rules_judge_name_the_debtors_zone(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, boss, me = live_server, tenant.supervisor, tenant.collector
    account = tenant.accounts[0]
    await _in_chicago(tenant, account.id)
    # The debtor was spoken to a minute ago: no call for a week, until the contact hours open
    # on the eighth day, on the debtor's clock.
    await insert_calls(
        tenant, account, [dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)], "right_party_contact"
    )
    chicago = ZoneInfo(ZONE)
    today = dt.datetime.now(chicago).date()
    opens = dt.datetime.combine(today + dt.timedelta(days=7), dt.time(8), chicago)
    due = dt.datetime.combine(today + dt.timedelta(days=8), dt.time(10, 30), chicago)
    body = {
        "account_id": account.id,
        "type": "call",
        "title": "Call back",
        "due_at": due.isoformat(),
        "strategy": {"kind": "agent", "agent_id": me.id},
    }
    page = await open_queue(browser, base, me)
    made = await call(base, boss, "POST", "/tasks", body)
    await call(base, boss, "POST", f"/tasks/{made['id']}/assign", {"assignee_id": me.id})
    row = page.locator("#task-list li", has_text=account.debtor_name)
    # A week away: the weekday alone would read as this week's, so the date comes with it.
    short = f"No call until {opens:%a}, {opens:%b} {opens.day}, 08:00 AM {NAMED}"
    await expect(row).to_contain_text(short)
    await row.click()
    await expect(page.locator("#task-contact")).to_contain_text(short)
    await expect(page.locator("#task-due")).to_contain_text(
        f"due {due:%b} {due.day}, {due.year}, 10:30 AM {NAMED}"
    )
    chips = page.locator("#contact-status li", has_text="call")
    await expect(chips.first).to_contain_text(
        f"opens {opens:%b} {opens.day}, {opens.year}, 8:00 AM {NAMED}"
    )
    now = dt.datetime.now(chicago).time()
    hours = "close at 21:00" if dt.time(8) <= now < dt.time(21) else "open at 08:00"
    await expect(page.locator("#debtor-local")).to_have_text(
        re.compile(rf"^Debtor local \d\d:\d\d \({ZONE}\) — calls and texts {hours}$")
    )
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "queue-debtor-times")
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.locator("#task-card").scroll_into_view_if_needed()
    await screenshot(page, "queue-debtor-times-phone")
    assert not page.errors, page.errors  # type: ignore[attr-defined]
