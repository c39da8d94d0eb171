"""The admin console's task rules and task queues in a real browser.

An admin builds a rule with the condition builder and watches the live preview count move
as the conditions change; a refusal lands beside the control it names; saved and run by
hand, its tasks arrive on a collector's queue open in another browser without a reload.
A queue is added, a rename the server refuses is shown beside the name, and work arriving
moves its depth live. A supervisor uses both screens; a collector gets neither.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from playwright.async_api import Browser, Page, Route, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.e2e.test_queue import call, open_queue
from tests.e2e.test_workflow_screens import WIDER_THAN_SCREEN
from tests.factories import SeededTenant, SeededUser

DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


async def open_as(browser: Browser, base: str, user: SeededUser, path: str) -> Page:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await sign_in(page, base, user.email, user.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.goto(f"{base}{path}")
    return page


async def shots(page: Page, name: str, phone_at: str | None = None) -> None:
    """The screen at desktop size from the top, and at phone size from ``phone_at`` when
    given; on neither is anything wider than the screen."""
    sizes = [(DESKTOP, "", None)] + ([(PHONE, "-phone", phone_at)] if phone_at else [])
    for size, suffix, at in sizes:
        await page.set_viewport_size(size)
        await page.wait_for_timeout(200)
        if at:
            await page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        else:
            await page.evaluate("scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"))
        assert not await page.evaluate(WIDER_THAN_SCREEN), (name, size)
    await page.set_viewport_size(DESKTOP)


async def condition(page: Page, n: int, field: str, op: str) -> None:
    await page.get_by_label(f"Condition {n}: field").select_option(field)
    await page.get_by_label(f"Condition {n}: operator").select_option(op)


async def test_an_admin_builds_a_rule_whose_tasks_reach_a_collector_live(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    base, admin, collector = live_server, tenant.admin, tenant.collector
    today = dt.date.today()
    # Three accounts 45 days past due (31-60), one 75 (61-90), one 10 (1-30).
    await tenant.account(due_date=today - dt.timedelta(days=75))
    await tenant.account(due_date=today - dt.timedelta(days=10))
    await call(base, tenant.supervisor, "PATCH", f"/agents/{collector.id}", {"capacity": 10})
    desk = await open_queue(browser, base, collector)
    await expect(desk.locator("#task-list")).to_contain_text("No tasks")

    page = await open_as(browser, base, admin, "/admin/rules")
    await expect(page.locator("#rules-list")).to_contain_text("No rules yet")
    await page.get_by_role("link", name="New rule").click()
    await expect(page.get_by_role("heading", name="New task rule")).to_be_visible()
    count = page.locator("#preview-count")
    await expect(count).to_have_attribute("data-count", "5")

    # Days past due at least 40: the four older accounts.
    await page.get_by_role("button", name="Add condition").click()
    await condition(page, 1, "days_past_due", "at_least")
    days = page.get_by_label("Condition 1: value")
    await days.fill("-3")
    await expect(page.locator("[data-field='conditions[0].value'] .value-check")).to_have_text(
        "Needs a whole number of days."
    )
    await expect(days).to_have_attribute("aria-invalid", "true")
    await days.fill("40")
    await expect(page.locator("[data-field='conditions[0].value'] .value-check")).to_have_text("")
    await expect(count).to_have_attribute("data-count", "4")
    # A change of the value moves the count.
    await days.fill("5")
    await expect(count).to_have_attribute("data-count", "5")
    # And in bucket 31-60: three.
    await page.get_by_role("button", name="Add condition").click()
    await condition(page, 2, "bucket", "in")
    await page.locator("[data-field='conditions[1].value']").get_by_label("31-60").check()
    await expect(count).to_have_attribute("data-count", "3")
    await expect(page.locator(".rule-preview tbody tr")).to_have_count(3)
    await shots(page, "admin-rule-builder", phone_at=".rule-conditions")

    # The agent strategy without an agent: the server's refusal sits beside the agent.
    await page.get_by_label("Name").fill("Mid-stage calls")
    await page.get_by_label("Strategy").select_option("agent")
    await page.get_by_role("button", name="Create rule").click()
    refusal = page.locator("[data-field='strategy.agent_id'] .field-error")
    await expect(refusal).to_contain_text("names an agent_id")
    await page.get_by_label("Agent", exact=True).select_option(str(collector.id))
    await page.get_by_role("button", name="Create rule").click()
    await expect(page).to_have_url(re.compile(r"/admin/rules/\d+$"))
    await expect(page.get_by_role("heading", name="Mid-stage calls")).to_be_visible()
    await expect(page.locator("#rule-runs")).to_contain_text("Not run yet")
    # Saved as built: the conditions come back in the builder.
    await expect(page.get_by_label("Condition 1: value")).to_have_value("5")
    await expect(
        page.locator("[data-field='conditions[1].value']").get_by_label("31-60")
    ).to_be_checked()

    await page.get_by_role("button", name="Run now").click()
    await expect(page.locator(".save-state")).to_have_text("Run: 3 tasks created.")
    await expect(page.locator("#rule-runs tbody tr").first.locator(".run-created")).to_have_text(
        "3"
    )
    await expect(page.locator("#rule-runs")).to_contain_text("by hand")
    # On the collector's desk, without a reload.
    await expect(desk.locator("#task-list li")).to_have_count(3, timeout=20_000)

    # The list shows it with its last run.
    await page.get_by_role("link", name="All rules").click()
    row = page.locator("#rules-list tbody tr", has_text="Mid-stage calls")
    await expect(row.locator(".last-created")).to_have_text("3")
    await expect(row).to_contain_text("enabled")
    await expect(row).to_contain_text("One named agent")
    assert not page.errors  # type: ignore[attr-defined]
    assert not desk.errors  # type: ignore[attr-defined]


async def test_queues_are_kept_with_refusals_beside_their_field_and_live_depth(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, admin = live_server, tenant.admin
    await call(base, admin, "POST", "/queues", {"name": "Early calls"})
    page = await open_as(browser, base, admin, "/admin/queues")
    await expect(page.locator("#queues-list")).to_contain_text("Early calls")

    # A new one, with an age boost checked as it is typed.
    add = page.get_by_role("form", name="Add a queue")
    await add.get_by_label("Name").fill("Late calls")
    boost = add.get_by_label("Age boost (minutes)")
    await boost.fill("0")
    await expect(add.locator("[data-field='age_boost_minutes'] .value-check")).to_contain_text(
        "from 1 to 10080"
    )
    await boost.fill("30")
    await add.get_by_label(f"Collector of {tenant.slug}").check()
    await add.get_by_role("button", name="Add queue").click()
    late = page.locator("#queues-list tbody tr", has_text="Late calls")
    await expect(late).to_contain_text("+1 every 30 min")
    await expect(late).to_contain_text(f"Collector of {tenant.slug}")
    await expect(late.locator(".queue-waiting")).to_have_text("0")

    # Renamed to a name taken: the server's refusal beside the name.
    await late.get_by_role("button", name="Change Late calls").click()
    edit = page.get_by_role("form", name="Change queue Late calls")
    await edit.get_by_label("Name").fill("Early calls")
    await edit.get_by_role("button", name="Save queue").click()
    await expect(edit.locator("[data-field='name'] .field-error")).to_contain_text("already exists")
    await expect(edit.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    await expect(edit.get_by_label("Name")).to_be_focused()
    await edit.get_by_label("Name").fill("Late-stage calls")
    await edit.get_by_role("button", name="Save queue").click()
    late = page.locator("#queues-list tbody tr", has_text="Late-stage calls")
    await expect(late).to_be_visible()

    # Work arriving in it shows its depth and oldest task without a reload.
    queue_id = int(await late.get_attribute("data-id"))  # type: ignore[arg-type]
    first = await call(
        base, admin, "POST", "/tasks", {"account_id": tenant.accounts[0].id, "queue_id": queue_id}
    )
    await expect(late.locator(".queue-waiting")).to_have_text("1", timeout=15_000)
    await expect(late.locator(".queue-oldest")).to_contain_text("0 min · on time")
    # Two hours waiting is past the tenant's red line (60 minutes by default).
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET created_at = now() - interval '2 hours' WHERE id = $1", first["id"]
        )
    await call(
        base, admin, "POST", "/tasks", {"account_id": tenant.accounts[1].id, "queue_id": queue_id}
    )
    await expect(late.locator(".queue-waiting")).to_have_text("2", timeout=15_000)
    await expect(late.locator(".queue-oldest")).to_contain_text(re.compile(r"^2 h \d+ min · late$"))
    await expect(late.locator(".queue-oldest .badge")).to_have_attribute("data-tone", "bad")
    await shots(page, "admin-queues", phone_at="#queues-list")

    # A queue with waiting work is not removed: the refusal sits beside the button.
    await late.get_by_role("button", name="Remove…").click()
    await late.get_by_role("button", name="Remove", exact=True).click()
    await expect(late.locator(".problem")).to_contain_text("2 waiting tasks")
    # An empty one goes, after the question.
    early = page.locator("#queues-list tbody tr", has_text="Early calls")
    await early.get_by_role("button", name="Remove…").click()
    await early.get_by_role("button", name="Remove", exact=True).click()
    await expect(page.locator("#queues-list")).not_to_contain_text("Early calls")
    assert not page.errors  # type: ignore[attr-defined]


async def test_a_queue_being_removed_or_changed_stays_open_while_work_arrives(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    """Every task event reloads the queues; the removal being asked about, and the change
    half typed, stay where they are, focus and all, while the list moves around them."""
    base, admin = live_server, tenant.admin
    early = await call(base, admin, "POST", "/queues", {"name": "Early calls"})
    late = await call(base, admin, "POST", "/queues", {"name": "Late calls"})
    page = await open_as(browser, base, admin, "/admin/queues")
    early_row = page.locator(f"#queues-list tr[data-id='{early['id']}']")
    late_row = page.locator(f"#queues-list tr[data-id='{late['id']}']")
    await expect(late_row.locator(".queue-waiting")).to_have_text("0")
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")

    await early_row.get_by_role("button", name="Remove…").click()
    keep = early_row.get_by_role("button", name="Keep it")
    await expect(keep).to_be_focused()
    # Work arrives in the other queue meanwhile: its event reloads the list.
    await call(
        base, admin, "POST", "/tasks", {"account_id": tenant.accounts[0].id, "queue_id": late["id"]}
    )
    await expect(late_row.locator(".queue-waiting")).to_have_text("1", timeout=15_000)
    await expect(early_row.get_by_role("group", name="Remove Early calls?")).to_be_visible()
    await expect(keep).to_be_focused()
    await early_row.get_by_role("button", name="Remove", exact=True).click()
    await expect(page.locator("#queues-list")).not_to_contain_text("Early calls")
    assert [q["name"] for q in (await call(base, admin, "GET", "/queues"))["items"]] == [
        "Late calls"
    ]

    # A change half typed stays too, while another admin's new queue shows beside it.
    await late_row.get_by_role("button", name="Change Late calls").click()
    name = page.get_by_role("form", name="Change queue Late calls").get_by_label("Name")
    await name.fill("Late-st")
    await call(base, admin, "POST", "/queues", {"name": "Weekend calls"})
    await expect(page.locator("#queues-list")).to_contain_text("Weekend calls", timeout=15_000)
    await call(
        base, admin, "POST", "/tasks", {"account_id": tenant.accounts[1].id, "queue_id": late["id"]}
    )
    await expect(late_row.locator(".queue-waiting")).to_have_text("2", timeout=15_000)
    await expect(name).to_have_value("Late-st")
    await expect(name).to_be_focused()
    await page.keyboard.type("age calls")
    await page.keyboard.press("Enter")
    await expect(page.locator("#queues-list tr", has_text="Late-stage calls")).to_be_visible()
    await expect(page.locator("#queues-list .edit-row")).to_have_count(0)
    names = sorted(q["name"] for q in (await call(base, admin, "GET", "/queues"))["items"])
    assert names == ["Late-stage calls", "Weekend calls"]
    assert not page.errors  # type: ignore[attr-defined]


async def test_a_supervisor_uses_the_screens_and_a_collector_gets_none(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base = live_server
    await call(base, tenant.admin, "POST", "/queues", {"name": "Calls"})
    rule = await call(
        base,
        tenant.admin,
        "POST",
        "/rules",
        {
            "name": "Large balances",
            "conditions": [{"field": "balance", "op": "gte", "value": "500"}],
        },
    )
    rule_id = rule["id"]
    # An admin has the rule open, and the list in another tab.
    admin = await open_as(browser, base, tenant.admin, f"/admin/rules/{rule_id}")
    await expect(admin.get_by_label("Condition 1: value")).to_have_value("500")
    await expect(admin.locator("rc-connection")).to_have_attribute("data-state", "live")
    listing = await open_as(browser, base, tenant.admin, "/admin/rules")
    await expect(listing.locator("#rules-list")).to_contain_text("Large balances")
    await expect(listing.locator("rc-connection")).to_have_attribute("data-state", "live")

    boss = await open_as(browser, base, tenant.supervisor, "/admin/rules")
    await boss.get_by_role("link", name="Large balances").click()
    await expect(boss.get_by_label("Condition 1: value")).to_have_value("500")
    await expect(boss.locator("#preview-count")).to_have_attribute("data-count", "3")
    # An answer that comes back after a newer question was asked is dropped: the first
    # question's (3 accounts) is held back until the second's (none) has been shown.
    held = asyncio.Event()

    async def slow_for_the_first(route: Route) -> None:
        if route.request.post_data_json["conditions"][0]["value"] == "600":
            await held.wait()
        await route.continue_()

    answered: list[str] = []
    boss.on(
        "requestfinished",
        lambda r: answered.append(r.post_data or "") if "/rules/preview" in r.url else None,
    )
    await boss.route("**/api/v1/rules/preview", slow_for_the_first)
    await boss.get_by_label("Condition 1: operator").select_option("gt")
    await boss.get_by_label("Condition 1: value").fill("600")
    await boss.wait_for_timeout(600)  # past the pause after typing: that question is asked
    await boss.get_by_label("Condition 1: value").fill("2000")
    await expect(boss.locator("#preview-count")).to_have_attribute("data-count", "0")
    held.set()
    for _ in range(50):
        if any('"600"' in body for body in answered):
            break
        await asyncio.sleep(0.1)
    assert any('"600"' in body for body in answered), "the held answer never came"
    await boss.wait_for_timeout(100)
    await expect(boss.locator("#preview-count")).to_have_attribute("data-count", "0")
    await boss.unroute("**/api/v1/rules/preview")
    await boss.get_by_label("Enabled: runs on its cadence").uncheck()
    await boss.get_by_role("button", name="Save rule").click()
    await expect(boss.locator(".save-state")).to_have_text("Saved.")
    # Their own save is no news to them; the admin hears of it, and the list shows it.
    await expect(admin.locator(".rule-notice")).to_contain_text("Someone else changed this rule")
    await expect(boss.locator(".rule-notice")).to_be_empty()
    row = listing.locator("#rules-list tbody tr", has_text="Large balances")
    await expect(row).to_contain_text("paused")
    await call(base, tenant.supervisor, "POST", "/rules", {"name": "Second", "conditions": []})
    await expect(listing.locator("#rules-list")).to_contain_text("Second")
    await admin.get_by_role("link", name="Load their version").click()
    await expect(admin.get_by_label("Condition 1: value")).to_have_value("2000")
    await expect(admin.locator(".rule-notice")).to_be_empty()

    await boss.goto(f"{base}/admin/queues")
    await expect(boss.locator("#queues-list")).to_contain_text("Calls")
    assert not boss.errors  # type: ignore[attr-defined]
    assert not admin.errors  # type: ignore[attr-defined]

    collector = await open_as(browser, base, tenant.collector, "/admin/rules")
    await expect(collector.locator("#nav a[href='/admin']")).to_be_hidden()
    await expect(collector.locator("#screen .problem")).to_be_visible()
    await expect(collector.locator("#rules-list")).to_have_count(0)
    await collector.goto(f"{base}/admin/queues")
    await expect(collector.locator("#screen .problem")).to_be_visible()
    await expect(collector.locator("#queues-list")).to_have_count(0)
    await collector.goto(f"{base}/admin/rules/new")
    await expect(collector.locator("#screen .problem")).to_be_visible()
    await expect(collector.get_by_role("button", name="Create rule")).to_have_count(0)
