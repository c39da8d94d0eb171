"""The admin console's Custom fields in a real browser: an admin defines a select field of
accounts and a computed one, sees them listed, changes one, is refused (with the count,
beside the options) an option some stored value still uses, removes one; a collector
reads the definitions but gets no admin screen and may not change them."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.e2e.test_queue import call
from tests.factories import SeededTenant

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 860}


async def test_an_admin_defines_changes_and_removes_custom_fields(
    page: Page, live_server: str, tenant: SeededTenant
) -> None:
    base = live_server
    await sign_in(page, base, tenant.admin.email, tenant.admin.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    await page.goto(f"{base}/admin")
    await page.get_by_role("link", name="Custom fields").click()
    await expect(page).to_have_url(f"{base}/admin/fields")
    await expect(page.locator("#fields")).to_contain_text("No custom fields yet.")

    add = page.locator("#add-field")
    # A select without options is refused beside its options.
    await add.get_by_label("Key").fill("tier")
    await add.get_by_label("Label").fill("Tier")
    await add.get_by_label("Type").select_option("select")
    await add.get_by_role("button", name="Add field").click()
    await expect(add.locator("[data-field=options] .field-error")).to_contain_text("at least one")
    await add.get_by_label("Options").fill("gold\nsilver\nbronze")
    await add.get_by_role("button", name="Add field").click()
    row = page.locator("#fields tbody tr", has_text="custom.tier")
    await expect(row).to_contain_text("One of a list")
    await expect(row).to_contain_text("gold, silver, bronze")
    await expect(page.locator("#field-editor")).to_be_visible()
    await page.locator("#field-editor").get_by_role("button", name="Close").click()

    await add.get_by_label("Key").fill("large")
    await add.get_by_label("Label").fill("Large balance")
    await add.get_by_label("Type").select_option("computed")
    await expect(add.get_by_label("Options")).to_be_hidden()
    await add.get_by_label("Expression").fill("account.balance_minor >= 100000")
    await add.get_by_role("button", name="Add field").click()
    await expect(page.locator("#fields tbody tr", has_text="custom.large")).to_contain_text(
        "account.balance_minor >= 100000"
    )
    await page.locator("#field-editor").get_by_role("button", name="Close").click()

    # Two accounts hold "bronze": taking the option away is refused with their count.
    for account in tenant.accounts[:2]:
        await call(
            base, tenant.admin, "PATCH", f"/accounts/{account.id}", {"custom": {"tier": "bronze"}}
        )
    await row.get_by_role("button", name="Change").click()
    editor = page.locator("#field-editor")
    await expect(editor.get_by_role("heading", name="Tier")).to_be_visible()
    await editor.get_by_label("Options").fill("gold\nsilver")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(editor.locator("[data-field=options] .field-error")).to_contain_text(
        "2 accounts hold a value"
    )
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        await page.set_viewport_size(size)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / f"admin-fields{suffix}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)
    await editor.get_by_label("Options").fill("gold\nsilver\nbronze\nplatinum")
    await editor.get_by_label("Label").fill("Client tier")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(page.locator("#fields tbody tr", has_text="custom.tier")).to_contain_text(
        "Client tier"
    )
    fields = await call(base, tenant.admin, "GET", "/custom-fields")
    assert [(f["key"], f["options"]) for f in fields["items"] if f["key"] == "tier"] == [
        ("tier", ["gold", "silver", "bronze", "platinum"])
    ]

    editor = page.locator("#field-editor")
    await editor.get_by_role("button", name="Remove field…").click()
    await editor.get_by_role("button", name="Remove field", exact=True).click()
    await expect(page.locator("#fields tbody tr", has_text="custom.tier")).to_have_count(0)
    await expect(page.locator("#fields tbody tr")).to_have_count(1)


async def test_an_import_maps_a_column_to_a_custom_field_and_previews_it(
    page: Page, live_server: str, tenant: SeededTenant, tmp_path: Path
) -> None:
    base = live_server
    tier = {
        "entity": "account",
        "key": "tier",
        "label": "Tier",
        "type": "select",
        "options": ["gold", "silver"],
    }
    await call(base, tenant.admin, "POST", "/custom-fields", tier)
    computed = {
        "entity": "account",
        "key": "large",
        "label": "Large",
        "type": "computed",
        "expression": "account.balance_minor > 1",
    }
    await call(base, tenant.admin, "POST", "/custom-fields", computed)
    placements = tmp_path / "tiers.csv"
    placements.write_text(
        "Account,Debtor,Principal,Currency,Tier\nT-1,D-1,10,EUR,gold\nT-2,D-2,10,EUR,lead\n",
        encoding="utf-8",
    )
    await sign_in(page, base, tenant.admin.email, tenant.admin.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    await page.goto(f"{base}/admin/imports")
    await expect(page.get_by_label("Large (account field)")).to_have_count(0)
    await page.get_by_label("CSV file").set_input_files(str(placements))
    await page.get_by_label("Account reference (required)").select_option("Account")
    await page.get_by_label("Debtor reference (required)").select_option("Debtor")
    # Guessed from the column's name, as the built-in fields are.
    await expect(page.get_by_label("Tier (account field)")).to_have_value("Tier")
    table = page.locator(".preview-rows")
    await expect(table.locator("thead")).to_contain_text("Tier (account field)")
    await expect(table.locator("tbody tr").nth(0)).to_contain_text("gold")
    await expect(table.locator("tbody tr").nth(1)).to_contain_text("Tier: 'lead' is not one of")


async def _denied(page: Page, base: str) -> None:
    await page.goto(f"{base}/admin/fields")
    await expect(page.locator("#screen [role=alert]").first).to_be_visible()
    await expect(page.locator("#add-field")).to_have_count(0)


async def test_a_collector_reads_custom_fields_but_gets_no_admin_screen(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    base = live_server
    body = {"entity": "account", "key": "tier", "label": "Tier", "type": "string"}
    async with httpx.AsyncClient(base_url=base, headers=tenant.collector.headers) as http:
        assert (await http.get("/api/v1/custom-fields")).status_code == 200
        assert (await http.post("/api/v1/custom-fields", json=body)).status_code == 403
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    try:
        await sign_in(page, base, tenant.collector.email, tenant.collector.password)
        await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
        await _denied(page, base)
    finally:
        await context.close()
