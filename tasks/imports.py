"""Imports in the background: a file on disk, run batch by batch to its end; and, every few
minutes, the files the tenants' SFTP sources received.

Delivery is at least once, and a worker may die halfway: the runner records each batch with
its rows, so the redelivered job goes on from the last batch written (see
``domain.imports.runner``), and a job for an import already ended does nothing.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated

import structlog
from taskiq import TaskiqDepends, TaskiqState

from config.settings import get_settings
from domain.db import Database
from domain.imports import queries
from domain.imports.runner import ImportMoved, give_up, run_import
from domain.imports.sftp import key_box
from domain.imports.sftp_poll import PollOptions, poll_all
from domain.webhooks.signing import SecretBox
from tasks.broker import broker

log = structlog.get_logger("recoup.jobs")

# An upload hands its import to the workers after its answer; a kick lost on the way (the
# web process killed in between, Redis away) leaves it pending, and a job lost with Redis's
# data leaves it running without moving. The sweep hands such imports out again: safe,
# since a run goes on from the last batch written and two runs cannot both write one.
PENDING_FOR = dt.timedelta(minutes=2)
RUNNING_FOR = dt.timedelta(minutes=10)
# An import handed out this many times in a row without reading a row more has met
# something that stops it every time (a fault in the code that reads it): it ends as failed.
MAX_STALLS = 3
# How often the SFTP sources are polled.
POLL_MINUTES = 5


def _db(state: Annotated[TaskiqState, TaskiqDepends()]) -> Database:
    return state.db


@broker.task(task_name="imports.run")
async def run(tenant_id: int, import_id: int, db: Annotated[Database, TaskiqDepends(_db)]) -> str:
    """Run import ``import_id`` of ``tenant_id``; returns its status when the job ends."""
    try:
        done = await run_import(db, tenant_id, import_id)
    except ImportMoved:
        # Another delivery of this job is running it: that one finishes it.
        log.info("import run elsewhere", import_id=import_id)
        return "running"
    return done.status


@broker.task(task_name="imports.sweep", schedule=[{"cron": "* * * * *"}])
async def sweep(db: Annotated[Database, TaskiqDepends(_db)]) -> int:
    """Each minute: imports whose job was lost are handed to the workers again."""
    async with db.system() as conn:
        stalled = await queries.claim_stalled(
            conn, pending_for=PENDING_FOR, running_for=RUNNING_FOR
        )
    for row in stalled:
        if row["stalls"] > MAX_STALLS:
            reason = (
                f"the import stopped {MAX_STALLS} times at row {row['rows_read'] + 1:,} of its "
                "file without going on; the rows before it were written (the workers' log "
                "says why it stopped)"
            )
            log.error("import given up", import_id=row["id"], rows_read=row["rows_read"])
            await give_up(db, row["tenant_id"], row["id"], reason)
            continue
        await run.kiq(row["tenant_id"], row["id"])
    if stalled:
        log.info(
            "imports handed out again",
            imports=[row["id"] for row in stalled],
            statuses=sorted({row["status"] for row in stalled}),
        )
    return len(stalled)


@cache
def _key_box(secret_key: str) -> SecretBox:
    return key_box(secret_key)


def poll_options() -> PollOptions:
    settings = get_settings()
    return PollOptions(
        imports_folder=settings.imports_path, allow_local=settings.webhooks_allow_local
    )


async def _kick_run(tenant_id: int, import_id: int) -> None:
    await run.kiq(tenant_id, import_id)


@broker.task(task_name="imports.poll_sftp", schedule=[{"cron": f"*/{POLL_MINUTES} * * * *"}])
async def poll_sftp(db: Annotated[Database, TaskiqDepends(_db)]) -> int:
    """Every few minutes: each enabled SFTP source's new files imported, each once (see
    ``domain.imports.sftp_poll``); a source that fails says why on its status."""
    box = _key_box(get_settings().secret_key)
    return await poll_all(db, box, poll_options(), _kick_run)
