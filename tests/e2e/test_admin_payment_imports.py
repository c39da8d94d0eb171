"""The admin console's Imports of payments in a real browser: the file said to hold payments,
the payment fields offered for its columns (a mapping that leaves a required one out refused
beside it), the saved mappings of that kind only, the first rows previewed as the payments
would be recorded, the mapping saved as a mapping of payments and used to start the import,
followed by a real worker to its end; the counts, the rejected rows with their reasons, the
payments on the accounts with their exact amounts and the balances they leave, and the
history saying what the file held."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from playwright.async_api import Page, expect

from tests.e2e.test_admin_imports import rejected_rows
from tests.e2e.test_login import sign_in
from tests.e2e.test_queue import call
from tests.e2e.test_workflow_screens import both_sizes
from tests.factories import SeededTenant

DESKTOP = {"width": 1280, "height": 800}


async def test_an_admin_imports_a_file_of_payments(
    page: Page, live_server: str, relay, worker, tenant: SeededTenant, tmp_path: Path
) -> None:
    base = live_server
    # Fees first, then interest, then principal, as a payment over the API is allocated.
    first = await tenant.account(
        currency="EUR", principal=Decimal("200.00"), interest=Decimal(0), fees=Decimal("10.00")
    )
    second = await tenant.account(
        currency="EUR", principal=Decimal("100.00"), interest=Decimal(0), fees=Decimal(0)
    )
    placements = await call(
        base,
        tenant.admin,
        "POST",
        "/import-mappings",
        {
            "name": "Daily placements",
            "mapping": {
                "columns": {"account_ref": "Ref", "debtor_ref": "Customer", "principal": "Bal"},
                "default_currency": "EUR",
            },
        },
    )
    today = dt.date.today()
    earlier, later = ((today - dt.timedelta(days=d)).strftime("%d/%m/%Y") for d in (10, 3))
    # Row 3: an amount with a decimal comma (refused by the row's own checks, so the preview
    # shows it); row 5: an account the tenant does not have (refused by the import's merge).
    payments = tmp_path / "bank-payments.csv"
    payments.write_text(
        "Account,Payment ref,Paid,Cur,Date,How\r\n"
        f"{first.external_ref},BANK-1,120.50,EUR,{earlier},bank transfer\r\n"
        f'{second.external_ref},BANK-2,"75,25",EUR,{earlier},cash\r\n'
        f"{second.external_ref},BANK-3,75.25,EUR,{later},Cash\r\n"
        f"NOPE-9,BANK-4,5.00,EUR,{later},card\r\n"
        f"{first.external_ref},BANK-5,9.50,EUR,{later},\r\n",
        encoding="utf-8",
    )
    await sign_in(page, base, tenant.admin.email, tenant.admin.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    await page.set_viewport_size(DESKTOP)
    await page.goto(f"{base}/admin/imports")
    await expect(page.get_by_role("heading", name="New import")).to_be_visible()

    # Debtors and accounts to begin with: their fields and their saved mappings.
    accounts_kind = page.get_by_role("radio", name="Debtors and accounts")
    payments_kind = page.get_by_role("radio", name="Payments")
    await expect(accounts_kind).to_be_checked()
    presets = page.get_by_label("Mapping", exact=True)
    await expect(presets.locator("option")).to_have_text(
        ["Build a mapping here", "Daily placements"]
    )
    await expect(presets.locator("option").nth(1)).to_have_attribute("value", str(placements["id"]))
    await expect(page.get_by_label("Principal (required)")).to_be_visible()

    # Payments: the payment fields, the required ones marked; no mapping of accounts offered.
    await payments_kind.check()
    columns = page.locator(".column-grid label")
    await expect(columns).to_have_text(
        [
            "Account reference (required)",
            "Payment reference (required)",
            "Amount (required)",
            "Currency (required)",
            "Date paid",
            "Method",
        ]
    )
    await expect(presets.locator("option")).to_have_text(["Build a mapping here"])
    await expect(page.get_by_label("CSV file")).to_have_accessible_description(
        re.compile("^Payments, one payment a row")
    )

    await page.get_by_label("CSV file").set_input_files(str(payments))
    # A column named like the field is chosen for it.
    await expect(page.get_by_label("Payment reference (required)")).to_have_value("Payment ref")
    await page.get_by_label("Account reference (required)").select_option("Account")
    await page.get_by_label("Currency (required)").select_option("Cur")
    await page.get_by_label("Date format").focus()
    await page.get_by_label("Date format").select_option("%d/%m/%Y")

    # Without the amount's column the server refuses the mapping, beside that field: the
    # preview says so as it is built, and leaves the focus where the admin is working.
    refusal = page.locator("[data-field='mapping.columns.amount'] .field-error")
    await expect(refusal).to_have_text("the mapping must say which column holds amount")
    await expect(page.locator(".import-preview")).to_contain_text("No preview yet")
    await expect(page.get_by_label("Date format")).to_be_focused()
    await page.get_by_role("button", name="Start import").click()
    await expect(refusal).to_have_text("the mapping must say which column holds amount")
    await expect(page.get_by_label("Amount (required)")).to_have_attribute("aria-invalid", "true")
    assert (await call(base, tenant.admin, "GET", "/imports"))["items"] == []

    await page.get_by_label("Amount (required)").select_option("Paid")
    await expect(refusal).to_have_count(0)
    await expect(page.get_by_label("Amount (required)")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    await page.get_by_label("Date paid").select_option("Date")
    await page.get_by_label("Method", exact=True).select_option("How")

    # The preview, read by the server as payments: values as they would be recorded, the
    # row with a decimal comma refused with its reason.
    preview = page.locator("table.preview-rows")
    await expect(preview.locator("tbody tr")).to_have_count(5)
    await expect(preview.locator("thead th")).to_have_text(
        [
            "Row",
            "Problems",
            "Account reference",
            "Payment reference",
            "Amount",
            "Currency",
            "Date paid",
            "Method",
        ]
    )
    iso = (today - dt.timedelta(days=10)).isoformat()
    await expect(preview.locator("tbody tr").first.locator("td")).to_have_text(
        ["2", "ok", first.external_ref, "BANK-1", "120.50", "EUR", iso, "bank_transfer"]
    )
    await expect(preview.locator("tbody tr").nth(1).locator(".row-problems")).to_contain_text(
        "Paid: '75,25' is not a plain decimal"
    )
    await expect(preview.locator("tbody tr").nth(2)).to_contain_text("cash")
    await expect(preview.locator("tr.refused")).to_have_count(1)
    await expect(page.locator(".import-preview")).to_contain_text(
        "as the payments would be recorded"
    )

    # Saved as a mapping of payments.
    await page.get_by_label("Save this mapping as").fill("Bank payments")
    await page.get_by_role("button", name="Save mapping").click()
    await expect(page.locator(".saved-note")).to_contain_text("Saved as “Bank payments”")
    saved = [
        p
        for p in (await call(base, tenant.admin, "GET", "/import-mappings"))["items"]
        if p["name"] == "Bank payments"
    ]
    assert [(p["kind"], p["mapping"]["columns"]) for p in saved] == [
        (
            "payments",
            {
                "account_ref": "Account",
                "payment_ref": "Payment ref",
                "amount": "Paid",
                "currency": "Cur",
                "paid_on": "Date",
                "method": "How",
            },
        )
    ]
    assert saved[0]["mapping"]["date_format"] == "%d/%m/%Y"

    # Each kind offers its own saved mappings; back on payments, the saved one fills the form.
    await accounts_kind.check()
    await expect(presets.locator("option")).to_have_text(
        ["Build a mapping here", "Daily placements"]
    )
    await expect(page.get_by_label("Amount (required)")).to_have_count(0)
    await payments_kind.check()
    await expect(presets.locator("option")).to_have_text(["Build a mapping here", "Bank payments"])
    await presets.select_option(str(saved[0]["id"]))
    await expect(page.get_by_label("Amount (required)")).to_have_value("Paid")
    await expect(page.get_by_label("Date format")).to_have_value("%d/%m/%Y")
    await expect(preview.locator("tr.refused")).to_have_count(1)

    await both_sizes(page, "admin-import-payments", whole=True)

    # Started with the saved mapping: followed live to its end.
    await page.get_by_role("button", name="Start import").click()
    await page.wait_for_url(re.compile(r".*/admin/imports/\d+$"))
    await expect(page.locator(".import-title .badge")).to_have_text("done", timeout=30_000)
    import_id = int(page.url.rsplit("/", 1)[1])
    counts = page.locator(".import-counts")
    await expect(counts.locator("[data-count=kind]")).to_have_text("Payments")
    await expect(counts.locator("[data-count=read]")).to_have_text("5")
    await expect(counts.locator("[data-count=written]")).to_have_text("3 payments recorded")
    await expect(counts.locator("[data-count=unchanged]")).to_have_text("0")
    await expect(counts.locator("[data-count=rejected]")).to_have_text("2")
    await expect(page.locator("#import-progress")).to_have_js_property("value", 1)
    await expect(page.locator(".split-legend")).to_have_text(
        "written 60% · rejected 40% of the rows read"
    )
    done = await call(base, tenant.admin, "GET", f"/imports/{import_id}")
    assert (done["kind"], done["mapping_id"], done["rows_created"], done["rows_rejected"]) == (
        "payments",
        saved[0]["id"],
        3,
        2,
    )

    rows = await rejected_rows(page)
    assert rows == [
        ["row", "column", "reason"],
        ["3", "Paid", rows[1][2]],
        ["5", "Account", "no account has the reference 'NOPE-9'"],
    ]
    assert "'75,25' is not a plain decimal" in rows[1][2]

    # The payments exist, exactly, and the balances moved by them (fees first).
    def paid(account_id: int) -> list[tuple[str | None, Decimal, str, str, str]]:
        return [
            (p["reference"], Decimal(p["amount"]), p["currency"], p["method"], p["source"])
            for p in made[account_id]
        ]

    made = {
        a.id: sorted(
            (await call(base, tenant.admin, "GET", f"/accounts/{a.id}/payments"))["items"],
            key=lambda p: p["reference"],
        )
        for a in (first, second)
    }
    assert paid(first.id) == [
        ("BANK-1", Decimal("120.50"), "EUR", "bank_transfer", "import"),
        ("BANK-5", Decimal("9.50"), "EUR", "other", "import"),
    ]
    assert paid(second.id) == [("BANK-3", Decimal("75.25"), "EUR", "cash", "import")]
    assert [p["status"] for p in made[first.id] + made[second.id]] == ["succeeded"] * 3
    one = await call(base, tenant.admin, "GET", f"/accounts/{first.id}")
    two = await call(base, tenant.admin, "GET", f"/accounts/{second.id}")
    assert (Decimal(one["fees"]), Decimal(one["principal"]), Decimal(one["balance"])) == (
        Decimal(0),
        Decimal("80.00"),
        Decimal("80.00"),
    )
    assert (Decimal(two["principal"]), Decimal(two["balance"])) == (
        Decimal("24.75"),
        Decimal("24.75"),
    )

    # The history says what the file held.
    await page.get_by_role("link", name="← All imports").click()
    row = page.locator("#import-history tbody tr").first
    await expect(row).to_contain_text("bank-payments.csv")
    await expect(row.locator("[data-label=Holds]")).to_have_text("Payments")
    await expect(row.locator("[data-label=Written]")).to_have_text("3")
    await expect(row.locator("[data-label=Rejected]")).to_have_text("2")
