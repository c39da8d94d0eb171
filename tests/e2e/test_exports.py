"""The accounts screen's "Export CSV": the file of the accounts the filters match."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_workflow_screens import no_errors, open_app
from tests.factories import SeededTenant


async def test_export_downloads_the_filtered_accounts(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    await tenant.account(external_ref="=FORMULA-1", status="disputed")
    page = await open_app(browser, live_server, tenant.admin)
    await page.goto(f"{live_server}/accounts")
    export = page.get_by_role("link", name="Export CSV")
    await expect(export).to_be_visible()

    async def downloaded() -> tuple[str, list[dict[str, str]]]:
        async with page.expect_download() as info:
            await export.click()
        download = await info.value
        text = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode()
        return download.suggested_filename, list(csv.DictReader(io.StringIO(text)))

    name, rows = await downloaded()
    assert name.startswith("accounts-")
    assert name.endswith(".csv")
    assert sorted(r["external_ref"] for r in rows) == sorted(
        ["'=FORMULA-1", *(a.external_ref for a in tenant.accounts[:3])]
    )

    # The current filters, as typed and chosen (not yet applied), go with the file.
    await page.locator("#f-status").select_option("disputed")
    _, rows = await downloaded()
    assert [r["external_ref"] for r in rows] == ["'=FORMULA-1"]
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("tbody tr")).to_have_count(1)
    for size, suffix in (
        ({"width": 1366, "height": 860}, ""),
        ({"width": 390, "height": 844}, "-phone"),
    ):
        await page.set_viewport_size(size)
        await page.evaluate("scrollTo(0, 0)")
        await screenshot(page, f"accounts-export{suffix}")
    # Filters that match nothing say so, with a way back to every account.
    await page.set_viewport_size({"width": 1366, "height": 860})
    await page.locator("#f-q").fill("no such debtor anywhere")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("#accounts-empty")).to_contain_text(
        "No account matches these filters."
    )
    await screenshot(page, "accounts-none-match")
    await page.get_by_role("button", name="Clear the filters").click()
    await expect(page.locator("tbody tr")).to_have_count(4)
    await expect(page.locator("#f-status")).to_have_value("")
    no_errors(page)
