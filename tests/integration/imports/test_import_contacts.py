"""What an import writes besides debtors and accounts: each new debtor's phone, e-mail and
address become its preferred contacts exactly as when one debtor is written at a time (one
statement adds them for the whole batch), a changed value replaces the preferred one, and
every account's placed balance is what it arrived with. Duplicates are found anywhere in
the file, across batches, in a few bytes each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.db import Database
from domain.imports import runner
from domain.imports.mapping import Mapping
from domain.imports.rows import SeenRefs
from tests.factories import SeededTenant
from tests.integration.imports.files import write_rows
from tests.integration.imports.test_import_run import start

HEADER = ["Account", "Debtor", "Email", "Phone", "Street", "City", "Country", "Balance", "Fees"]
MAPPING = Mapping(
    columns={
        "account_ref": "Account",
        "debtor_ref": "Debtor",
        "email": "Email",
        "phone": "Phone",
        "address_line1": "Street",
        "city": "City",
        "country": "Country",
        "principal": "Balance",
        "fees": "Fees",
    },
    default_currency="USD",
)
CONTACT = """SELECT c.kind, c.type, c.value, c.address_line1, c.city, c.country, c.preferred,
  c.sms_consent_at IS NOT NULL AS sms, c.sms_consent_how, c.call_consent_at IS NOT NULL AS call,
  c.call_consent_how, c.email_consent_at IS NOT NULL AS mail, c.email_consent_how
FROM debtor_contacts c JOIN debtors d ON d.id = c.debtor_id"""


async def contacts(db: Database, tenant: SeededTenant, ref: str) -> list[tuple[Any, ...]]:
    async with db.tenant(tenant.id) as conn:
        rows = await conn.fetch(f"{CONTACT} WHERE d.external_ref = $1 ORDER BY c.id", ref)
    return [tuple(r) for r in rows]


async def test_new_debtors_get_the_contacts_a_single_write_gives(
    db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    rows = [
        ["A-1", "D-1", "ann@example.com", "+12125550123", "1 Main St", "Boston", "US", "10", ""],
        ["A-2", "D-2", "", "+12125550124", "", "", "", "20", "1.50"],
        ["A-3", "D-3", "cy@example.com", "", "", "Leeds", "GB", "30", ""],
        ["A-4", "D-4", "", "", "", "", "", "40", ""],
    ]
    done = await runner.run_import(
        db,
        tenant.id,
        await start(db, tenant, write_rows(tmp_path / "a.csv", rows, HEADER), MAPPING),
    )
    assert (done.status, done.rows_created) == ("done", 4)
    # The same values written one debtor at a time (the row trigger's way, before imports
    # wrote them in bulk): the import's contacts are these.
    async with db.tenant(tenant.id) as conn:
        for row in rows:
            await conn.execute(
                """INSERT INTO debtors (tenant_id, external_ref, email, phone, address_line1,
                  city, country) VALUES ($1, $2, nullif($3, ''), nullif($4, ''), nullif($5, ''),
                  nullif($6, ''), nullif($7, ''))""",
                tenant.id,
                "S" + row[1],
                *row[2:7],
            )
    for row in rows:
        assert await contacts(db, tenant, row[1]) == await contacts(db, tenant, "S" + row[1])
    one = await contacts(db, tenant, "D-1")
    assert [(c[0], c[1], c[2], c[6]) for c in one] == [
        ("phone", "mobile", "+12125550123", True),
        ("email", "other", "ann@example.com", True),
        ("address", "home", None, True),
    ]
    assert one[0][7:11] == (True, "on the debtor record", True, "on the debtor record")
    assert one[1][11:] == (True, "on the debtor record")
    assert await contacts(db, tenant, "D-4") == []
    async with db.tenant(tenant.id) as conn:
        placed = await conn.fetch(
            "SELECT placed_balance FROM accounts WHERE external_ref LIKE 'A-%' ORDER BY external_ref"
        )
    assert [str(r[0]) for r in placed] == ["10.0000", "21.5000", "30.0000", "40.0000"]

    # A changed e-mail replaces the preferred one; a cleared phone removes it.
    rows[0][2], rows[0][3] = "ann@example.org", ""
    again = await runner.run_import(
        db,
        tenant.id,
        await start(db, tenant, write_rows(tmp_path / "b.csv", rows, HEADER), MAPPING),
    )
    assert (again.rows_updated, again.rows_unchanged) == (0, 4)  # counts are of accounts
    assert [(c[0], c[2]) for c in await contacts(db, tenant, "D-1")] == [
        ("email", "ann@example.org"),
        ("address", None),
    ]


async def test_several_debtors_in_one_statement_each_get_theirs(
    db: Database, tenant: SeededTenant
) -> None:
    async with db.tenant(tenant.id) as conn:
        await conn.execute(
            """INSERT INTO debtors (tenant_id, external_ref, email, phone, opt_out_sms, city)
            VALUES ($1, 'M-1', 'm1@example.com', '+12125550001', true, NULL),
              ($1, 'M-2', NULL, '+12125550002', false, 'Paris')""",
            tenant.id,
        )
    first = await contacts(db, tenant, "M-1")
    assert [(c[0], c[2], c[7], c[9]) for c in first] == [
        ("phone", "+12125550001", False, True),  # texts refused, calls not
        ("email", "m1@example.com", False, False),
    ]
    second = await contacts(db, tenant, "M-2")
    assert [(c[0], c[2], c[4]) for c in second] == [
        ("phone", "+12125550002", None),
        ("address", None, "Paris"),
    ]


def test_references_are_found_again_whatever_their_hash() -> None:
    seen = SeenRefs()
    keys = [hash(f"A-{n}") for n in range(20_000)] + [0, -1, 2**63 - 1, -(2**63)]
    assert all(seen.add(key) for key in keys)
    assert len(seen) == len(keys)
    assert not any(seen.add(key) for key in keys)
    assert len(seen) == len(keys)
    # Two hashes in one bucket, end to end: the bytes across their seam are no entry.
    first, second = 0x010203040506 << 16, 0x0708090A0B0C << 16
    across = 0x0B0C01020304 << 16  # the last four bytes of one and the first two of the other
    fresh = SeenRefs()
    assert fresh.add(first)
    assert fresh.add(second)
    assert fresh.add(across)
    assert not fresh.add(first)
