"""Imports whose job was lost are handed to the workers again by the minute's sweep: a
pending one after two minutes, a running one that has not moved for ten, each at most once
per such wait; finished ones never."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from domain.db import Database
from domain.imports import queries
from tasks.imports import PENDING_FOR, RUNNING_FOR, sweep
from tests.factories import SeededTenant
from tests.integration.imports.files import placement_file
from tests.integration.imports.test_import_run import counts, start

SECOND = dt.timedelta(seconds=1)


async def backdate(db: Database, import_id: int, status: str, by: dt.timedelta) -> None:
    async with db.system() as conn:
        await conn.execute(
            "UPDATE imports SET status = $2, updated_at = now() - $3::interval WHERE id = $1",
            import_id,
            status,
            by,
        )


async def ended(db: Database, tenant: SeededTenant, import_id: int):  # type: ignore[no-untyped-def]
    """The import once it has ended (done or failed), within a minute."""
    for _ in range(600):
        async with db.tenant(tenant.id) as conn:
            row = await queries.get_import(conn, import_id)
        if row["status"] in ("done", "failed"):
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"import {import_id} still {row['status']}")


async def claimed(db: Database) -> set[int]:
    async with db.system() as conn:
        rows = await queries.claim_stalled(conn, pending_for=PENDING_FOR, running_for=RUNNING_FOR)
    return {row["id"] for row in rows}


async def test_the_waits_are_pinned_on_both_sides_and_a_claim_holds_for_a_wait(
    db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    path = tmp_path / "placements.csv"
    placement_file(path, rows=200)
    ids = [await start(db, tenant, path) for _ in range(7)]
    cases = {
        ids[0]: ("pending", PENDING_FOR - 5 * SECOND, False),
        ids[1]: ("pending", PENDING_FOR + 5 * SECOND, True),
        ids[2]: ("running", RUNNING_FOR - 5 * SECOND, False),
        ids[3]: ("running", RUNNING_FOR + 5 * SECOND, True),
        ids[4]: ("done", RUNNING_FOR * 10, False),
        ids[5]: ("failed", RUNNING_FOR * 10, False),
        # Waited long enough for a pending import, not for a running one.
        ids[6]: ("running", PENDING_FOR + 5 * SECOND, False),
    }
    for import_id, (status, by, _) in cases.items():
        await backdate(db, import_id, status, by)
    first = await claimed(db) & set(ids)
    assert first == {i for i, (_, _, due) in cases.items() if due}
    # Handed out once: not again until it has waited as long once more.
    assert not await claimed(db) & set(ids)
    async with db.tenant(tenant.id) as conn:
        for import_id in first:
            row = await queries.get_import(conn, import_id)
            assert dt.datetime.now(dt.UTC) - row["updated_at"] < 30 * SECOND


async def test_an_import_whose_kick_was_lost_is_run_by_the_sweep_through_the_workers(
    db: Database, tenant: SeededTenant, tmp_path: Path, worker, resources
) -> None:
    path = tmp_path / "placements.csv"
    placement_file(path, rows=500)
    # Created, but its kick never reached the workers.
    import_id = await start(db, tenant, path)
    await backdate(db, import_id, "pending", PENDING_FOR + 5 * SECOND)
    await resources.kick(sweep)
    row = await ended(db, tenant, import_id)
    assert row["status"] == "done", dict(row)
    assert row["rows_read"] == 500
    assert (await counts(db, tenant))["accounts"] == row["rows_created"] > 0


async def stalled(db: Database, import_id: int) -> tuple[str, int]:
    async with db.system() as conn:
        row = await conn.fetchrow("SELECT status, stalls FROM imports WHERE id = $1", import_id)
    return row["status"], row["stalls"]


async def test_an_import_that_stops_at_the_same_row_every_time_ends_as_failed(
    db: Database, tenant: SeededTenant, tmp_path: Path, worker, resources
) -> None:
    path = tmp_path / "placements.csv"
    placement_file(path, rows=200)
    import_id = await start(db, tenant, path)
    async with db.system() as conn:
        await conn.execute("UPDATE imports SET rows_read = 120 WHERE id = $1", import_id)
    # Handed out again three times at row 121 (each time, say, its run died there).
    for stalls in (1, 2, 3):
        await backdate(db, import_id, "running", RUNNING_FOR + 5 * SECOND)
        assert import_id in await claimed(db)
        assert await stalled(db, import_id) == ("running", stalls)
    # Rows read since start the count over.
    async with db.system() as conn:
        await conn.execute("UPDATE imports SET rows_read = 121 WHERE id = $1", import_id)
    await backdate(db, import_id, "running", RUNNING_FOR + 5 * SECOND)
    assert import_id in await claimed(db)
    assert await stalled(db, import_id) == ("running", 1)
    for _ in range(2):
        await backdate(db, import_id, "running", RUNNING_FOR + 5 * SECOND)
        assert import_id in await claimed(db)
    # The fourth time at the same row: the sweep gives it up instead of handing it out.
    await backdate(db, import_id, "running", RUNNING_FOR + 5 * SECOND)
    await resources.kick(sweep)
    row = await ended(db, tenant, import_id)
    assert row["status"] == "failed", dict(row)
    assert row["error"] == (
        "the import stopped 3 times at row 122 of its file without going on; the rows "
        "before it were written (the workers' log says why it stopped)"
    )
    assert row["rows_read"] == 121
