"""Imports of payments: a file of payments by account reference, with bad rows of every
kind (each reported with its row, column and reason), allocated as the API allocates
(fees, then interest, then principal) with the balances exact; imported again, nothing
changes; a payment over the API afterwards sees the imported ones."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import msgspec

from domain.db import Database
from domain.imports.mapping import Mapping
from tests.factories import SeededTenant
from tests.integration.imports.files import HEADER, MAPPING, finish, write_rows

API = "/api/v1"
PAYMENTS = Mapping(
    columns={
        "account_ref": "Account",
        "payment_ref": "Ref",
        "amount": "Amount",
        "currency": "Cur",
        "paid_on": "Date",
        "method": "How",
    }
)
PAY_HEADER = ["Account", "Ref", "Amount", "Cur", "Date", "How"]
# The accounts paid: (reference, currency, principal, fees).
ACCOUNTS = [
    ("PAY-A", "USD", "100.00", "5.00"),
    ("PAY-B", "USD", "50.00", "0"),
    ("PAY-C", "EUR", "80.00", "0"),
    ("PAY-D", "JPY", "1000", "0"),
]
ROWS = [
    ["PAY-A", "R-1", "3.00", "USD", "2026-11-01", "bank transfer"],  # 2: fees 5 -> 2
    ["PAY-A", "R-2", "10.00", "USD", "2026-11-02", "card"],  # 3: fees 2 -> 0, principal -8
    ["PAY-B", "R-3", "50", "USD", "", "cash"],  # 4: paid in full
    ["PAY-Z", "R-4", "1.00", "USD", "2026-11-02", ""],  # 5: no such account
    ["PAY-C", "R-5", "5.00", "USD", "2026-11-02", ""],  # 6: the account is in EUR
    ["PAY-A", "R-1", "3.00", "USD", "2026-11-01", ""],  # 7: R-1 twice in the file
    ["PAY-A", "R-6", "-1", "USD", "2026-11-01", ""],  # 8: not greater than zero
    ["PAY-D", "R-7", "10.5", "JPY", "2026-11-01", ""],  # 9: JPY has no decimals
    ["PAY-C", "R-8", "20.00", "EUR", "31/12/2026", ""],  # 10: not the mapping's date format
    ["PAY-C", "R-9", "20.00", "EUR", "2026-11-03", "crypto"],  # 11: no such method
    ["PAY-C", "R-10", "500.00", "EUR", "2026-11-03", ""],  # 12: beyond the balance
    ["PAY-C", "R-11", "30.00", "EUR", "2099-01-01", ""],  # 13: in the future
    ["PAY-C", "R-12", "30.00", "EUR", "2026-11-04", "Direct Debit"],  # 14: 80 -> 50
    ["PAY-C", "R-13", "50.00", "EUR", "2026-11-04", ""],  # 15: exactly the rest: paid
    ["PAY-C", "R-14", "0.01", "EUR", "2026-11-04", ""],  # 16: a cent beyond nothing
    ["PAY-C", "R-15", "1.00", "EUR", "1900-01-01", ""],  # 17: a typo's year
]
REJECTED = [
    (5, "Account", "no account has the reference 'PAY-Z'"),
    (6, "Cur", "the account is in EUR, not USD"),
    (7, "Ref", "payment 'R-1' appears more than once in the file"),
    (8, "Amount", "amount must be greater than zero"),
    (9, "Amount", "amount has more decimals than JPY allows (0)"),
    (10, "Date", "'31/12/2026' is not a date written as 2026-01-31 (%Y-%m-%d)"),
    (11, "How", "'crypto' is not one of card, bank_transfer, cash, check, direct_debit, other"),
    (12, "Amount", "the payment is 420.00 more than the balance of 80.00"),
    (13, "Date", "2099-01-01 is in the future"),
    (16, "Amount", "the payment is 0.01 more than the balance of 0.00"),
    (17, "Date", "1900-01-01 is more than ten years ago"),
]


async def _import(
    client: httpx.AsyncClient,
    db: Database,
    tenant: SeededTenant,
    path: Path,
    mapping: Mapping,
    kind: str,
) -> dict:
    with path.open("rb") as f:
        response = await client.post(
            f"{API}/imports",
            headers=tenant.admin.headers,
            files={"file": (path.name, f, "text/csv")},
            data={"mapping": msgspec.json.encode(mapping).decode(), "kind": kind},
        )
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == kind
    await finish(db, tenant.id, response.json()["id"])
    got = await client.get(f"{API}/imports/{response.json()['id']}", headers=tenant.admin.headers)
    return got.json()


async def _state(db: Database, tenant: SeededTenant) -> dict:
    async with db.tenant(tenant.id) as conn:
        accounts = await conn.fetch(
            """SELECT external_ref, fees, interest, principal, credit, status, version
            FROM accounts WHERE external_ref LIKE 'PAY-%' ORDER BY external_ref"""
        )
        payments = await conn.fetch(
            """SELECT p.external_ref, a.external_ref AS account, p.amount, p.method, p.source,
              p.status, p.applied_fees, p.applied_interest, p.applied_principal,
              p.applied_credit, p.received_at
            FROM payments p JOIN accounts a ON a.id = p.account_id
            WHERE p.external_ref IS NOT NULL ORDER BY p.id"""
        )
        audit = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'payment.import_create'"
        )
        announced = await conn.fetch(
            "SELECT channels, data FROM outbox WHERE type = 'payment.received' ORDER BY id"
        )
    return {
        "accounts": {r["external_ref"]: dict(r) for r in accounts},
        "payments": [dict(r) for r in payments],
        "audit": audit,
        "events": [(list(r["channels"]), r["data"]) for r in announced],
    }


async def test_a_file_of_payments_with_bad_rows_then_again(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    placed = write_rows(
        tmp_path / "accounts.csv",
        [[ref, f"DP-{ref}", "Pat", "Payer", "", cur, p, f, ""] for ref, cur, p, f in ACCOUNTS],
        header=HEADER,
    )
    accounts = await _import(client, db, tenant, placed, MAPPING, "accounts")
    assert (accounts["status"], accounts["rows_created"]) == ("done", 4)

    path = write_rows(tmp_path / "payments.csv", ROWS, header=PAY_HEADER)
    done = await _import(client, db, tenant, path, PAYMENTS, "payments")
    assert (done["status"], done["rows_read"], done["rows_created"]) == ("done", 16, 5)
    assert (done["rows_rejected"], done["rows_unchanged"], done["rows_updated"]) == (11, 0, 0)
    rejected = await client.get(
        f"{API}/imports/{done['id']}/rejected.csv", headers=tenant.admin.headers
    )
    rows = list(csv.reader(io.StringIO(rejected.text)))[1:]
    assert [(int(r[0]), r[1], r[2]) for r in rows] == REJECTED

    state = await _state(db, tenant)
    a, b, c, d = (state["accounts"][ref] for ref, *_ in ACCOUNTS)
    assert (a["fees"], a["interest"], a["principal"], a["status"]) == (
        Decimal("0"),
        Decimal("0"),
        Decimal("92.00"),
        "active",
    )
    assert (b["principal"], b["status"]) == (Decimal("0"), "paid")
    assert (c["principal"], c["credit"], c["status"]) == (Decimal("0"), Decimal("0"), "paid")
    assert (d["principal"], d["version"]) == (Decimal("1000"), 1)
    made = {p["external_ref"]: p for p in state["payments"]}
    assert list(made) == ["R-1", "R-2", "R-3", "R-12", "R-13"]
    split = {
        ref: (p["applied_fees"], p["applied_interest"], p["applied_principal"], p["applied_credit"])
        for ref, p in made.items()
    }
    zero = Decimal(0)
    assert split == {
        "R-1": (Decimal("3.00"), zero, zero, zero),
        "R-2": (Decimal("2.00"), zero, Decimal("8.00"), zero),
        "R-3": (zero, zero, Decimal("50.00"), zero),
        "R-12": (zero, zero, Decimal("30.00"), zero),
        "R-13": (zero, zero, Decimal("50.00"), zero),
    }
    assert {p["source"] for p in made.values()} == {"import"}
    assert {p["status"] for p in made.values()} == {"succeeded"}
    assert [made[r]["method"] for r in ("R-1", "R-2", "R-3", "R-12")] == [
        "bank_transfer",
        "card",
        "cash",
        "direct_debit",
    ]
    async with db.tenant(tenant.id) as conn:
        zone = ZoneInfo(
            await conn.fetchval("SELECT time_zone FROM tenants WHERE id = $1", tenant.id)
        )
    assert made["R-1"]["received_at"] == dt.datetime(2026, 11, 1, tzinfo=zone)
    assert state["audit"] == 5
    # Each payment announced as one taken over the API is: to the account's audience with
    # the account as the batch left it, and to its payment page.
    staff = [
        data
        for channels, data in state["events"]
        if any(c.startswith("account:") for c in channels)
    ]
    assert sorted(d["payment"]["reference"] for d in staff) == sorted(made)
    assert {d["payment"]["source"] for d in staff} == {"import"}
    for data in staff:
        ref = data["account"]["external_ref"]
        left = state["accounts"][ref]
        assert (
            Decimal(data["account"]["balance"])
            == left["fees"] + left["interest"] + left["principal"]
        )
    by_channel = [channels for channels, data in state["events"]]
    ids = {data["payment"]["account_id"] for data in staff}
    assert sum(f"account:{i}" in c for c in by_channel for i in ids) == 5
    assert sum(f"pay:{i}" in c for c in by_channel for i in ids) == 5
    assert len(state["events"]) == 10
    # The wallboard hears of the batch once (its import.progress), not of each payment.
    assert not [c for c in by_channel if "wallboard" in c]

    # Again: nothing is recorded twice, no balance moves, no audit row is added.
    again = await _import(client, db, tenant, path, PAYMENTS, "payments")
    assert (again["rows_created"], again["rows_unchanged"], again["rows_rejected"]) == (0, 5, 11)
    assert await _state(db, tenant) == state

    # A reference imported before, now with another amount, is refused, not changed.
    changed = write_rows(
        tmp_path / "changed.csv",
        [["PAY-A", "R-1", "4.00", "USD", "2026-11-01", ""]],
        header=PAY_HEADER,
    )
    refused = await _import(client, db, tenant, changed, PAYMENTS, "payments")
    assert (refused["rows_created"], refused["rows_rejected"]) == (0, 1)
    why = await client.get(
        f"{API}/imports/{refused['id']}/rejected.csv", headers=tenant.admin.headers
    )
    assert list(csv.reader(io.StringIO(why.text)))[1] == [
        "2",
        "Ref",
        "payment 'R-1' was imported before with another account or amount",
    ]
    assert await _state(db, tenant) == state

    # A payment over the API afterwards takes off what the import left, exactly.
    account_id = await _account_id(db, tenant, "PAY-A")
    paid = await client.post(
        f"{API}/accounts/{account_id}/payments",
        json={"amount": "92.00", "currency": "USD", "method": "cash"},
        headers={**tenant.admin.headers, "Idempotency-Key": "after-import-1"},
    )
    assert paid.status_code == 201, paid.text
    over = await client.post(
        f"{API}/accounts/{account_id}/payments",
        json={"amount": "0.01", "currency": "USD", "method": "cash"},
        headers={**tenant.admin.headers, "Idempotency-Key": "after-import-2"},
    )
    assert over.status_code == 422
    shown = await client.get(f"{API}/accounts/{account_id}", headers=tenant.admin.headers)
    assert (Decimal(shown.json()["balance"]), shown.json()["status"]) == (Decimal(0), "paid")


async def _account_id(db: Database, tenant: SeededTenant, ref: str) -> int:
    async with db.tenant(tenant.id) as conn:
        return await conn.fetchval("SELECT id FROM accounts WHERE external_ref = $1", ref)


async def test_where_the_tenant_holds_overpayments_as_credit_they_are_credit(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    rules = {"payments": {"hold_overpayment_as_credit": True}}
    patched = await client.patch(f"{API}/tenant", json=rules, headers=tenant.admin.headers)
    assert patched.status_code == 200, patched.text
    placed = write_rows(
        tmp_path / "accounts.csv",
        [["PAY-E", "DP-E", "Pat", "Payer", "", "GBP", "40.00", "2.50", ""]],
        header=HEADER,
    )
    await _import(client, db, tenant, placed, MAPPING, "accounts")
    rows = [
        ["PAY-E", "E-1", "30.00", "GBP", "2026-11-01", ""],
        ["PAY-E", "E-2", "20.00", "GBP", "2026-11-02", ""],  # 12.50 owed: 7.50 credit
    ]
    path = write_rows(tmp_path / "payments.csv", rows, header=PAY_HEADER)
    done = await _import(client, db, tenant, path, PAYMENTS, "payments")
    assert (done["rows_created"], done["rows_rejected"]) == (2, 0)
    state = await _state(db, tenant)
    e = state["accounts"]["PAY-E"]
    assert (e["fees"], e["principal"], e["credit"], e["status"]) == (
        Decimal("0"),
        Decimal("0"),
        Decimal("7.50"),
        "paid",
    )
    split = [
        (p["applied_fees"], p["applied_principal"], p["applied_credit"]) for p in state["payments"]
    ]
    assert split == [
        (Decimal("2.50"), Decimal("27.50"), Decimal("0")),
        (Decimal("0"), Decimal("12.50"), Decimal("7.50")),
    ]


async def test_a_payments_mapping_is_checked_for_its_kind(
    client: httpx.AsyncClient, tenant: SeededTenant, tmp_path: Path
) -> None:
    admin = tenant.admin.headers
    body = {"name": "Bank", "kind": "payments", "mapping": msgspec.to_builtins(PAYMENTS)}
    saved = await client.post(f"{API}/import-mappings", json=body, headers=admin)
    assert saved.status_code == 201, saved.text
    assert saved.json()["kind"] == "payments"
    wrong = {"name": "Wrong", "kind": "payments", "mapping": msgspec.to_builtins(MAPPING)}
    refused = await client.post(f"{API}/import-mappings", json=wrong, headers=admin)
    assert (refused.status_code, refused.json()["field"]) == (422, "mapping.columns.debtor_ref")
    missing = Mapping(columns={k: v for k, v in PAYMENTS.columns.items() if k != "payment_ref"})
    body = {"name": "No ref", "kind": "payments", "mapping": msgspec.to_builtins(missing)}
    refused = await client.post(f"{API}/import-mappings", json=body, headers=admin)
    assert (refused.status_code, refused.json()["field"]) == (422, "mapping.columns.payment_ref")
    path = write_rows(tmp_path / "p.csv", ROWS[:2], header=PAY_HEADER)
    with path.open("rb") as f:
        other_kind = await client.post(
            f"{API}/imports",
            headers=admin,
            files={"file": ("p.csv", f, "text/csv")},
            data={"mapping_id": str(saved.json()["id"]), "kind": "accounts"},
        )
    assert (other_kind.status_code, other_kind.json()["field"]) == (422, "kind")
    with path.open("rb") as f:
        preview = await client.post(
            f"{API}/imports/preview",
            headers=admin,
            files={"file": ("p.csv", f, "text/csv")},
            data={"mapping_id": str(saved.json()["id"])},
        )
    assert preview.status_code == 200, preview.text
    first = preview.json()["rows"][0]
    assert first["errors"] == []
    assert (first["values"]["amount"], first["values"]["method"]) == ("3.00", "bank_transfer")
