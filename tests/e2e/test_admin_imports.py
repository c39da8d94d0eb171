"""The admin console's Imports in a real browser: a CSV file with a few bad rows uploaded,
its columns mapped on screen, its first rows previewed as they will be stored, the mapping
saved under a name, the import started and followed live by a real worker to its end, the
counts shown, the rejected rows downloaded and read; the history lists it and opens it; a
collector gets no access."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_login import sign_in
from tests.e2e.test_queue import call
from tests.e2e.test_workflow_screens import both_sizes
from tests.factories import SeededTenant

DESKTOP = {"width": 1366, "height": 860}
# A client's own columns: a quoted name with a comma, day-first dates, two bad rows
# (row 3: an amount with a decimal comma; row 4: a currency that is none; row 5: a date that
# does not exist).
PLACEMENTS = (
    "Ref,Customer,First,Last,Balance,Cur,Due\r\n"
    'IMP-1,C-1,Ann,"Lee, Jr.",120.50,EUR,31/01/2026\r\n'
    'IMP-2,C-2,Bob,Ray,"12,00",EUR,28/02/2026\r\n'
    "IMP-3,C-3,Cat,Fox,99.99,ZZZ,15/03/2026\r\n"
    "IMP-4,C-4,Dan,Orr,10,EUR,31/02/2026\r\n"
    'IMP-5,C-1,Ann,"Lee, Jr.",5,USD,01/04/2026\r\n'
)
MAPPED = {
    "Account reference (required)": "Ref",
    "Debtor reference (required)": "Customer",
    "Principal (required)": "Balance",
    "Currency (required)": "Cur",
    "Due date": "Due",
    "First name": "First",
    "Last name": "Last",
}


async def rejected_rows(page: Page) -> list[list[str]]:
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download rejected rows (CSV)").click()
    download = await info.value
    assert download.suggested_filename.endswith("-rejected.csv")
    text = (await asyncio.to_thread(Path(await download.path()).read_bytes)).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


LONG_NAME = (
    "northbank_collections_daily_placements_portfolio_20261203_batch_000001_of_000004_"
    "retail_cards_and_personal_loans_charged_off_before_2024_reassigned_from_agency_7_final.csv"
)


async def test_an_admin_maps_previews_saves_and_runs_an_import(
    page: Page, live_server: str, relay, worker, tenant: SeededTenant, tmp_path: Path
) -> None:
    base = live_server
    # A long name, with no space or dash to break at, as files from other systems are named.
    placements = tmp_path / LONG_NAME
    placements.write_text(PLACEMENTS, encoding="utf-8")
    await sign_in(page, base, tenant.admin.email, tenant.admin.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    await page.goto(f"{base}/admin/imports")
    await expect(page.get_by_role("heading", name="New import")).to_be_visible()
    await expect(page.get_by_role("link", name="Imports", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    await expect(page.locator("#import-history")).to_contain_text("No imports yet.")

    # Starting without a file is refused beside the file input.
    await page.get_by_role("button", name="Start import").click()
    await expect(page.locator("[data-field='file'] .field-error")).to_be_visible()

    await page.get_by_label("CSV file").set_input_files(str(placements))
    for label, column in MAPPED.items():
        await page.get_by_label(label).select_option(column)
    await page.get_by_label("Date format").select_option("%d/%m/%Y")
    await page.get_by_label("Default currency").fill("eur")
    await expect(page.get_by_label("Default currency")).to_have_value("EUR")

    # The preview, read by the server: five rows, quoted fields whole, values as they would
    # be stored, and each refused row with its reasons.
    preview = page.locator("table.preview-rows")
    await expect(preview.locator("tbody tr")).to_have_count(5)
    first = preview.locator("tbody tr").first
    await expect(first).to_contain_text("Lee, Jr.")
    await expect(first).to_contain_text("120.50")
    await expect(first).to_contain_text("2026-01-31")
    await expect(first.locator(".row-problems")).to_have_text("ok")
    await expect(preview.locator("tbody tr").nth(1).locator(".row-problems")).to_contain_text(
        "Balance: '12,00' is not a plain decimal"
    )
    await expect(preview.locator("tbody tr").nth(2).locator(".row-problems")).to_contain_text(
        "Cur: 'ZZZ' is not an ISO 4217 currency in use"
    )
    await expect(preview.locator("tr.refused")).to_have_count(3)

    # A mapping without a name is refused beside the name; then saved under one.
    await page.get_by_role("button", name="Save mapping").click()
    await expect(page.locator("[data-field='name'] .field-error")).to_be_visible()
    await page.get_by_label("Save this mapping as").fill("DebtFlow daily")
    await page.get_by_role("button", name="Save mapping").click()
    await expect(page.locator(".saved-note")).to_contain_text("Saved as “DebtFlow daily”")
    presets = await call(base, tenant.admin, "GET", "/import-mappings")
    [saved] = [p for p in presets["items"] if p["name"] == "DebtFlow daily"]
    assert saved["mapping"]["columns"]["principal"] == "Balance"
    assert saved["mapping"]["date_format"] == "%d/%m/%Y"
    assert saved["mapping"]["default_currency"] == "EUR"
    await expect(page.get_by_label("Mapping", exact=True)).to_have_value(str(saved["id"]))

    await both_sizes(page, "admin-import", whole=True)

    # Started: the import's page follows it live to its end.
    await page.get_by_role("button", name="Start import").click()
    await page.wait_for_url(re.compile(r".*/admin/imports/\d+$"))
    await expect(page.locator(".import-title .badge")).to_have_text("done", timeout=30_000)
    import_id = int(page.url.rsplit("/", 1)[1])
    counts = page.locator(".import-counts")
    await expect(counts.locator("[data-count=kind]")).to_have_text("Debtors and accounts")
    await expect(counts.locator("[data-count=read]")).to_have_text("5")
    await expect(counts.locator("[data-count=written]")).to_contain_text("2 (2 new, 0 updated)")
    await expect(counts.locator("[data-count=rejected]")).to_have_text("3")
    await expect(page.locator("#import-progress")).to_have_js_property("value", 1)
    done = await call(base, tenant.admin, "GET", f"/imports/{import_id}")
    assert (done["mapping_id"], done["rows_created"], done["rows_rejected"]) == (saved["id"], 2, 3)

    rows = await rejected_rows(page)
    assert rows[0] == ["row", "column", "reason"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("3", "Balance"), ("4", "Cur"), ("5", "Due")]
    assert "plain decimal" in rows[1][2]
    assert "ZZZ" in rows[2][2]
    assert "31/02/2026" in rows[3][2]

    # The history lists it, by whom, and opens it.
    await page.get_by_role("link", name="← All imports").click()
    row = page.locator("#import-history tbody tr").first
    await expect(row).to_contain_text(LONG_NAME)
    # It wraps inside its column: the table still fits the desktop's page, without a scroll.
    scroll = page.locator("#import-history .table-scroll")
    assert await scroll.evaluate("(el) => el.scrollWidth <= el.clientWidth")
    await page.locator("#import-history").scroll_into_view_if_needed()
    await screenshot(page, "admin-import-history")
    await expect(row.locator("[data-label=Who]")).to_have_text(
        (await call(base, tenant.admin, "GET", "/users/me"))["name"]
    )
    await expect(row.locator("[data-label=Holds]")).to_have_text("Debtors and accounts")
    await expect(row.locator("[data-label=Status]")).to_have_text("done")
    await expect(row.locator("[data-label=Written]")).to_have_text("2")
    await expect(row.locator("[data-label=Rejected]")).to_have_text("3")
    await row.get_by_role("link", name=LONG_NAME).click()
    await expect(page).to_have_url(f"{base}/admin/imports/{import_id}")
    await expect(page.locator(".import-counts [data-count=rejected]")).to_have_text("3")


async def test_a_collector_gets_no_access_to_imports(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    base = live_server
    async with httpx.AsyncClient(base_url=base, headers=tenant.collector.headers) as http:
        assert (await http.get("/api/v1/imports")).status_code == 403
        assert (await http.get("/api/v1/import-mappings")).status_code == 403
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    try:
        await sign_in(page, base, tenant.collector.email, tenant.collector.password)
        await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
        await page.goto(f"{base}/admin/imports")
        await expect(page.locator("#screen [role=alert]").first).to_be_visible()
        await expect(page.get_by_role("heading", name="New import")).to_have_count(0)
        await expect(page.get_by_label("CSV file")).to_have_count(0)
    finally:
        await context.close()


async def test_a_saved_mapping_fills_the_form_and_a_file_without_its_column_fails(
    page: Page, live_server: str, relay, worker, tenant: SeededTenant, tmp_path: Path
) -> None:
    base = live_server
    columns = {"account_ref": "Ref", "debtor_ref": "Customer", "principal": "Balance"}
    mapping = {"columns": columns, "default_currency": "USD", "delimiter": ";"}
    preset = await call(
        base, tenant.admin, "POST", "/import-mappings", {"name": "Semicolons", "mapping": mapping}
    )
    placements = tmp_path / "no-balance.csv"
    placements.write_text("Ref;Customer;Amount\r\nS-1;D-1;10\r\n", encoding="utf-8")
    await sign_in(page, base, tenant.admin.email, tenant.admin.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    await page.goto(f"{base}/admin/imports")
    await page.get_by_label("CSV file").set_input_files(str(placements))
    await page.get_by_label("Mapping", exact=True).select_option(str(preset["id"]))
    await expect(page.get_by_label("Delimiter")).to_have_value(";")
    await expect(page.get_by_label("Default currency")).to_have_value("USD")
    await expect(page.get_by_label("Account reference (required)")).to_have_value("Ref")
    # The preset's column is offered though the file lacks it; the preview says so.
    await expect(page.get_by_label("Principal (required)")).to_have_value("Balance")
    await expect(page.locator(".import-preview .missing-column")).to_contain_text(
        "no column “Balance” (for principal)"
    )
    await expect(page.locator("table.preview-rows tbody tr")).to_have_count(1)

    await page.get_by_role("button", name="Start import").click()
    await expect(page.locator(".import-title .badge")).to_have_text("failed", timeout=30_000)
    await expect(page.locator(".import-result .problem")).to_contain_text("'Balance'")
    await expect(page.get_by_role("button", name="Download rejected rows (CSV)")).to_have_count(0)
    import_id = int(page.url.rsplit("/", 1)[1])
    failed = await call(base, tenant.admin, "GET", f"/imports/{import_id}")
    assert (failed["mapping_id"], failed["status"], failed["rows_read"]) == (
        preset["id"],
        "failed",
        0,
    )
