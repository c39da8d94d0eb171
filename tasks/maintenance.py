"""Housekeeping on a schedule: expired refresh tokens go."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import structlog
from taskiq import TaskiqDepends, TaskiqState

from domain.auth import queries as auth_queries
from domain.clock import utcnow
from domain.db import Database
from tasks.broker import broker

log = structlog.get_logger("recoup.jobs")

# Expired tokens are kept a while so that a late reuse is still recognised as reuse.
REFRESH_TOKEN_GRACE = dt.timedelta(days=7)


def _db(state: Annotated[TaskiqState, TaskiqDepends()]) -> Database:
    return state.db


@broker.task(task_name="maintenance.prune_refresh_tokens", schedule=[{"cron": "17 * * * *"}])
async def prune_refresh_tokens(db: Annotated[Database, TaskiqDepends(_db)]) -> int:
    """Delete refresh tokens that expired more than a week ago (idempotent)."""
    async with db.system() as conn:
        removed = await auth_queries.prune_refresh_tokens(conn, utcnow() - REFRESH_TOKEN_GRACE)
    log.info("pruned refresh tokens", removed=removed)
    return removed
