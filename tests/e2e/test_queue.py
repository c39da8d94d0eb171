"""The collector's live queue in a real browser: work arrives, is pulled, worked and
completed without a reload; a supervisor's reassignment moves it between screens."""

from __future__ import annotations

import datetime as dt

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_login import sign_in
from tests.factories import SeededTenant, SeededUser


async def open_queue(browser: Browser, base: str, user: SeededUser) -> Page:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await sign_in(page, base, user.email, user.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.get_by_role("link", name="Queue").click()
    await expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
    return page


async def open_team(browser: Browser, base: str, user: SeededUser) -> Page:
    """A supervisor's team view, open and live."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await sign_in(page, base, user.email, user.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.get_by_role("link", name="Team").click()
    await expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
    return page


async def call(
    base: str, user: SeededUser, method: str, path: str, body: dict | None = None
) -> dict:
    async with httpx.AsyncClient(base_url=base, headers=user.headers, timeout=10) as http:
        response = await http.request(method, f"/api/v1{path}", json=body)
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


async def test_a_collector_works_the_live_queue(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    base, boss = live_server, tenant.supervisor
    first, second = tenant.collector, tenant.other_collector
    queue = await call(base, boss, "POST", "/queues", {"name": "Everyone's calls"})

    collector = await open_queue(browser, base, first)
    other = await open_queue(browser, base, second)
    # Opening the queue (a socket) made them available.
    await expect(collector.locator("#my-status")).to_have_value("available")
    await expect(collector.locator("#task-list")).to_contain_text("No tasks")

    # A rule creates a task for the first collector; it arrives without a reload.
    owned = tenant.accounts[0]
    rule = await call(
        base,
        boss,
        "POST",
        "/rules",
        {
            "name": "Owner follow-up",
            "conditions": [{"field": "owner_id", "op": "in", "value": [first.id]}],
            "task_type": "follow_up",
            "priority": 60,
            "strategy": {"kind": "agent", "agent_id": first.id},
        },
    )
    run = await call(base, boss, "POST", f"/rules/{rule['id']}/run")
    assert run["created"] == 1
    row = collector.locator("#task-list li", has_text=owned.debtor_name)
    await expect(row).to_be_visible(timeout=10_000)
    await expect(collector.locator("#queue-notice")).to_contain_text("New task")
    await expect(collector.locator("#task-count")).to_have_text("1 task")
    await screenshot(collector, "queue-arrival")

    # Work waits in the queue; "n" pulls the most urgent and opens it.
    waiting = tenant.accounts[2]
    await call(
        base,
        boss,
        "POST",
        "/tasks",
        {"account_id": waiting.id, "type": "call", "priority": 90, "queue_id": queue["id"]},
    )
    await collector.locator("#task-list").focus()
    await collector.keyboard.press("n")
    await expect(collector.locator("#task-title")).to_contain_text(waiting.debtor_name)
    await expect(collector.locator("#task-list li")).to_have_count(2)
    await expect(collector.locator("#task-card")).to_contain_text("Call now")
    await expect(collector.locator("#balance")).to_contain_text("1,075.00")

    # j / k move through the list, Enter opens; the in-progress call sorts first.
    await collector.keyboard.press("j")
    await collector.keyboard.press("Enter")
    await expect(collector.locator("#task-title")).to_contain_text(owned.debtor_name)
    await collector.keyboard.press("k")
    await collector.keyboard.press("Enter")
    await expect(collector.locator("#task-title")).to_contain_text(waiting.debtor_name)
    await expect(collector.locator("#balance")).to_contain_text("1,075.00")

    # "c" goes to the call log; the call appears in the timeline from its event.
    await collector.keyboard.press("c")
    await expect(collector.locator("#note-text")).to_be_focused()
    await expect(collector.locator("#note-channel")).to_have_value("call")
    await collector.locator("#note-disposition").select_option("right_party_contact")
    await collector.keyboard.type("Spoke to the debtor, will pay part on Friday")
    await collector.keyboard.press("Enter")
    await expect(collector.locator("#timeline li").first).to_contain_text("will pay part on Friday")

    # "p" records a promise.
    await collector.keyboard.press("Escape")
    await collector.keyboard.press("p")
    await expect(collector.locator("#promise-amount")).to_be_focused()
    await collector.keyboard.type("300.00")
    due = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    await collector.locator("#promise-date").fill(due)
    await collector.get_by_role("button", name="Record promise").click()
    await expect(collector.locator("#promises li").first).to_contain_text("300.00")
    # The conversation closes calls for a week: the list and the panel say until when.
    await expect(collector.locator("#task-contact")).to_contain_text("No call until")
    await expect(collector.locator("#task-list li", has_text=waiting.debtor_name)).to_contain_text(
        "No call until"
    )
    await collector.evaluate("window.scrollTo(0, 0)")
    await screenshot(collector, "queue-working")

    # A payment taken elsewhere on an account of my list that is not the open one moves its
    # card's balance: here one I hold work on (pulled) without owning it.
    await collector.locator("#task-list li", has_text=owned.debtor_name).click()
    await expect(collector.locator("#task-title")).to_contain_text(owned.debtor_name)
    async with httpx.AsyncClient(base_url=base, headers=boss.headers) as http:
        paid = await http.post(
            f"/api/v1/accounts/{waiting.id}/payments",
            json={"amount": "75.00", "currency": "USD", "method": "cash"},
            headers={"Idempotency-Key": f"queue-card-{waiting.id}"},
        )
    assert paid.status_code == 201, paid.text
    now = await call(base, boss, "GET", f"/accounts/{waiting.id}")
    assert now["owner_id"] != first.id
    assert now["balance"] != "1075.00"
    card = collector.locator("#task-list li", has_text=waiting.debtor_name)
    await expect(card.locator("rc-money")).to_have_attribute("amount", now["balance"])
    await card.click()
    await expect(collector.locator("#task-title")).to_contain_text(waiting.debtor_name)

    # "d" completes the task with an outcome; it leaves the list.
    await collector.keyboard.press("Escape")
    await collector.keyboard.press("d")
    await expect(collector.locator("#task-outcome")).to_be_focused()
    await collector.locator("#task-outcome").select_option("promise")
    await collector.get_by_role("button", name="Complete task").click()
    await expect(collector.locator("#task-list li")).to_have_count(1)
    await expect(collector.locator("#panel-message")).to_contain_text("Task completed")

    # "?" lists the keys.
    await collector.locator("#task-list").focus()
    await collector.keyboard.press("?")
    await expect(collector.locator("#keys")).to_be_visible()
    await collector.keyboard.press("Escape")

    # The supervisor gives the rule's task to the second collector from the team view.
    supervisor = await open_team(browser, base, boss)
    await supervisor.locator("#task-list li", has_text=owned.debtor_name).click()
    await expect(supervisor.locator("#bulk-agent option", has_text="Collector2")).to_have_count(1)
    await supervisor.locator("#bulk-agent").select_option(str(second.id))
    await supervisor.get_by_role("button", name="Give 1 task").click()
    await expect(collector.locator("#task-list li")).to_have_count(0)
    await expect(collector.locator("#queue-notice")).to_contain_text("given to")
    await expect(other.locator("#task-list li", has_text=owned.debtor_name)).to_be_visible()
    await screenshot(other, "queue-reassigned")
    for page in (collector, other, supervisor):
        assert not page.errors, page.errors  # type: ignore[attr-defined]
