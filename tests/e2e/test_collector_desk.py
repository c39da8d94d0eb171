"""The collector's desk in a real browser: what "next task" gives an agent who is away or
already working, and what the working panel shows while a task is worked."""

from __future__ import annotations

import datetime as dt

from playwright.async_api import Browser, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_queue import call, open_queue
from tests.factories import SeededTenant


async def test_away_takes_no_new_work_and_next_gives_back_the_task_under_way(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    base, boss, me = live_server, tenant.supervisor, tenant.collector
    queue = await call(base, boss, "POST", "/queues", {"name": "Everyone's calls"})
    # The first is the collector's own account: they still see it when its task is done.
    first, second = tenant.accounts[0], tenant.accounts[2]
    for account, priority in ((first, 90), (second, 80)):
        body = {"account_id": account.id, "type": "review", "priority": priority}
        await call(base, boss, "POST", "/tasks", {**body, "queue_id": queue["id"]})
    page = await open_queue(browser, base, me)
    await expect(page.locator("#my-status")).to_have_value("available")

    # The network drops: the screen says so in words, and the words go once a press works.
    await page.route("**/api/v1/tasks/next", lambda route: route.abort("internetdisconnected"))
    await page.locator("#task-list").focus()
    await page.keyboard.press("n")
    unreachable = page.get_by_role("alert")
    await expect(unreachable).to_have_text(
        "Recoup could not be reached: check your network connection, then try again."
    )
    await page.unroute("**/api/v1/tasks/next")

    async with page.expect_response(lambda r: r.url.endswith("/users/me") and r.ok):
        await page.locator("#my-status").select_option("away")
    await page.locator("#task-list").focus()
    await page.keyboard.press("n")
    await expect(page.locator("#queue-notice")).to_have_text(
        "You are away: set yourself available to take new work"
    )
    await expect(page.locator("#task-list li")).to_have_count(0)
    await expect(page.locator("#task-list")).to_contain_text("No tasks")

    async with page.expect_response(lambda r: r.url.endswith("/users/me") and r.ok):
        await page.locator("#my-status").select_option("available")
    await page.locator("#task-list").focus()
    await page.keyboard.press("n")
    await expect(page.locator("#task-title")).to_contain_text(first.debtor_name)
    await expect(page.locator("#task-list li")).to_have_count(1)
    await expect(unreachable).to_have_count(0)
    # "n" is busy until the account is on screen.
    await expect(page.locator("#next-task")).not_to_have_attribute("aria-busy", "true")
    await expect(page.locator("#balance")).to_be_visible()

    # Three presses hold one task, the one under way, and say why.
    for _ in range(2):
        await page.locator("#task-list").focus()
        await page.keyboard.press("n")
        await expect(page.locator("#next-task")).not_to_have_attribute("aria-busy", "true")
        await expect(page.locator("#queue-notice")).to_have_text(
            "You are already working on this task: complete it or hand it back to take another"
        )
    await expect(page.locator("#task-list li")).to_have_count(1)
    await expect(page.locator("#task-count")).to_have_text("1 task")
    await expect(page.locator("#task-title")).to_contain_text(first.debtor_name)
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "queue-under-way")

    # The notes left when completing show on the account's timeline.
    await page.locator("#task-outcome").select_option("promise")
    await page.locator("#task-notes").fill("Will pay on Friday after payday")
    await page.get_by_role("button", name="Complete task").click()
    await expect(page.locator("#panel-message")).to_contain_text("Task completed")
    await page.goto(f"{base}/accounts/{first.id}")
    done = page.locator("#timeline li[data-kind='task_closed']").first
    await expect(done).to_contain_text("completed")
    await expect(done.locator(".entry-detail")).to_have_text("Will pay on Friday after payday")
    assert not page.errors, page.errors  # type: ignore[attr-defined]


async def test_the_open_task_keeps_up_with_the_account_and_keeps_a_draft_when_taken_away(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    base, boss, me = live_server, tenant.supervisor, tenant.collector
    queue = await call(base, boss, "POST", "/queues", {"name": "Everyone's calls"})
    account = tenant.accounts[2]
    body = {"account_id": account.id, "type": "call", "priority": 90, "queue_id": queue["id"]}
    task = await call(base, boss, "POST", "/tasks", body)
    page = await open_queue(browser, base, me)
    await page.locator("#task-list").focus()
    await page.keyboard.press("n")
    await expect(page.locator("#task-title")).to_contain_text(account.debtor_name)
    await expect(page.locator("#task-balance")).to_have_text("$1,075.00")

    # A conversation starts the quiet period: another call out is refused, and the refusal
    # clears when the debtor's own call in is logged, which is always allowed.
    await page.locator("#note-channel").select_option("call")
    await page.locator("#note-disposition").select_option("right_party_contact")
    await page.locator("#note-text").fill("Spoke to the debtor")
    await page.get_by_role("button", name="Log", exact=True).click()
    await expect(page.locator("#timeline li").first).to_contain_text("Spoke to the debtor")
    await page.locator("#note-text").fill("Calling back about the plan")
    await page.get_by_role("button", name="Log", exact=True).click()
    refusal = page.get_by_role("alert").filter(has_text="call not allowed")
    await expect(refusal).to_contain_text("no calls within 7 days of a telephone conversation")
    await expect(refusal).to_contain_text("debtor time (")
    await page.locator("#note-direction").select_option("inbound")
    await page.locator("#note-text").fill("The debtor called back about the plan")
    await page.get_by_role("button", name="Log", exact=True).click()
    await expect(page.locator("#timeline li").first).to_contain_text("Call inbound")
    await expect(page.locator("#timeline li").first).to_contain_text("called back about the plan")
    await expect(refusal).to_have_count(0)

    # Promises never pass the balance; the refusal says how much more may be promised.
    due = page.locator("#promise-date")
    await page.locator("#promise-amount").fill("three hundred")
    await due.fill(due_in(5))
    await page.get_by_role("button", name="Record promise").click()
    await expect(page.get_by_role("alert").filter(has_text="in figures")).to_have_text(
        "Enter the promised amount in figures, such as 120.50."
    )
    await page.locator("#promise-amount").fill("300.00")
    await due.fill(due_in(5))
    await page.get_by_role("button", name="Record promise").click()
    await expect(page.locator("#promises li").first).to_contain_text("$300.00")
    await page.locator("#promise-amount").fill("775.01")
    await page.get_by_role("button", name="Record promise").click()
    await expect(page.get_by_role("alert").filter(has_text="already promised")).to_have_text(
        "$300.00 of the balance of $1,075.00 is already promised; "
        "at most $775.00 more may be promised"
    )

    # A payment moves the Balance card, the task's card and its row from the same event.
    await page.locator("#pay-amount").fill("75.00")
    await page.locator("#pay-method").select_option("cash")
    await page.get_by_role("button", name="Take payment").click()
    await page.get_by_role("button", name="Record as paid").click()
    await expect(page.locator("#balance")).to_have_text("$1,000.00")
    await expect(page.locator("#task-balance")).to_have_text("$1,000.00")
    row = page.locator("#task-list li", has_text=account.debtor_name)
    await expect(row).to_contain_text("$1,000.00")

    # Notes typed in the task outlive a redraw, and a reassignment: kept, and said so.
    await page.locator("#task-notes").fill("Half now, the rest on Friday")
    await page.locator("#note-text").fill("Asked for a plan")
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "queue-figures")
    other = await open_queue(browser, base, tenant.other_collector)
    await call(
        base,
        boss,
        "POST",
        f"/tasks/{task['id']}/assign",
        {"assignee_id": tenant.other_collector.id},
    )
    await expect(page.locator("#panel-message")).to_have_text(
        f"This task was given to Collector2 of {tenant.slug}."
    )
    await expect(page.locator("#draft-notes")).to_have_value(
        "Task notes: Half now, the rest on Friday\nCall notes: Asked for a plan"
    )
    await screenshot(page, "queue-draft-kept")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "queue-draft-kept-phone")

    # The one it went to sees who gave it, by name.
    await other.locator("#task-list li", has_text=account.debtor_name).click()
    await expect(other.locator("#task-card")).to_contain_text(
        f"reassigned by Supervisor of {tenant.slug}"
    )
    for each in (page, other):
        assert not each.errors, each.errors  # type: ignore[attr-defined]


def due_in(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()
