"""The tenant settings screen in a real browser, as an admin: the contact hours changed here
move a task's "no call until" on the queue and the account's contact status; the buckets'
counts follow the ranges as they are edited; every section's refusal by the server shows
beside its field; and a second admin's page takes a save live."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Page, expect

from domain.debtors.schemas import DebtorCreate
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.e2e.test_queue import call
from tests.factories import SeededTenant, SeededUser

DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


EARLIER_END = "19:00"


def evening_zone() -> str:
    """A time zone where it is 19:xx now: calls are allowed there under the default 08:00-21:00
    and refused under 08:00-19:00, and both stay so for at least an hour, whatever the minute."""
    offset = next(o for o in range(-12, 15) if (dt.datetime.now(dt.UTC).hour + o) % 24 == 19)
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


async def open_settings(browser: Browser, base: str, user: SeededUser) -> Page:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await sign_in(page, base, user.email, user.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    await page.goto(f"{base}/admin/settings")
    await expect(page.get_by_role("heading", name="Delinquency buckets")).to_be_visible(
        timeout=20_000
    )
    await expect(page.locator("rc-connection")).to_have_attribute(
        "data-state", "live", timeout=20_000
    )
    return page


async def save(page: Page, section: str) -> None:
    await page.locator(f"#save-{section}").click()


async def test_calls_ending_earlier_move_a_tasks_no_call_until(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, admin = live_server, tenant.admin
    zone = evening_zone()
    account = await tenant.account(
        debtor=DebtorCreate(
            first_name="Eve", last_name="Ning", phone="+15555550111", time_zone=zone
        )
    )
    task = await call(
        base, admin, "POST", "/tasks", {"account_id": account.id, "type": "call", "priority": 90}
    )
    await call(base, admin, "PATCH", "/users/me", {"status": "available"})
    await call(base, admin, "POST", f"/tasks/{task['id']}/assign", {"assignee_id": admin.id})

    page = await open_settings(browser, base, admin)
    await page.goto(f"{base}/queue")
    row = page.locator(f"#task-list li[data-id='{task['id']}']")
    await expect(row).to_contain_text("Call now")

    await page.goto(f"{base}/admin/settings")
    ends = page.get_by_label("Contact ends at")
    await expect(ends).to_have_value("21:00")
    await ends.fill(EARLIER_END)
    await save(page, "contact")
    await expect(page.locator("#contact-status")).to_have_text(
        "Saved. Everyone's screens use it now."
    )

    # The queue and the account read the new hours: not now, and when again.
    await page.goto(f"{base}/queue")
    await expect(row).to_contain_text("No call until")
    got = await call(base, admin, "GET", f"/tasks/{task['id']}")
    assert got["contact"]["allowed"] is False
    opens = dt.datetime.fromisoformat(got["contact"]["opens_at"]).astimezone(ZoneInfo(zone))
    assert (opens.hour, opens.minute) == (8, 0)
    await page.goto(f"{base}/accounts/{account.id}")
    chip = page.locator("#contact-status li", has_text="call")
    await expect(chip.locator(".badge")).to_have_attribute("data-tone", "bad")
    await expect(chip).to_contain_text(EARLIER_END)

    # Regulation F again, in one action and a save.
    await page.goto(f"{base}/admin/settings")
    await expect(ends).to_have_value(EARLIER_END)
    await page.get_by_role("button", name="Restore Regulation F defaults").click()
    await expect(ends).to_have_value("21:00")
    await expect(page.get_by_label("Call attempts in any 7 days, at most")).to_have_value("7")
    await save(page, "contact")
    await expect(page.locator("#contact-status")).to_contain_text("Saved")
    assert (await call(base, admin, "GET", f"/tasks/{task['id']}"))["contact"]["allowed"] is True
    assert not page.errors  # type: ignore[attr-defined]


async def test_bucket_counts_follow_the_ranges_as_they_are_edited(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    # The tenant's three accounts are 45 days past due: in 31-60.
    page = await open_settings(browser, live_server, tenant.admin)
    counts = page.locator("#buckets-table tbody output")
    await expect(counts).to_have_text(["0", "0", "3", "0", "0"])
    await expect(page.locator("#bucket-total")).to_have_text("3")

    await page.get_by_label("Bucket 3 to day").fill("40")
    await page.get_by_label("Bucket 4 from day").fill("41")
    await page.get_by_label("Bucket 4 name").fill("41-90")
    await expect(counts).to_have_text(["0", "0", "0", "3", "0"])

    # A bucket added at the end takes over from the last; one removed closes the gap.
    await page.get_by_role("button", name="Add a bucket").click()
    await expect(page.get_by_label("Bucket 5 to day")).to_have_value("120")
    await expect(page.get_by_label("Bucket 6 from day")).to_have_value("121")
    await expect(page.get_by_label("Bucket 6 name")).to_be_focused()
    await page.get_by_label("Bucket 6 name").fill("121+")
    await expect(counts).to_have_count(6)
    await expect(counts).to_have_text(["0", "0", "0", "3", "0", "0"])

    # An overlap is known as it is typed, and the counts wait for ranges that fit.
    await page.get_by_label("Bucket 4 from day").fill("35")
    await expect(page.locator("[data-field='buckets[3].min_days'] .field-error")).to_contain_text(
        "Overlaps 31-60: start at 41"
    )
    await expect(counts.first).to_have_text("—")
    # The server refuses it too, beside the buckets.
    await save(page, "buckets")
    await expect(page.locator("[data-field='buckets'] > .field-error")).to_contain_text(
        "must start the day after"
    )
    await page.get_by_label("Bucket 4 from day").fill("41")
    await expect(counts).to_have_text(["0", "0", "0", "3", "0", "0"])
    await save(page, "buckets")
    await expect(page.locator("#buckets-status")).to_contain_text("Saved")
    got = await call(live_server, tenant.admin, "GET", "/tenant")
    assert [(b["name"], b["min_days"], b["max_days"]) for b in got["settings"]["buckets"]] == [
        ("current", 0, 0),
        ("1-30", 1, 30),
        ("31-60", 31, 40),
        ("41-90", 41, 90),
        ("90+", 91, 120),
        ("121+", 121, None),
    ]
    await page.get_by_role("button", name="Remove 121+").click()
    await expect(page.get_by_label("Bucket 5 to day")).to_have_value("120")
    await expect(page.locator("[data-field='buckets[4].max_days'] .field-error")).to_contain_text(
        "The last bucket has no end"
    )
    assert not page.errors  # type: ignore[attr-defined]


async def test_each_sections_refusal_shows_beside_its_field(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    page = await open_settings(browser, live_server, tenant.admin)
    cases = [
        ("general", "Time zone", "Mars/Olympus", "time_zone", "is not an IANA time zone"),
        (
            "contact",
            "Contact starts at",
            "21:30",
            "contact.window_start",
            "contact hours must start before they end: 21:30 is not before",
        ),
        (
            "promises",
            "Smallest promise, as a share of the balance",
            "101",
            "promises.min_share_percent",
            "This must be at most 100.",
        ),
        (
            "worklist",
            "A collector is offline after",
            "0",
            "worklist.offline_after_minutes",
            "This must be at least 1.",
        ),
        (
            "branding",
            "Logo address",
            "https://elsewhere.example/logo.png",
            "branding.logo_url",
            "This must be a path on this server",
        ),
        (
            "branding",
            "Privacy notice address",
            "http://example.com/privacy",
            "branding.privacy_url",
            "This must be an https:// address",
        ),
    ]
    for section, label, value, path, says in cases:
        control = page.get_by_label(label, exact=True)
        before = await control.input_value()
        await control.fill(value)
        await save(page, section)
        note = page.locator(f"[data-field='{path}'] .field-error")
        await expect(note).to_contain_text(says)
        await expect(control).to_have_attribute("aria-invalid", "true")
        await expect(page.locator(f"#{section}-problem")).to_contain_text("Not saved")
        await expect(page.locator(f"#{section}-status")).to_have_text("Not saved.")
        await control.fill(before)
    # A daily target in a currency nobody uses is refused beside it; a real one is kept.
    await page.get_by_role("button", name="Add a daily target").click()
    await expect(page.get_by_label("Currency")).to_be_focused()
    await page.get_by_label("Currency").fill("XYZ")
    await page.get_by_label("Target a day").fill("100")
    await save(page, "wallboard")
    await expect(
        page.locator("[data-field='stats.daily_targets.XYZ'] .field-error")
    ).to_contain_text("is not an ISO 4217 currency in use")
    await page.get_by_label("Currency").fill("USD")
    await page.get_by_label("Target a day").fill("0")
    await expect(
        page.locator("[data-field='stats.daily_targets.USD.amount'] .field-error")
    ).to_contain_text("An amount above zero")
    await page.get_by_label("Target a day").fill("5000.00")
    await save(page, "wallboard")
    await expect(page.locator("#wallboard-status")).to_contain_text("Saved")
    got = await call(live_server, tenant.admin, "GET", "/tenant")
    assert got["settings"]["stats"]["daily_targets"] == {"USD": "5000.00"}
    assert got["settings"]["contact"]["window_start"] == "08:00"
    assert got["settings"]["branding"]["logo_url"] == ""
    assert not page.errors  # type: ignore[attr-defined]


async def test_a_second_admins_page_takes_a_save_live(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base = live_server
    other = await call(
        base,
        tenant.admin,
        "POST",
        "/users",
        {
            "email": f"second-{tenant.slug}@example.com",
            "name": "Second Admin",
            "role": "admin",
            "password": tenant.admin.password,
        },
    )
    second = SeededUser(
        id=other["id"],
        email=other["email"],
        role="admin",
        token="",
        tenant_id=tenant.id,
        password=tenant.admin.password,
    )
    first = await open_settings(browser, base, tenant.admin)
    watcher = await open_settings(browser, base, second)

    await first.get_by_label("Agency name").fill("Northwind Recovery")
    await first.get_by_label("Phone", exact=True).fill("+1 555 010 0200")
    await save(first, "branding")
    await expect(first.locator("#branding-status")).to_contain_text("Saved")
    await expect(watcher.get_by_label("Agency name")).to_have_value("Northwind Recovery")
    await expect(watcher.locator("#branding-status")).to_have_text("Updated by another admin.")

    await first.get_by_label("Hold overpayments as credit").check()
    await save(first, "payments")
    await expect(watcher.get_by_label("Hold overpayments as credit")).to_be_checked()
    got = await call(base, tenant.admin, "GET", "/tenant")
    assert got["settings"]["payments"] == {"hold_overpayment_as_credit": True}
    assert got["settings"]["branding"]["name"] == "Northwind Recovery"

    # An edit of one's own is kept, with word of the other save.
    await watcher.get_by_label("Grace days").fill("5")
    await first.get_by_label("Grace days").fill("10")
    await save(first, "promises")
    await expect(watcher.locator("#promises-notice")).to_contain_text(
        "Another admin has just changed"
    )
    await expect(watcher.get_by_label("Grace days")).to_have_value("5")

    # The screen as the README shows it, and on a phone.
    await first.goto(f"{base}/admin/settings")
    await expect(first.locator("#buckets-table tbody output").first).to_have_text("0")
    await first.locator("#settings-buckets").evaluate("e => e.scrollIntoView({block: 'start'})")
    await first.screenshot(path=str(SCREENSHOTS / "admin-settings.png"))
    await first.set_viewport_size(PHONE)
    await first.locator("#settings-buckets").evaluate("e => e.scrollIntoView({block: 'start'})")
    await first.screenshot(path=str(SCREENSHOTS / "admin-settings-phone.png"))
    wide = await first.evaluate(
        "[...document.querySelectorAll('#screen *')].filter(e => e.getBoundingClientRect().right"
        " > innerWidth + 1 && !e.closest('.table-scroll')).map(e => e.tagName + '.' + e.className)"
    )
    assert not wide, wide
    assert not first.errors  # type: ignore[attr-defined]
    assert not watcher.errors  # type: ignore[attr-defined]
