"""The supervisor's team view in a real browser: all the team's open work (more than a page,
counted as the server counts it), filtered and sorted; agents' status and capacity changed
from their cards; several tasks ticked and given to a collector at once, arriving on the
collector's screen (another browser) without a reload."""

from __future__ import annotations

import datetime as dt

from playwright.async_api import Browser, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_queue import call, open_queue, open_team
from tests.factories import SeededTenant
from tests.integration.worklist_helpers import tasks


async def test_a_supervisor_pages_filters_sorts_and_gives_several_tasks_at_once(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, boss, collector = live_server, tenant.supervisor, tenant.collector
    queue = await call(base, boss, "POST", "/queues", {"name": "Team calls"})
    backlog = await tenant.account()
    await tasks(tenant, 418, account_id=backlog.id, type="review", priority=20)
    unowned, others, owned = tenant.accounts[2], tenant.accounts[1], tenant.accounts[0]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    for account, priority, due in ((unowned, 80, None), (others, 50, None), (owned, 40, soon)):
        await call(
            base,
            boss,
            "POST",
            "/tasks",
            {
                "account_id": account.id,
                "type": "call",
                "priority": priority,
                "queue_id": queue["id"],
                "due_at": due,
            },
        )

    mine = await open_queue(browser, base, collector)  # an open socket: available
    await expect(mine.locator("#my-status")).to_have_value("available")
    await expect(mine.locator("#task-list")).to_contain_text("No tasks")

    page = await open_team(browser, base, boss)
    rows = page.locator("#task-list li")
    # The true count of open work, a page of it loaded; the rest on asking.
    await expect(page.locator("#task-count")).to_have_text("421 tasks")
    await expect(rows).to_have_count(100)
    await expect(page.locator("#team-shown")).to_have_text("showing 100")
    await screenshot(page, "team-view")
    for loaded in (200, 300, 400):
        await page.get_by_role("button", name="Show 100 more").click()
        await expect(rows).to_have_count(loaded)
    await page.get_by_role("button", name="Show 21 more").click()
    await expect(rows).to_have_count(421)
    await expect(page.locator("#team-more")).to_be_hidden()
    await expect(page.locator("#team-shown")).to_have_text("")
    await expect(page.locator("#task-count")).to_have_text("421 tasks")
    # Most urgent first (the calls), then the backlog.
    await expect(rows.first).to_contain_text(unowned.debtor_name)
    await expect(rows.nth(3)).to_contain_text(backlog.debtor_name)

    # Filters: the queue's calls; sorted by due date, by age, by priority.
    await page.locator("#team-type").select_option("call")
    await expect(page.locator("#task-count")).to_have_text("3 tasks")
    await expect(rows).to_have_count(3)
    await page.locator("#team-queue").select_option(str(queue["id"]))
    await expect(rows).to_have_count(3)
    await page.locator("#team-sort").select_option("due")
    await expect(rows.first).to_contain_text(owned.debtor_name)
    await page.locator("#team-sort").select_option("age")
    await expect(rows.first).to_contain_text(unowned.debtor_name)
    await expect(rows.last).to_contain_text(owned.debtor_name)
    await page.locator("#team-sort").select_option("newest")
    await expect(rows.first).to_contain_text(owned.debtor_name)
    await page.locator("#team-sort").select_option("priority")
    await expect(rows.first).to_contain_text(unowned.debtor_name)
    await expect(rows.nth(1)).to_contain_text(others.debtor_name)
    await expect(rows.last).to_contain_text(owned.debtor_name)

    card = page.locator(f"rc-agent-controls[data-id='{collector.id}']")
    await expect(card).to_have_attribute("data-status", "available")
    await expect(card).to_contain_text("0 / 25 tasks")

    # Capacity 1: two tasks are one too many, and the refusal says so beside the action.
    await card.get_by_label("Capacity", exact=True).fill("1")
    await card.get_by_role("button", name="Set").click()
    await expect(card).to_contain_text("0 / 1 tasks")

    # One box ticked with the mouse, the next task with the keyboard (j, then x).
    first = page.locator("#task-list li", has_text=unowned.debtor_name)
    await first.locator(".task-check").click()
    await page.keyboard.press("j")
    await page.keyboard.press("x")
    await expect(page.locator("#bulk-count")).to_have_text("2 tasks ticked")
    await expect(page.locator("#task-list li.checked")).to_have_count(2)
    await page.locator("#bulk-agent").select_option(str(collector.id))
    await page.get_by_role("button", name="Give 2 tasks").click()
    await expect(page.locator("#bulk-problem")).to_contain_text("capacity of 1")
    await expect(mine.locator("#task-list")).to_contain_text("No tasks")

    await card.get_by_label("Capacity", exact=True).fill("5")
    await card.get_by_role("button", name="Set").click()
    await expect(card).to_contain_text("0 / 5 tasks")
    await page.get_by_role("button", name="Give 2 tasks").click()

    # Both arrive on the collector's screen, live.
    arrived = mine.locator("#task-list li")
    await expect(arrived).to_have_count(2, timeout=10_000)
    await expect(mine.locator("#task-list")).to_contain_text(unowned.debtor_name)
    await expect(mine.locator("#task-list")).to_contain_text(others.debtor_name)
    await expect(mine.locator("#queue-notice")).to_contain_text("New task")
    await expect(page.locator("#queue-notice")).to_contain_text("2 tasks given to")
    await expect(page.locator("#bulk-count")).to_have_text("No task ticked")
    await expect(card).to_contain_text("2 / 5 tasks")
    await expect(page.locator("#task-list li", has_text=unowned.debtor_name)).to_contain_text(
        "Collector of"
    )

    # Filtered by agent and by status, the list and its count follow.
    await page.locator("#team-agent").select_option(str(collector.id))
    await expect(page.locator("#task-count")).to_have_text("2 tasks")
    await expect(rows).to_have_count(2)
    await page.locator("#team-agent").select_option("none")
    await expect(page.locator("#task-count")).to_have_text("1 task")
    await expect(rows).to_contain_text([owned.debtor_name])
    await page.locator("#team-agent").select_option("")
    await page.locator("#team-status").select_option("assigned")
    await expect(page.locator("#task-count")).to_have_text("2 tasks")
    await page.locator("#team-status").select_option("")
    await expect(page.locator("#task-count")).to_have_text("3 tasks")

    # One goes back to the queue: it leaves the collector's screen; another is cancelled,
    # and leaves the list and the count.
    await page.locator("#task-list li", has_text=others.debtor_name).locator(".task-check").click()
    await page.locator("#bulk-queue").select_option(str(queue["id"]))
    await page.get_by_role("button", name="Move 1 task").click()
    await expect(arrived).to_have_count(1)
    await expect(mine.locator("#queue-notice")).to_contain_text("returned to its queue")
    await expect(page.locator("#task-list li", has_text=others.debtor_name)).to_contain_text(
        "unassigned"
    )
    await page.locator("#task-list li", has_text=owned.debtor_name).locator(".task-check").click()
    await page.locator("#bulk-reason").fill("Paid at the branch")
    await page.get_by_role("button", name="Cancel 1 task").click()
    await expect(page.locator("#task-list li", has_text=owned.debtor_name)).to_have_count(0)
    await expect(rows).to_have_count(2)
    await expect(page.locator("#task-count")).to_have_text("2 tasks")

    # A status set for them reaches their own screen.
    await card.get_by_label("Status", exact=True).select_option("away")
    await expect(mine.locator("#my-status")).to_have_value("away")
    await expect(card).to_have_attribute("data-status", "away")

    await page.set_viewport_size({"width": 390, "height": 844})
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "team-view-phone")
    for opened in (mine, page):
        assert not opened.errors, opened.errors  # type: ignore[attr-defined]
        await opened.context.close()


async def test_a_paused_workflow_shows_paused_live_and_resumes_from_the_list(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, boss = live_server, tenant.supervisor
    workflow = await call(
        base,
        boss,
        "POST",
        "/workflows",
        {
            "name": "Broken promise call",
            "enabled": True,
            "trigger": {"type": "promise.broken"},
            "steps": [{"kind": "create_task", "type": "call"}],
        },
    )
    page = await open_team(browser, base, boss)
    await page.get_by_role("link", name="Workflows").click()
    row = page.locator("#workflow-list tr", has_text="Broken promise call")
    await expect(row).to_contain_text("on")
    # Paused elsewhere (another supervisor, the API): the list shows it without a reload.
    await call(base, tenant.admin, "PATCH", f"/workflows/{workflow['id']}", {"enabled": False})
    await expect(row).to_contain_text("paused")
    await row.get_by_role("button", name="Resume Broken promise call").click()
    await expect(row.get_by_role("button", name="Pause Broken promise call")).to_be_visible()
    assert (await call(base, boss, "GET", f"/workflows/{workflow['id']}"))["enabled"] is True
    assert not page.errors  # type: ignore[attr-defined]
    await page.context.close()


async def test_an_agents_change_updates_the_give_to_choices_in_place(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    """The team's agents change under the supervisor's hands (a status, work given); the
    "Give to" drop-down's options are the same nodes with new words, so a list someone has
    open stays open, and the agent chosen stays chosen."""
    base, boss, collector = live_server, tenant.supervisor, tenant.collector
    page = await open_team(browser, base, boss)
    choice = page.locator("#bulk-agent")
    option = choice.locator(f"option[value='{collector.id}']")
    await expect(option).to_contain_text("· offline ·")
    await expect(option).to_be_disabled()
    await page.locator("#agent-grid").evaluate(
        "(_, id) => { window.keptOption = document.querySelector(`#bulk-agent option[value='${id}']`);"
        " window.keptFilter = document.querySelector(`#team-filters option[value='${id}']`); }",
        str(collector.id),
    )

    await call(base, collector, "PATCH", "/users/me", {"status": "available"})
    await expect(option).to_contain_text("· available · 0/")
    await expect(option).to_be_enabled()
    await choice.select_option(str(collector.id))
    task = await call(base, boss, "POST", "/tasks", {"account_id": tenant.accounts[0].id})
    await call(base, boss, "POST", f"/tasks/{task['id']}/assign", {"assignee_id": collector.id})
    await expect(option).to_contain_text("· available · 1/")
    await expect(choice).to_have_value(str(collector.id))
    kept = await page.evaluate(
        "(id) => [window.keptOption === document.querySelector(`#bulk-agent option[value='${id}']`),"
        " window.keptFilter === document.querySelector(`#team-filters option[value='${id}']`),"
        " window.keptOption.isConnected]",
        str(collector.id),
    )
    assert kept == [True, True, True]
    assert not page.errors, page.errors  # type: ignore[attr-defined]
