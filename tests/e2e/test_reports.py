"""The report screens in a real browser: each shows a chart and a table, and its "Download
CSV" file holds exactly the table's cells; the period form reloads the report; collectors
do not see the screens. Screenshots of each at desktop and phone size."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_workflow_screens import WIDER_THAN_SCREEN, no_errors, open_app
from tests.factories import SeededTenant

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
TITLES = {
    "aging": "Aging",
    "liquidation": "Liquidation",
    "promises": "Promises kept",
    "collectors": "Collectors",
}
KINDS = tuple(TITLES)
FORMULA = ("=", "+", "-", "@", "\t", "\r")


async def seed(tenant: SeededTenant) -> None:
    """A few months of work: accounts in two currencies, payments, promises, calls, tasks."""
    today = dt.date.today()
    await tenant.account(
        currency="EUR", principal=Decimal("800.00"), due_date=today - dt.timedelta(days=75)
    )
    await tenant.account(due_date=today - dt.timedelta(days=200))
    agents = [tenant.collector.id, tenant.other_collector.id]
    now = dt.datetime.now(dt.UTC)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET name = '@Sam Formula' WHERE id = $1", agents[1])
        for n, account in enumerate(tenant.accounts):
            placed = now - dt.timedelta(days=40 * n)
            await conn.execute(
                "UPDATE accounts SET created_at = $1 WHERE id = $2", placed, account.id
            )
            for k in range(n + 2):
                at = now - dt.timedelta(days=k * 9 * (n % 3), hours=n)
                by = agents[(n + k) % 2]
                await conn.execute(
                    """INSERT INTO payments (tenant_id, account_id, amount, currency, status,
                      method, source, created_by, received_at)
                    VALUES ($1, $2, $3, $4, 'succeeded', 'cash', 'staff', $5, $6)""",
                    tenant.id,
                    account.id,
                    Decimal(25 * (k + 1)),
                    account.currency,
                    by,
                    at,
                )
                await conn.execute(
                    """INSERT INTO promises (tenant_id, account_id, amount, currency, due_date,
                      status, created_by, created_at)
                    VALUES ($1, $2, 40, $3, $4, $5, $6, $7)""",
                    tenant.id,
                    account.id,
                    account.currency,
                    at.date() + dt.timedelta(days=5),
                    ("kept", "broken", "pending")[(n + k) % 3],
                    by,
                    at,
                )
                await conn.execute(
                    """INSERT INTO interactions (tenant_id, account_id, debtor_id, user_id,
                      channel, direction, disposition, occurred_at)
                    VALUES ($1, $2, $3, $4, 'call', 'outbound', $5, $6)""",
                    tenant.id,
                    account.id,
                    account.debtor_id,
                    by,
                    ("right_party_contact", "no_answer")[k % 2],
                    at,
                )
                await conn.execute(
                    """INSERT INTO tasks (tenant_id, account_id, status, assignee_id, started_at,
                      completed_at)
                    VALUES ($1, $2, 'completed', $3, $4, $5)""",
                    tenant.id,
                    account.id,
                    by,
                    at - dt.timedelta(seconds=60 * (k + 2)),
                    at,
                )


async def shown_table(page: Page) -> list[list[str]]:
    return await page.evaluate(
        """() => {
          const table = document.querySelector("#report-table");
          const header = [...table.querySelectorAll("thead th")].map((c) => c.textContent);
          const rows = [...table.querySelectorAll("tbody tr")]
            .map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent));
          return [header, ...rows];
        }"""
    )


async def downloaded(page: Page) -> list[list[str]]:
    async with page.expect_download() as info:
        await page.locator("#download-csv").click()
    path = await (await info.value).path()
    text = (await asyncio.to_thread(Path(path).read_bytes)).decode("utf-8")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text)))
    # The CSV writes a name a spreadsheet would take for a formula after an apostrophe.
    return [
        [c[1:] if c.startswith("'") and c[1:].startswith(FORMULA) else c for c in r] for r in rows
    ]


async def both_sizes(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        await page.set_viewport_size(size)
        # Opened at this size: the chart is drawn for the screen it opens on.
        await page.reload()
        await expect(page.locator("svg.chart").first).to_be_visible()
        await page.evaluate("document.activeElement.blur(); scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"))
        wide = await page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (name, size, wide)
    await page.set_viewport_size(DESKTOP)
    await page.reload()
    await expect(page.locator("svg.chart").first).to_be_visible()


async def test_each_report_shows_a_chart_and_the_table_its_csv_holds(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    await seed(tenant)
    page = await open_app(browser, live_server, tenant.supervisor)
    await page.set_viewport_size(DESKTOP)
    await page.get_by_role("link", name="Reports").click()
    await expect(page.get_by_role("heading", name="Aging")).to_be_visible()
    for kind in KINDS:
        await page.locator(".report-nav a", has_text=TITLES[kind]).click()
        await expect(page.locator("#report-title")).to_have_text(TITLES[kind])
        await expect(page).to_have_url(f"{live_server}/reports/{kind}")
        await expect(page.locator("svg.chart").first).to_be_visible()
        assert await page.locator("svg.chart rect.bar").count() > 0
        table = await shown_table(page)
        assert len(table) > 1
        assert await downloaded(page) == table, kind
        await both_sizes(page, f"reports-{kind}")
    # The formula-like name is on screen as it is.
    assert "@Sam Formula" in [row[0] for row in await shown_table(page)]

    # Another period: the address, the table and the file follow it.
    today = dt.date.today()
    await page.locator("#report-from").fill(today.isoformat())
    await page.locator("#report-to").fill(today.isoformat())
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#report-when")).to_contain_text(f"{today} to {today}")
    assert f"from={today}" in page.url
    table = await shown_table(page)
    assert await downloaded(page) == table
    no_errors(page)


async def test_collectors_have_no_reports(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    page = await open_app(browser, live_server, tenant.collector)
    await expect(page.get_by_role("link", name="Reports")).to_be_hidden()
    await page.goto(f"{live_server}/reports/aging")
    await expect(page.locator(".problem")).to_be_visible()
    no_errors(page, "403 /api/v1/reports/aging")
