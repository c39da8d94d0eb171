"""axe-core over every screen, as each role sees it with work on it: no serious or critical
violation (contrast, roles and their required parents and children, names of controls...).

axe-core comes inside the `axe-playwright-python` package (no CDN); a moderate or minor
finding is left to review, a serious or critical one fails the test with axe's own words.
The API reference at /schema is checked too: Swagger UI's theme, with our stylesheet over it
darkening what failed contrast (white method badges on light green and blue, about 2:1),
checked closed and with an operation open.
"""

from __future__ import annotations

import msgspec
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from tests.e2e.test_login import sign_in
from tests.e2e.test_pay_page import PHONE, link_for
from tests.e2e.test_queue import call
from tests.factories import SeededTenant
from tests.integration.imports.files import MAPPING
from tests.integration.imports.sftp_server import new_key, private_text

AXE = Axe()
BLOCKING = {"serious", "critical"}


async def violations(page: Page) -> list[str]:
    """axe's serious and critical findings on the page as it is now, one line per element."""
    results = await AXE.run(page, options={"resultTypes": ["violations"]})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        for node in violation["nodes"]:
            found.append(
                f"{violation['id']} ({violation['impact']}) at {', '.join(node['target'])}: "
                f"{node['failureSummary']}"
            )
    return found


async def _settled(page: Page) -> None:
    await expect(page.locator("#screen h1").first).to_be_visible()
    await expect(page.locator("#screen")).not_to_contain_text("Loading…")
    await page.wait_for_load_state("networkidle")


async def test_every_screen_has_no_serious_violation(
    browser: Browser, client, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, admin = live_server, tenant.admin
    account = tenant.accounts[0]
    await call(
        base,
        admin,
        "POST",
        f"/accounts/{account.id}/interactions",
        {"channel": "note", "notes": "Asked for a statement"},
    )
    task = await call(
        base, admin, "POST", "/tasks", {"account_id": account.id, "type": "call", "priority": 70}
    )
    await call(base, admin, "PATCH", "/users/me", {"status": "available"})
    await call(base, admin, "POST", f"/tasks/{task['id']}/assign", {"assignee_id": admin.id})
    workflow = await call(
        base,
        admin,
        "POST",
        "/workflows",
        {
            "name": "Broken promise call",
            "enabled": True,
            "trigger": {"type": "promise.broken"},
            "steps": [{"kind": "create_task", "type": "call"}],
        },
    )

    # An SFTP source, so that the imports screen shows its table.
    preset = {"name": "DebtFlow", "mapping": msgspec.to_builtins(MAPPING)}
    mapping = await call(base, admin, "POST", "/import-mappings", preset)
    source = {
        "name": "DebtFlow daily",
        "host": "sftp.debtflow.example",
        "username": "recoup",
        "private_key": private_text(new_key()),
        "folder": "/outgoing",
        "processed_folder": "/outgoing/done",
        "mapping_id": mapping["id"],
    }
    await call(base, admin, "POST", "/sftp-sources", source)

    group = await call(base, admin, "POST", "/agent-groups", {"name": "Early shift"})
    await call(base, admin, "PATCH", f"/users/{tenant.collector.id}", {"group_id": group["id"]})

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    found: dict[str, list[str]] = {}
    await page.goto(f"{base}/login")
    await expect(page.get_by_role("heading", name="Recoup")).to_be_visible()
    found["login"] = await violations(page)
    await sign_in(page, base, admin.email, admin.password)
    await expect(page.locator("#who")).not_to_be_empty()

    screens = {
        "accounts": "/accounts",
        "account": f"/accounts/{account.id}",
        "queue": "/queue",
        "team": "/team",
        "wallboard": "/wallboard",
        "reports": "/reports",
        "workflows": "/workflows",
        "workflow": f"/workflows/{workflow['id']}",
        "templates": "/templates",
        "messages": "/messages",
        "admin": "/admin",
        "admin queues": "/admin/queues",
        "admin rules": "/admin/rules",
        "admin new rule": "/admin/rules/new",
        "admin settings": "/admin/settings",
        "admin api keys": "/admin/api-keys",
        "admin audit": "/admin/audit",
        "admin imports": "/admin/imports",
        "admin fields": "/admin/fields",
        "webhooks": "/webhooks",
        "admin users": "/admin/users",
        "admin groups": "/admin/groups",
        "my account": "/me",
    }
    for name, path in screens.items():
        await page.goto(f"{base}{path}")
        await _settled(page)
        if name == "queue":
            # The working panel open on a task, as a collector works it.
            await page.locator("#task-list li").first.click()
            await expect(page.locator("#task-card")).to_be_visible()
            await page.wait_for_load_state("networkidle")
        if name == "team":
            await page.locator("#task-list li .task-check").first.click()
            await expect(page.locator("#bulk-count")).to_have_text("1 task ticked")
        if name in ("admin users", "admin groups"):
            # One user or group open, as an admin changes them.
            await page.locator("tbody tr button").first.click()
            await expect(page.locator("#user-editor, #group-editor")).to_be_visible()
        found[name] = await violations(page)
    # The team view on a phone: its filters and bulk actions stack.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{base}/team")
    await _settled(page)
    found["team on a phone"] = await violations(page)
    await context.close()

    # The API reference, as an integrator reads it: every operation listed, then one open.
    docs = await browser.new_context(viewport={"width": 1280, "height": 800})
    reference = await docs.new_page()
    await reference.goto(f"{base}/schema")
    operation = reference.locator("#operations-users-ApiV1UsersMeMe")
    await expect(operation).to_be_visible(timeout=30_000)
    found["api reference"] = await violations(reference)
    await operation.locator(".opblock-summary").first.click()
    await expect(operation.get_by_role("button", name="Try it out")).to_be_visible()
    found["api reference, an operation open"] = await violations(reference)
    await docs.close()

    # The debtor's page, on a phone.
    link = await link_for(client, tenant, account.id)
    phone = await browser.new_context(**PHONE)
    debtor = await phone.new_page()
    await debtor.goto(f"{base}/pay/{link['url'].split('/pay/', 1)[1]}")
    await expect(debtor.get_by_role("heading").first).to_be_visible()
    await debtor.wait_for_load_state("networkidle")
    found["payment page"] = await violations(debtor)
    await phone.close()

    report = [f"{name}: {line}" for name, lines in found.items() for line in lines]
    assert not report, "\n".join(report)
    # With the sign-in, the team on a phone, the API reference twice and the payment page.
    assert len(found) == len(screens) + 5


@pytest.mark.parametrize("width", [1280, 390])
async def test_the_checker_finds_what_it_should(browser: Browser, width: int) -> None:
    """The check itself: a page with known faults is reported by rule, so a clean result
    above means clean, not a checker that saw nothing."""
    context = await browser.new_context(viewport={"width": width, "height": 800})
    page = await context.new_page()
    await page.set_content(
        """<html lang="en"><title>t</title><main>
        <p style="color:#777;background:#fff">grey on white</p>
        <div role="listbox" aria-label="x"><ol><li role="option">a</li></ol></div>
        <input type="text"></main></html>"""
    )
    rules = {line.split(" ", 1)[0] for line in await violations(page)}
    await context.close()
    assert {"color-contrast", "aria-required-parent", "label"} <= rules
