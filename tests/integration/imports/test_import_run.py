"""Importing debtors and accounts from a file: good rows in, bad rows reported with row,
column and reason, nothing written twice, and a rerun after a crash finishing the job."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.db import Database
from domain.imports import queries, runner
from domain.imports.reader import checksum
from domain.imports.schemas import Import
from domain.imports.service import ImportService
from tests.factories import SeededTenant
from tests.integration.imports.files import MAPPING, good_row, placement_file, write_rows


async def start(db: Database, tenant: SeededTenant, path: Path, mapping=MAPPING) -> int:  # type: ignore[no-untyped-def]
    async with db.tenant(tenant.id) as conn:
        created = await ImportService(conn, tenant.admin.actor).create(
            path=path,
            file_name=path.name,
            size_bytes=path.stat().st_size,  # noqa: ASYNC240
            checksum=checksum(path),
            mapping=mapping,
        )
    return created.id


async def counts(db: Database, tenant: SeededTenant) -> dict[str, int]:
    async with db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM accounts WHERE external_ref LIKE 'A-%') AS accounts,
              (SELECT count(*) FROM debtors WHERE external_ref LIKE 'D-%') AS debtors,
              (SELECT count(*) FROM audit_log WHERE action LIKE '%.import_%') AS audit,
              (SELECT count(*) FROM outbox WHERE type = 'import.progress') AS events,
              (SELECT count(*) FROM outbox WHERE type = 'account.created'
                 AND data->>'external_ref' LIKE 'A-%') AS created,
              (SELECT count(*) FROM outbox WHERE type = 'account.created'
                 AND data->>'external_ref' LIKE 'A-%' AND channels <> '{}')
                AS created_on_a_channel,
              (SELECT count(*) FROM outbox WHERE type = 'account.updated'
                 AND data->>'external_ref' LIKE 'A-%') AS updated"""
        )
    return dict(row)


async def test_ten_thousand_rows_with_37_bad_ones(
    db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    path = tmp_path / "placements.csv"
    expected = placement_file(path)
    assert len(expected) == 37
    import_id = await start(db, tenant, path)
    done = await runner.run_import(db, tenant.id, import_id, batch_rows=3_000)
    assert (done.status, done.error) == ("done", None)
    assert (done.rows_read, done.rows_created, done.rows_updated) == (10_000, 9_963, 0)
    assert (done.rows_rejected, done.rows_unchanged) == (37, 0)
    async with db.tenant(tenant.id) as conn:
        rejected = await ImportService(conn, tenant.admin.actor).rejections(import_id)
    assert [(r.row, r.column) for r in rejected] == [(n, c) for n, c, _ in expected]
    for r, (_, _, word) in zip(rejected, expected, strict=True):
        assert word in r.reason, (r, word)
    after_first = await counts(db, tenant)
    assert after_first["accounts"] == 9_963
    assert after_first["audit"] == 9_963 + after_first["debtors"]
    # On the sockets one event per batch of 3,000 (the wallboard's), never one per account;
    # each new account's own event goes to the jobs that take events (webhooks) only.
    assert after_first["events"] == 4
    async with db.tenant(tenant.id) as conn:
        batches = await conn.fetch(
            "SELECT channels, data FROM outbox WHERE type = 'import.progress' ORDER BY id"
        )
    assert {tuple(b["channels"]) for b in batches} == {(f"import:{import_id}", "wallboard")}
    # Counts, not the file's name: the import itself is the admins', the wallboard is not.
    assert not [b for b in batches if "file_name" in b["data"]]
    assert (after_first["created"], after_first["created_on_a_channel"]) == (9_963, 0)
    assert after_first["updated"] == 0

    again = await runner.run_import(db, tenant.id, await start(db, tenant, path), batch_rows=3_000)
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 9_963)
    assert again.rows_rejected == 37
    assert await counts(db, tenant) == after_first  # no update, no audit row, no event


async def test_a_changed_row_updates_only_that_account(
    db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    rows = [
        ["A-1", "D-1", "Ann", "Lee", "", "USD", "100.00", "0", "2026-01-31"],
        ["A-2", "D-1", "Ann", "Lee", "", "EUR", "200", "1.5", ""],
    ]
    first = write_rows(tmp_path / "one.csv", rows)
    await runner.run_import(db, tenant.id, await start(db, tenant, first))
    rows[1][6] = "250.00"
    second = write_rows(tmp_path / "two.csv", rows)
    done = await runner.run_import(db, tenant.id, await start(db, tenant, second))
    assert (done.rows_created, done.rows_updated, done.rows_unchanged) == (0, 1, 1)
    async with db.tenant(tenant.id) as conn:
        account = await conn.fetchrow(
            "SELECT principal, fees, version FROM accounts WHERE external_ref = 'A-2'"
        )
        audit = await conn.fetch(
            """SELECT before, after FROM audit_log WHERE action = 'account.import_update'"""
        )
    assert (str(account["principal"]), str(account["fees"]), account["version"]) == (
        "250.0000",
        "1.5000",
        2,
    )
    assert len(audit) == 1
    assert (audit[0]["before"]["principal"], audit[0]["after"]["principal"]) == (200, 250)
    # The account written over is announced to its audience, as an edit here would be.
    async with db.tenant(tenant.id) as conn:
        announced = await conn.fetch(
            """SELECT type, channels, data FROM outbox
            WHERE type IN ('account.created', 'account.updated')
              AND data->>'external_ref' LIKE 'A-%' ORDER BY id"""
        )
    assert [r["type"] for r in announced] == ["account.created"] * 2 + ["account.updated"]
    updated = announced[-1]
    assert updated["data"]["external_ref"] == "A-2"
    assert updated["data"]["principal"] == "250.00"
    # Not the wallboard: it hears of the whole batch once.
    assert list(updated["channels"]) == [f"account:{updated['data']['id']}"]


async def test_a_rerun_after_a_crash_writes_every_row_exactly_once(
    db: Database, tenant: SeededTenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "placements.csv"
    placement_file(path, rows=2_500)
    import_id = await start(db, tenant, path)
    real_write = runner._Writer.write
    written = 0

    async def dies_after_two(self, batch):  # type: ignore[no-untyped-def]
        nonlocal written
        if written == 2:
            raise SystemExit("worker killed")
        written += 1
        return await real_write(self, batch)

    monkeypatch.setattr(runner._Writer, "write", dies_after_two)
    with pytest.raises(SystemExit):
        await runner.run_import(db, tenant.id, import_id, batch_rows=500)
    monkeypatch.setattr(runner._Writer, "write", real_write)
    async with db.tenant(tenant.id) as conn:
        halfway = await ImportService(conn, tenant.admin.actor).get(import_id)
    assert (halfway.status, halfway.rows_read) == ("running", 1_000)
    done = await runner.run_import(db, tenant.id, import_id, batch_rows=500)
    assert done.status == "done"
    assert done.rows_read == 2_500
    assert done.rows_created + done.rows_rejected == 2_500
    assert done.rows_updated == done.rows_unchanged == 0
    assert (await counts(db, tenant))["accounts"] == done.rows_created
    async with db.tenant(tenant.id) as conn:
        rejected = await conn.fetchval(
            "SELECT count(*) FROM import_rejections WHERE import_id = $1", import_id
        )
    assert rejected == done.rows_rejected


async def test_the_job_runs_an_import_once_and_a_redelivery_does_nothing(
    db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    from tasks.imports import run as job

    path = tmp_path / "placements.csv"
    placement_file(path, rows=300)
    import_id = await start(db, tenant, path)
    assert await job(tenant.id, import_id, db) == "done"
    before = await counts(db, tenant)
    assert await job(tenant.id, import_id, db) == "done"
    assert await counts(db, tenant) == before


async def test_a_run_that_comes_second_never_moves_an_ended_import_back(
    db: Database, tenant: SeededTenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The upload's job and another run (the CLI, the sweep) start on the same import; the
    # second reads it while it is pending, and the first runs it to its end before the
    # second goes on.
    path = write_rows(tmp_path / "few.csv", [good_row(i, "R") for i in range(3)])
    import_id = await start(db, tenant, path)
    loop = asyncio.get_running_loop()
    real_check = runner.check_file
    first: list[Import] = []
    calls: list[None] = []

    def check_file(*args: Any, **kwargs: Any) -> Any:
        calls.append(None)
        if len(calls) == 1:  # the second run, between reading the import and starting it
            ran = asyncio.run_coroutine_threadsafe(
                runner.run_import(db, tenant.id, import_id), loop
            )
            first.append(ran.result(60))
        return real_check(*args, **kwargs)

    monkeypatch.setattr(runner, "check_file", check_file)
    second = await runner.run_import(db, tenant.id, import_id)
    assert (first[0].status, first[0].rows_read, first[0].rows_created) == ("done", 3, 3)
    assert (second.status, second.rows_read, second.rows_created) == ("done", 3, 3)
    async with db.tenant(tenant.id) as conn:
        # Nor does a run that fails late (its file gone, say) turn it into a failure.
        assert not await queries.set_status(conn, import_id, "failed", error="gone")
        stored = await queries.get_import(conn, import_id)
    assert (stored["status"], stored["error"], stored["rows_read"]) == ("done", None, 3)
    assert stored["finished_at"] == first[0].finished_at


async def test_an_import_never_changes_an_accounts_currency_or_moves_it_to_another_debtor(
    db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    """An account's figures and payments are in its currency and its history is its debtor's:
    a later file saying otherwise is refused for that row, and the rest of it is written."""
    rows = [good_row(i) for i in range(4)]
    first = await runner.run_import(
        db, tenant.id, await start(db, tenant, write_rows(tmp_path / "a.csv", rows))
    )
    assert (first.rows_created, first.rows_rejected) == (4, 0)
    changed = [list(r) for r in rows]
    changed[0][5] = "EUR"  # another currency
    changed[1][1] = "D-0000009"  # another debtor, new to Recoup
    changed[2][1] = "D-0000000"  # the debtor of A-0000000 and A-0000001: not A-0000002's
    changed[3][6] = "999.99"  # a new balance, same currency and debtor: written
    done = await runner.run_import(
        db, tenant.id, await start(db, tenant, write_rows(tmp_path / "b.csv", changed))
    )
    assert (done.status, done.rows_updated, done.rows_rejected) == ("done", 1, 3)
    async with db.tenant(tenant.id) as conn:
        rejected = await ImportService(conn, tenant.admin.actor).rejections(done.id)
        stored = await conn.fetch(
            """SELECT a.external_ref, a.currency, d.external_ref AS debtor, a.principal
            FROM accounts a JOIN debtors d ON d.id = a.debtor_id
            WHERE a.external_ref LIKE 'A-%' ORDER BY a.external_ref"""
        )
        strays = await conn.fetchval(
            "SELECT count(*) FROM debtors WHERE external_ref = $1", "D-0000009"
        )
    assert [(r.row, r.column, r.reason) for r in rejected] == [
        (
            2,
            "Currency",
            "account A-0000000 is in USD: an import does not change an account's currency",
        ),
        (
            3,
            "Debtor",
            "account A-0000001 belongs to debtor D-0000000: an import does not move an "
            "account to another debtor",
        ),
        (
            4,
            "Debtor",
            "account A-0000002 belongs to debtor D-0000001: an import does not move an "
            "account to another debtor",
        ),
    ]
    assert [(r["currency"], r["debtor"]) for r in stored] == [
        ("USD", "D-0000000"),
        ("USD", "D-0000000"),
        ("USD", "D-0000001"),
        ("USD", "D-0000001"),
    ]
    assert stored[3]["principal"] == Decimal("999.99")
    assert strays == 0  # the refused row's new debtor was not made either


async def test_a_row_the_database_refuses_is_found_by_halves_and_rejected_alone(
    db: Database, tenant: SeededTenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value that passed every check but that the database (or the driver) refuses fails
    its batch's statements: the batch is written in halves until that row stands alone,
    and only it is rejected, with the refusal's reason; a refusal of every row ends the
    import, failed, saying why, instead of leaving it running."""
    staged = queries.stage

    async def refusing(conn: Any, records: list[tuple[Any, ...]]) -> None:
        if any(record[0] in (5, 9) for record in records):
            raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
        await staged(conn, records)

    monkeypatch.setattr(queries, "stage", refusing)
    rows = [[f"A-R{n}", f"D-R{n}", "Ann", "Lee", "", "USD", "10.00", "0", ""] for n in range(12)]
    path = write_rows(tmp_path / "refused.csv", rows)
    done = await runner.run_import(db, tenant.id, await start(db, tenant, path), batch_rows=8)
    assert (done.status, done.rows_read, done.rows_created, done.rows_rejected) == (
        "done",
        12,
        10,
        2,
    )
    async with db.tenant(tenant.id) as conn:
        rejected = await ImportService(conn, tenant.admin.actor).rejections(done.id)
        written = await conn.fetchval(
            "SELECT count(*) FROM accounts WHERE external_ref LIKE 'A-R%'"
        )
    assert [r.row for r in rejected] == [5, 9]
    assert all(r.reason.startswith("the database refused it: Exceeds the limit") for r in rejected)
    assert written == 10

    async def refusing_all(conn: Any, records: list[tuple[Any, ...]]) -> None:
        raise ValueError("no row fits")

    monkeypatch.setattr(queries, "stage", refusing_all)
    monkeypatch.setattr(runner, "MAX_REFUSED_ALONE", 3)
    rows = [[f"A-S{n}", f"D-S{n}", "Ann", "Lee", "", "USD", "10.00", "0", ""] for n in range(6)]
    path = write_rows(tmp_path / "all.csv", rows)
    failed = await runner.run_import(db, tenant.id, await start(db, tenant, path))
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.startswith("the database refused more than 3 rows that passed every check")
    assert failed.error.endswith("the database refused it: no row fits")
