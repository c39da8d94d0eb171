"""The admin console end to end, as an agency's operations lead uses it, never opening a
terminal: a group and a collector made on screen, the collector signed in in a browser of
their own; a task rule built with the condition builder (the preview count following the
conditions), saved and run, its tasks arriving on the collector's queue; the contact hours
shortened in the tenant settings, and the collector's "Call now" turning to "No call
until" without a reload; the collector deactivated, and their open page signed out."""

from __future__ import annotations

import datetime as dt
import re

from playwright.async_api import Browser, expect

from domain.debtors.schemas import DebtorCreate
from tests.e2e.test_admin_rules import condition
from tests.e2e.test_admin_settings import EARLIER_END, evening_zone
from tests.e2e.test_admin_users import SIGNED_OUT, add_group, open_page
from tests.factories import SeededTenant
from tests.integration.test_admin_users_api import STRONG


async def test_an_admin_sets_up_a_collector_and_their_work_on_screens_alone(
    browser: Browser, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    base = live_server
    zone = evening_zone()  # 19:xx there: calls allowed until 21:00, not until 19:00
    late = dt.date.today() - dt.timedelta(days=75)
    for last in ("Ning", "Vesper"):
        await tenant.account(
            due_date=late,
            debtor=DebtorCreate(
                first_name="Eve", last_name=last, phone="+15555550111", time_zone=zone
            ),
        )

    # A group, then a collector in it with a capacity.
    admin = await open_page(browser, base, tenant.admin.email, tenant.admin.password)
    await admin.goto(f"{base}/admin/groups")
    await add_group(admin, "Evening shift")
    await (
        admin.get_by_role("navigation", name="Admin sections")
        .get_by_role("link", name="Users")
        .click()
    )
    form = admin.locator("#add-user")
    address = f"cleo@{tenant.slug}.test"
    await form.get_by_label("Name").fill("Cleo Barros")
    await form.get_by_label("E-mail").fill(address)
    await form.get_by_label("Role").select_option("collector")
    await form.get_by_label("Group").select_option(label="Evening shift")
    await form.get_by_label("Capacity").fill("5")
    await form.get_by_label("First password").fill(STRONG)
    await form.get_by_role("button", name="Add user").click()
    row = admin.locator("#users tbody tr", has_text=address)
    await expect(row).to_contain_text("Evening shift")

    # Cleo signs in and opens her queue: nothing yet.
    cleo = await open_page(browser, base, address, STRONG)
    await expect(cleo).to_have_url(f"{base}/queue")
    await expect(cleo.locator("rc-connection")).to_have_attribute(
        "data-state", "live", timeout=20_000
    )
    await expect(cleo.locator("#task-list")).to_contain_text("No tasks")

    # A rule for the accounts 70 days late or more, given to Cleo.
    await (
        admin.get_by_role("navigation", name="Admin sections")
        .get_by_role("link", name="Task rules")
        .click()
    )
    await admin.get_by_role("link", name="New rule").click()
    count = admin.locator("#preview-count")
    await admin.get_by_role("button", name="Add condition").click()
    await condition(admin, 1, "days_past_due", "at_least")
    days = admin.get_by_label("Condition 1: value")
    await days.fill("70")
    await expect(count).to_have_attribute("data-count", "2")
    await days.fill("1000")
    await expect(count).to_have_attribute("data-count", "0")
    await days.fill("70")
    await expect(count).to_have_attribute("data-count", "2")
    await admin.get_by_label("Name").fill("Long overdue")
    await admin.get_by_label("Strategy").select_option("agent")
    await admin.get_by_label("Agent", exact=True).select_option(label="Cleo Barros")
    await admin.get_by_role("button", name="Create rule").click()
    await expect(admin).to_have_url(re.compile(r"/admin/rules/\d+$"))
    await admin.get_by_role("button", name="Run now").click()
    await expect(admin.locator(".save-state")).to_have_text("Run: 2 tasks created.")

    # On Cleo's queue without a reload; her debtors may be called now (20:xx their time).
    tasks = cleo.locator("#task-list li")
    await expect(tasks).to_have_count(2, timeout=20_000)
    for n in range(2):
        await expect(tasks.nth(n)).to_contain_text("Call now")

    # Calls end at 19:00 from now on: her rows say when calls open again, still no reload.
    await (
        admin.get_by_role("navigation", name="Admin sections")
        .get_by_role("link", name="Tenant settings")
        .click()
    )
    ends = admin.get_by_label("Contact ends at")
    await expect(ends).to_have_value("21:00")
    await ends.fill(EARLIER_END)
    await admin.locator("#save-contact").click()
    await expect(admin.locator("#contact-status")).to_contain_text("Saved")
    for n in range(2):
        await expect(tasks.nth(n)).to_contain_text("No call until", timeout=20_000)

    # Deactivated: her open page signs out at once.
    await (
        admin.get_by_role("navigation", name="Admin sections")
        .get_by_role("link", name="Users")
        .click()
    )
    await row.get_by_role("button", name="Manage").click()
    editor = admin.locator("#user-editor")
    await editor.get_by_role("button", name="Deactivate…").click()
    await editor.get_by_role("button", name="Deactivate", exact=True).click()
    await expect(row).to_contain_text("deactivated")
    await expect(cleo).to_have_url(SIGNED_OUT, timeout=20_000)
    assert not admin.errors  # type: ignore[attr-defined]
    assert not cleo.errors  # type: ignore[attr-defined]
    await cleo.context.close()
    await admin.context.close()
