"""A collector's unsaved notes belong to the task they were typed into: moving to another of
their tasks and back finds them again (a reload too, in the same tab); logging the call or
completing the task clears them."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from domain.debtors.schemas import DebtorCreate
from tests.e2e.conftest import screenshot
from tests.e2e.test_admin_settings import EARLIER_END, evening_zone
from tests.e2e.test_queue import call, open_queue
from tests.factories import SeededTenant

BACK = "Your unsaved notes on this task are back, as you left them."


async def test_notes_typed_into_a_task_wait_for_it_while_another_is_worked(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, boss, me = live_server, tenant.supervisor, tenant.collector
    first, second = tenant.accounts[0], tenant.accounts[2]
    # Open (and so available) before the work is given, as a collector at their desk.
    page = await open_queue(browser, base, me)
    tasks = {}
    for account in (first, second):
        body = {
            "account_id": account.id,
            "type": "call",
            "title": f"Ring {account.debtor_name}",
        }
        made = await call(base, boss, "POST", "/tasks", body)
        tasks[account.id] = await call(
            base, boss, "POST", f"/tasks/{made['id']}/assign", {"assignee_id": me.id}
        )
    rows = page.locator("#task-list li")
    await expect(rows).to_have_count(2)

    async def work(account) -> None:
        await rows.filter(has_text=account.debtor_name).click()
        await expect(page.locator("#task-title")).to_contain_text(account.debtor_name)
        await expect(page.locator("#note-text")).to_be_visible()

    await work(first)
    await expect(page.locator("#draft-restored")).to_have_count(0)
    await page.locator("#task-outcome").select_option("promise")
    await page.locator("#task-notes").fill("Pays half on Friday")
    await page.locator("#note-channel").select_option("note")
    await page.locator("#note-text").fill("Asked about a plan, call back")

    # Another task: its own fields are empty; nothing of the first leaks into it.
    await work(second)
    for field in ("#task-notes", "#note-text", "#task-outcome"):
        await expect(page.locator(field)).to_have_value("")
    await expect(page.locator("#draft-restored")).to_have_count(0)
    await page.locator("#note-text").fill("Wrong number?")

    # Back to the first: everything as it was left, and said so.
    await work(first)
    await expect(page.locator("#task-outcome")).to_have_value("promise")
    await expect(page.locator("#task-notes")).to_have_value("Pays half on Friday")
    await expect(page.locator("#note-channel")).to_have_value("note")
    await expect(page.locator("#note-text")).to_have_value("Asked about a plan, call back")
    await expect(page.locator("#draft-restored")).to_have_text(BACK)
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "queue-draft-restored")
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.locator("#draft-restored").scroll_into_view_if_needed()
    await screenshot(page, "queue-draft-restored-phone")
    await page.set_viewport_size({"width": 1440, "height": 900})

    # A reload of the tab keeps both tasks' drafts.
    await page.reload()
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
    await work(second)
    await expect(page.locator("#note-text")).to_have_value("Wrong number?")

    # The call logged on the first: its call notes are saved, so they are no longer a draft;
    # the completion typed beside them still is.
    await work(first)
    await expect(page.locator("#note-text")).to_have_value("Asked about a plan, call back")
    await page.get_by_role("button", name="Log", exact=True).click()
    await expect(page.get_by_role("alert")).to_have_count(0)
    await expect(page.locator("#timeline li").first).to_contain_text("Asked about a plan")
    await expect(page.locator("#note-text")).to_have_value("")
    await work(second)
    await work(first)
    await expect(page.locator("#note-text")).to_have_value("")
    await expect(page.locator("#task-notes")).to_have_value("Pays half on Friday")

    # Completed: the draft goes with the task.
    await page.get_by_role("button", name="Complete task").click()
    await expect(page.locator("#panel-message")).to_contain_text("Task completed")
    await expect(rows).to_have_count(1)
    left = await page.evaluate("Object.keys(sessionStorage).filter((k) => k.includes('draft'))")
    assert left == [f"recoup:task-draft:{tasks[second.id]['id']}"]
    assert not page.errors, page.errors  # type: ignore[attr-defined]


async def test_a_completion_being_typed_keeps_its_focus_while_the_task_is_redrawn(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    """New contact hours redraw the open task's card (its "no call until" moves); the
    outcome chosen, the notes half typed and the focus in them stay, and the typing goes on
    into the notes, not into the queue's keys."""
    base, boss, me = live_server, tenant.supervisor, tenant.collector
    zone = evening_zone()
    account = await tenant.account(
        debtor=DebtorCreate(
            first_name="Eve", last_name="Ning", phone="+15555550111", time_zone=zone
        )
    )
    page = await open_queue(browser, base, me)
    made = await call(base, boss, "POST", "/tasks", {"account_id": account.id, "type": "call"})
    await call(base, boss, "POST", f"/tasks/{made['id']}/assign", {"assignee_id": me.id})
    await page.locator(f"#task-list li[data-id='{made['id']}']").click()
    await expect(page.locator("#task-contact")).to_contain_text("Call now")
    await page.locator("#task-outcome").select_option("promise")
    notes = page.locator("#task-notes")
    await notes.fill("Pays half on Fri")

    contact = (await call(base, tenant.admin, "GET", "/tenant"))["settings"]["contact"]
    await call(
        base, tenant.admin, "PATCH", "/tenant", {"contact": {**contact, "window_end": EARLIER_END}}
    )
    await expect(page.locator("#task-contact")).to_contain_text("No call until", timeout=15_000)
    await expect(page.locator("#task-outcome")).to_have_value("promise")
    await expect(notes).to_have_value("Pays half on Fri")
    await expect(notes).to_be_focused()
    await page.keyboard.type("day")
    await page.get_by_role("button", name="Complete task").click()
    await expect(page.locator("#panel-message")).to_contain_text("Task completed")
    done = await call(base, boss, "GET", f"/tasks/{made['id']}")
    assert (done["status"], done["outcome"], done["notes"]) == (
        "completed",
        "promise",
        "Pays half on Friday",
    )
    assert not page.errors, page.errors  # type: ignore[attr-defined]
