"""A real `recoup worker` killed (SIGKILL) in the middle of an import: another worker takes
the job over within 30 seconds (the reclaim runs on a timer) and finishes the import from
its last recorded batch, every row written exactly once, with one audit row per account and
debtor created. The workers run on a stream of jobs of their own (JOBS_QUEUE), so no other
test's worker takes the import."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from domain.db import Database
from domain.imports import queries
from tasks.broker import make_broker
from tasks.imports import run as import_job
from tests.factories import SeededTenant
from tests.integration.imports.files import placement_file
from tests.integration.imports.test_import_run import counts, start
from tests.job_processes import JobProcesses

ROWS = 60_000

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def workers(settings: Settings) -> Iterator[JobProcesses]:
    made = JobProcesses(settings, "import-kill", WORKER_PROCESSES="1", LOG_LEVEL="INFO")
    try:
        yield made
    finally:
        made.stop()


async def state(db: Database, tenant: SeededTenant, import_id: int) -> dict:
    async with db.tenant(tenant.id) as conn:
        return dict(await queries.get_import(conn, import_id))


async def test_a_worker_killed_mid_import_is_taken_over_and_every_row_lands_once(
    db: Database,
    settings: Settings,
    tenant: SeededTenant,
    workers: JobProcesses,
    tmp_path: Path,
) -> None:
    path = tmp_path / "placements.csv"
    bad = placement_file(path, rows=ROWS)
    import_id = await start(db, tenant, path)
    broker = make_broker(settings.redis_url or "", workers.queue)
    await broker.startup()
    try:
        await import_job.kicker().with_broker(broker).kiq(tenant.id, import_id)
    finally:
        await broker.shutdown()

    first = workers.start()
    deadline = time.monotonic() + 180
    while True:
        seen = await state(db, tenant, import_id)
        assert seen["status"] != "done", "the import ended before the worker could be killed"
        if seen["status"] == "running" and seen["rows_read"] >= 10_000:
            break
        assert time.monotonic() < deadline, f"the import did not get going: {seen}"
        await asyncio.sleep(0.05)
    workers.kill(first)
    killed_at = time.monotonic()
    halfway = await state(db, tenant, import_id)
    assert halfway["status"] == "running"
    assert 0 < halfway["rows_read"] < ROWS

    workers.start()
    while (seen := await state(db, tenant, import_id))["status"] not in ("done", "failed"):
        # Taken over within 30 s of the kill (the reclaim's timer): the run that takes it
        # marks it running again (its updated_at moves) before its first batch lands.
        taken = (seen["rows_read"], seen["updated_at"]) != (
            halfway["rows_read"],
            halfway["updated_at"],
        )
        if not taken:
            assert time.monotonic() - killed_at < 30, "no worker took the import over"
        assert time.monotonic() - killed_at < 240, f"the import did not finish: {seen}"
        await asyncio.sleep(0.1)

    done = await state(db, tenant, import_id)
    assert done["status"] == "done"
    assert done["rows_read"] == ROWS
    assert done["rows_rejected"] == len(bad)
    assert done["rows_created"] == ROWS - len(bad)
    assert done["rows_updated"] == done["rows_unchanged"] == 0
    landed = await counts(db, tenant)
    assert landed["accounts"] == ROWS - len(bad)
    # One audit row per account and debtor created: none written twice by the second worker.
    assert landed["audit"] == landed["accounts"] + landed["debtors"]
    async with db.tenant(tenant.id) as conn:
        rejected = await conn.fetch(
            "SELECT DISTINCT row_number FROM import_rejections WHERE import_id = $1 ORDER BY 1",
            import_id,
        )
    assert [r["row_number"] for r in rejected] == [number for number, _, _ in bad]
