"""The collector's desk in a real browser: what "next task" gives an agent who is away or
already working, and what the working panel shows while a task is worked."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_queue import call, open_queue
from tests.factories import SeededTenant


async def test_away_takes_no_new_work_and_next_gives_back_the_task_under_way(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    base, boss, me = live_server, tenant.supervisor, tenant.collector
    queue = await call(base, boss, "POST", "/queues", {"name": "Everyone's calls"})
    first, second = tenant.accounts[1], tenant.accounts[2]
    for account, priority in ((first, 90), (second, 80)):
        body = {"account_id": account.id, "type": "review", "priority": priority}
        await call(base, boss, "POST", "/tasks", {**body, "queue_id": queue["id"]})
    page = await open_queue(browser, base, me)
    await expect(page.locator("#my-status")).to_have_value("available")

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

    # Three presses hold one task, the one under way, and say why.
    for _ in range(2):
        await page.locator("#task-list").focus()
        await page.keyboard.press("n")
        await expect(page.locator("#queue-notice")).to_have_text(
            "You are already working on this task: complete it or hand it back to take another"
        )
    await expect(page.locator("#task-list li")).to_have_count(1)
    await expect(page.locator("#task-count")).to_have_text("1 task")
    await expect(page.locator("#task-title")).to_contain_text(first.debtor_name)
    await page.evaluate("window.scrollTo(0, 0)")
    await screenshot(page, "queue-under-way")
    assert not page.errors, page.errors  # type: ignore[attr-defined]
