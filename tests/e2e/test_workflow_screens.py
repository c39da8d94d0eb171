"""The automation screens in a real browser: a supervisor builds a workflow without writing
JSON, edits it as JSON too, writes a template and previews it for an account; a payment
runs the workflow on the real relay and worker, and its message shows in the mailbox, on
the workflow's runs and on the account's timeline."""

from __future__ import annotations

import json
import uuid

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.factories import SeededTenant, SeededUser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
WIDER_THAN_SCREEN = """() => [...document.querySelectorAll("body *")]
  .filter((e) => !e.closest(".table-scroll") && e.getBoundingClientRect().right > innerWidth + 1)
  .map((e) => `${e.tagName}.${e.className}#${e.id}`).slice(0, 5)"""


async def open_app(browser: Browser, base: str, user: SeededUser) -> Page:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.errors = errors  # type: ignore[attr-defined]
    page.failed = failed  # type: ignore[attr-defined]
    await sign_in(page, base, user.email, user.password)
    # Signing in hashes a password: slow while the worker and relay are starting.
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    return page


def no_errors(page: Page, *refused: str) -> None:
    """Nothing thrown in the page, and no request refused but those the test provoked
    (``refused``: "422 /api/v1/workflows") and the sign-in's first look for a session."""
    assert not page.errors, page.errors  # type: ignore[attr-defined]
    allowed = [r.split(" ", 1) for r in ("401 /api/v1/auth/refresh", *refused)]
    failed = [
        f
        for f in page.failed  # type: ignore[attr-defined]
        if not any(f.split(" ", 1)[0] == code and path in f for code, path in allowed)
    ]
    assert not failed, failed


async def both_sizes(page: Page, name: str, at: str | None = None, *, whole: bool = False) -> None:
    """The screen at desktop and phone width, as the docs show it (from ``at`` down, or the
    ``whole`` page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        if at:
            await page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        else:
            await page.evaluate("scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=whole)
        # Nothing wider than the screen (a table scrolls in its own box).
        wide = await page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (name, size, wide)
    await page.set_viewport_size(DESKTOP)


async def call(base: str, user: SeededUser, method: str, path: str, body=None, **headers: str):
    async with httpx.AsyncClient(base_url=base, headers=user.headers, timeout=10) as http:
        response = await http.request(method, f"/api/v1{path}", json=body, headers=headers)
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


async def sms_template(base: str, user: SeededUser, body: str) -> dict:
    return await call(
        base,
        user,
        "POST",
        "/templates",
        {"name": f"Reminder {uuid.uuid4().hex[:6]}", "channel": "sms", "body": body},
    )


async def test_a_supervisor_builds_a_workflow_without_writing_json(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    boss = tenant.supervisor
    template = await sms_template(live_server, boss, "Hi {{ debtor.first_name }}, please call us.")
    page = await open_app(browser, live_server, boss)
    await page.get_by_role("link", name="Workflows").click()
    await expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    await page.get_by_role("link", name="New workflow").click()
    await expect(page.get_by_role("heading", name="New workflow")).to_be_visible()

    name = f"Late accounts {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Enabled").check()
    # A time trigger asks for its days.
    await page.get_by_label("Trigger").select_option("account.days_past_due")
    await page.get_by_label("Days past due").fill("45")

    # The condition is checked as it is typed: the fault at its place, then the count.
    await page.get_by_role("button", name="Add a condition").click()
    condition = page.get_by_label("Condition 1", exact=True)
    await expect(condition).to_be_focused()
    await condition.fill("account.balance_minor >")
    check = page.locator("[data-field='conditions[0]'] .check")
    await expect(check).to_contain_text("line 1, column 24")
    await expect(check.locator("pre.pointer")).to_contain_text("^")
    await expect(condition).to_have_attribute("aria-invalid", "true")
    await condition.press("End")
    await condition.type(" 0")
    await expect(check).to_contain_text("Valid · holds for")
    await expect(check).to_contain_text(f"of {len(tenant.accounts)} accounts now")

    # Steps: a text, then a task; the task is moved up with the keyboard.
    kind = page.get_by_label("Kind of step", exact=True)
    await kind.select_option("send_sms")
    await page.get_by_role("button", name="Add a step", exact=True).click()
    await expect(page.locator("[data-field='steps[0]'] select").first).to_have_value(
        str(template["id"])
    )
    await kind.select_option("create_task")
    await page.get_by_role("button", name="Add a step", exact=True).click()
    await page.locator("[data-field='steps[1].title'] input").fill("Call about the balance")
    await page.locator("[data-field='steps[1].due_offset_minutes'] input").fill("2")
    await page.locator("[data-field='steps[1].due_offset_minutes'] select").select_option("days")
    up = page.get_by_role("button", name="Move step 2 (Create a task) up")
    await up.focus()
    await page.keyboard.press("Enter")
    steps = page.locator("ol.steps > li")
    await expect(steps.nth(0)).to_have_attribute("data-kind", "create_task")
    await expect(steps.nth(1)).to_have_attribute("data-kind", "send_sms")
    # The focus follows the moved step (its "up" is now disabled, so the next tool has it).
    await expect(
        page.get_by_role("button", name="Move step 1 (Create a task) down")
    ).to_be_focused()

    # A wait with no time yet is refused; the refusal sits at the field it names.
    await kind.select_option("wait")
    await page.get_by_role("button", name="Add a step", exact=True).click()
    await page.locator("[data-field='steps[2]'] select").first.select_option("moment")
    await both_sizes(page, "workflow-editor", at="[data-field='steps']")
    await page.get_by_role("button", name="Save").click()
    refusal = page.locator("[data-field='steps[2].until'] .field-error")
    await expect(refusal).to_be_visible()
    await expect(page.locator("#save-problem")).to_contain_text("steps[2].until")
    await expect(page.locator("#save-state")).to_have_text("Not saved")
    await page.get_by_role("button", name="Remove step 3 (Wait)").click()

    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#save-state")).to_have_text("Saved · version 1")
    await expect(page.get_by_role("heading", name=name)).to_be_visible()
    assert "/workflows/" in page.url

    listed = await call(live_server, boss, "GET", "/workflows")
    saved = next(w for w in listed["items"] if w["name"] == name)
    assert saved["enabled"] is True
    assert saved["trigger"] == {"type": "account.days_past_due", "days": 45, "bucket": None}
    assert saved["conditions"] == ["account.balance_minor > 0"]
    assert [s["kind"] for s in saved["steps"]] == ["create_task", "send_sms"]
    assert saved["steps"][0]["due_offset_minutes"] == 2 * 1440
    assert saved["steps"][0]["title"] == "Call about the balance"

    await page.get_by_role("link", name="← Workflows").click()
    row = page.locator("#workflow-list tr", has_text=name)
    await expect(row).to_contain_text("on")
    await expect(row).to_contain_text("An account reaches 45 days past due")
    await both_sizes(page, "workflows")
    no_errors(page, "422 /api/v1/workflows")


async def test_the_json_view_and_the_form_edit_one_workflow(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    boss = tenant.supervisor
    template = await sms_template(live_server, boss, "We miss you, {{ debtor.first_name }}.")
    page = await open_app(browser, live_server, boss)
    await page.goto(f"{live_server}/workflows/new")
    name = f"Letter test {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Name", exact=True).fill(name)

    # What the form holds is in the JSON.
    await page.get_by_role("button", name="JSON").click()
    text = page.locator("#workflow-json")
    assert json.loads(await text.input_value())["name"] == name

    # Bad JSON is named and the form keeps the last good version.
    await text.fill('{"name": ')
    await expect(page.locator("#workflow-json-state")).to_contain_text("Not valid JSON")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#save-problem")).to_contain_text("not a valid workflow")
    await expect(text).to_be_focused()

    # JSON the form cannot show as fields is shown for what it is, without failing.
    odd = {
        "name": name,
        "trigger": {"type": "no.such.trigger"},
        "steps": [
            {"kind": "teleport"},
            {"kind": "create_task", "strategy": "nobody"},
            {"kind": "branch", "arms": [None, {"name": "B", "weight": "x", "steps": [None]}]},
        ],
    }
    await text.fill(json.dumps(odd))
    await page.get_by_role("button", name="Form").click()
    await expect(page.locator("ol.steps > li").first).to_contain_text(
        'Unknown step kind "teleport"'
    )
    await expect(page.locator("fieldset.arm")).to_have_count(1)
    await expect(page.get_by_text("Arm 1 is not an object")).to_be_visible()
    await page.get_by_role("button", name="JSON").click()

    # A valid edit goes to the form: conditions, a branch with two arms, a wait.
    definition = {
        "name": name,
        "enabled": False,
        "trigger": {"type": "account.bucket_entered", "bucket": "31-60"},
        "conditions": ["account.days_past_due >= 31"],
        "steps": [
            {
                "kind": "branch",
                "arms": [
                    {
                        "name": "Friendly",
                        "weight": 3,
                        "steps": [{"kind": "send_sms", "template_id": template["id"]}],
                    },
                    {"name": "Firm", "weight": 1, "steps": [{"kind": "wait", "minutes": 120}]},
                ],
            }
        ],
    }
    await text.fill(json.dumps(definition))
    await expect(page.locator("#workflow-json-state")).to_have_text("In step with the form.")
    await page.get_by_role("button", name="Form").click()
    await expect(page.get_by_label("Trigger")).to_have_value("account.bucket_entered")
    await expect(page.get_by_label("Condition 1", exact=True)).to_have_value(
        "account.days_past_due >= 31"
    )
    arms = page.locator("fieldset.arm")
    await expect(arms).to_have_count(2)
    await expect(arms.nth(0)).to_contain_text("75% of accounts")
    await expect(arms.nth(1)).to_contain_text("25% of accounts")
    await expect(arms.nth(1).locator("[data-field$='.minutes'] select")).to_have_value("hours")
    await expect(arms.nth(1).locator("[data-field$='.minutes'] input")).to_have_value("2")

    # And back: a change in the form is in the JSON.
    await arms.nth(1).get_by_label("Weight").fill("3")
    await expect(arms.nth(1)).to_contain_text("50% of accounts")
    await page.get_by_label("Enabled").check()
    await both_sizes(page, "workflow-arms", at="[data-field='steps']")
    await page.get_by_role("button", name="JSON").click()
    shown = json.loads(await text.input_value())
    assert shown["steps"][0]["arms"][1]["weight"] == 3
    assert shown["enabled"] is True
    await both_sizes(page, "workflow-json")

    # Saved from the JSON view, it is what the JSON said.
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#save-state")).to_have_text("Saved · version 1")
    listed = await call(live_server, boss, "GET", "/workflows")
    saved = next(w for w in listed["items"] if w["name"] == name)
    assert saved["trigger"]["bucket"] == "31-60"
    assert [a["weight"] for a in saved["steps"][0]["arms"]] == [3, 3]

    # Deleting asks first.
    await page.get_by_role("button", name="Delete…").click()
    await expect(page.get_by_role("button", name="Keep it")).to_be_focused()
    await page.get_by_role("button", name="Delete", exact=True).click()
    await expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    await expect(page.locator("main")).not_to_contain_text(name)
    no_errors(page)


async def test_only_supervisors_and_admins_are_offered_the_workflows(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    collector = await open_app(browser, live_server, tenant.collector)
    await expect(collector.get_by_role("link", name="Accounts")).to_be_visible()
    await expect(collector.get_by_role("link", name="Workflows")).to_be_hidden()
    # Typed in by hand, the screen says why not, in words.
    await collector.goto(f"{live_server}/workflows")
    await expect(collector.locator(".problem")).to_contain_text("a collector may not do this")
    no_errors(collector, "403 /api/v1/workflows")


async def test_a_template_is_checked_and_previewed_for_an_account(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    page = await open_app(browser, live_server, tenant.supervisor)
    await page.goto(f"{live_server}/templates")
    await page.get_by_role("link", name="New template").click()
    name = f"Balance reminder {uuid.uuid4().hex[:6]}"
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Channel").select_option("email")
    await page.get_by_label("Subject").fill("Your balance with {{ tenant.name }}")
    body = page.get_by_label("Body")
    await body.fill("Dear {{ debter.first_name }}, you owe {{ account.balance }}.")
    await page.get_by_role("button", name="Save").click()
    refusal = page.locator("[data-field='body'] .field-error")
    await expect(refusal).to_contain_text("debter")
    await expect(body).to_be_focused()

    await body.fill("Dear {{ debtor.first_name }}, you owe {{ account.balance }}.")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name=name)).to_be_visible()
    await expect(page.get_by_label("Channel")).to_be_disabled()

    await page.get_by_label("Find an account").fill(account.external_ref)
    await expect(page.locator("#preview-account option")).to_have_count(1)
    await page.get_by_role("button", name="Preview").click()
    preview = page.locator("#template-preview")
    await expect(preview).to_contain_text("Dear Pat, you owe $1,075.00.")
    await expect(preview).to_contain_text("Your balance with")
    await expect(preview).to_contain_text("@example.com")
    await both_sizes(page, "template")

    await page.get_by_role("link", name="← Templates").click()
    await expect(page.locator("#template-list")).to_contain_text(name)
    await both_sizes(page, "templates")
    no_errors(page, "422 /api/v1/templates")


async def test_a_payment_runs_a_workflow_seen_in_mailbox_runs_and_timeline(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    boss, account = tenant.supervisor, tenant.accounts[1]
    template = await sms_template(
        live_server, boss, "Thank you {{ debtor.first_name }}: {{ payment.amount }} received."
    )
    name = f"Thank the payer {uuid.uuid4().hex[:6]}"
    flow = await call(
        live_server,
        boss,
        "POST",
        "/workflows",
        {
            "name": name,
            "enabled": True,
            "trigger": {"type": "payment.received"},
            "conditions": [f"account.id == {account.id}"],
            "steps": [
                {"kind": "send_sms", "template_id": template["id"]},
                {
                    "kind": "branch",
                    "arms": [
                        {"name": "Call", "weight": 1, "steps": [{"kind": "create_task"}]},
                        {"name": "Quiet", "weight": 1, "steps": []},
                    ],
                },
            ],
        },
    )
    await call(
        live_server,
        boss,
        "POST",
        f"/accounts/{account.id}/payments",
        {"amount": "40.00", "currency": "USD"},
        **{"Idempotency-Key": f"thanks-{tenant.id}"},
    )

    page = await open_app(browser, live_server, boss)
    await page.goto(f"{live_server}/messages")
    sent = page.locator("#mailbox li.message", has_text="Thank you Pat: $40.00 received.")
    for _ in range(60):
        if await sent.count() and await sent.get_attribute("data-status") == "sent":
            break
        await page.get_by_role("button", name="Refresh").click()
        await page.wait_for_timeout(500)
    await expect(sent).to_have_attribute("data-status", "sent")
    await expect(sent).to_contain_text("+15555550100")
    await expect(sent.get_by_role("link", name=account.external_ref)).to_be_visible()
    await both_sizes(page, "mailbox")

    # The workflow's runs: the run, its steps, the arms' report.
    await page.goto(f"{live_server}/workflows/{flow['id']}/runs")
    run = page.locator("#runs li.run").first
    await expect(run).to_contain_text("payment received")
    await run.locator("summary").click()
    await expect(run.locator("ol.run-steps")).to_contain_text("Send a text (SMS)")
    await expect(page.locator("#arm-report")).to_contain_text("Call")
    await expect(page.locator("#arm-report")).to_contain_text("Quiet")
    await both_sizes(page, "workflow-runs")

    # The account's timeline: the run and the message it sent, beside the interactions.
    await page.goto(f"{live_server}/accounts/{account.id}")
    timeline = page.locator("#account-runs li.run", has_text=name)
    await expect(timeline).to_contain_text(name)
    await expect(timeline.locator("li.message")).to_contain_text("$40.00 received")
    await expect(page.locator("#timeline")).to_contain_text("sms")
    await both_sizes(page, "account-workflows", at="#account-runs")
    no_errors(page)


async def test_a_run_appears_on_the_open_account_as_it_starts(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    boss, account = tenant.supervisor, tenant.accounts[2]
    name = f"Wait and see {uuid.uuid4().hex[:6]}"
    # A run that only waits: no task, no message, nothing else on the account moves.
    await call(
        live_server,
        boss,
        "POST",
        "/workflows",
        {
            "name": name,
            "enabled": True,
            "trigger": {"type": "payment.received"},
            "conditions": [f"account.id == {account.id}"],
            "steps": [{"kind": "wait", "minutes": 60}],
        },
    )
    page = await open_app(browser, live_server, boss)
    await page.goto(f"{live_server}/accounts/{account.id}")
    await expect(page.locator("#account-runs")).to_be_visible()
    await expect(page.locator("#account-runs li.run", has_text=name)).to_have_count(0)
    await call(
        live_server,
        boss,
        "POST",
        f"/accounts/{account.id}/payments",
        {"amount": "5.00", "currency": "USD"},
        **{"Idempotency-Key": f"wait-{tenant.id}"},
    )
    run = page.locator("#account-runs li.run", has_text=name)
    await expect(run).to_be_visible(timeout=10_000)
    await expect(run).to_contain_text("waiting")
    no_errors(page)
