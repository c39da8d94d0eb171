"""The engine's inbox, runs and their steps, and how each arm of a workflow did."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.db import Connection

RUN_COLUMNS = """r.id, r.workflow_id, w.name AS workflow_name, r.version, r.account_id,
  a.external_ref AS account_ref, r.event_id, r.trigger_type, r.event, r.arm, r.status,
  r.position, r.resume_at, r.attempts, r.error, r.started_at, r.finished_at"""


_ENTERED = """WITH entered AS (
  SELECT DISTINCT ON (r.account_id) r.account_id, coalesce(r.arm, '') AS arm, r.started_at
  FROM workflow_runs r
  WHERE r.workflow_id = $1 AND r.version = $2 AND r.status <> 'failed'
  ORDER BY r.account_id, r.started_at
)"""


async def stage(conn: Connection, outbox_ids: list[int]) -> list[int]:
    """Copy relayed events that an enabled workflow of their tenant starts on into the
    inbox (in the relay's transaction); the tenants that got any."""
    rows = await conn.fetch(
        """WITH staged AS (
          INSERT INTO workflow_inbox (tenant_id, event_id, type, data, occurred_at)
          SELECT o.tenant_id, o.event_id, o.type, o.data, o.occurred_at
          FROM outbox o
          WHERE o.id = ANY($1::bigint[]) AND EXISTS (
            SELECT 1 FROM workflows w
            WHERE w.tenant_id = o.tenant_id AND w.enabled AND w.trigger_type = o.type)
          ORDER BY o.id
          ON CONFLICT (event_id) DO NOTHING
          RETURNING tenant_id
        )
        SELECT DISTINCT tenant_id FROM staged ORDER BY 1""",
        outbox_ids,
    )
    return [r["tenant_id"] for r in rows]


async def claim_inbox(conn: Connection, limit: int) -> list[asyncpg.Record]:
    """The tenant's oldest waiting events, locked (another worker takes the next ones).
    ``self_made`` marks an interaction that a workflow's own message logged: never a
    trigger, so that no workflow feeds itself."""
    return await conn.fetch(
        """SELECT i.id, i.event_id, i.type, i.data, i.occurred_at,
          i.type = 'interaction.logged' AND EXISTS (
            SELECT 1 FROM messages m
            WHERE m.interaction_id = (i.data ->> 'id')::bigint AND m.tenant_id = i.tenant_id
          ) AS self_made
        FROM workflow_inbox i ORDER BY i.id LIMIT $1 FOR UPDATE OF i SKIP LOCKED""",
        limit,
    )


async def clear_inbox(conn: Connection, ids: list[int]) -> None:
    await conn.execute("DELETE FROM workflow_inbox WHERE id = ANY($1::bigint[])", ids)


async def tenants_with_inbox(conn: Connection) -> list[int]:
    rows = await conn.fetch("SELECT DISTINCT tenant_id FROM workflow_inbox ORDER BY 1")
    return [r["tenant_id"] for r in rows]


async def insert_runs(conn: Connection, tenant_id: int, runs: list[tuple]) -> list[asyncpg.Record]:
    """New runs ``(workflow_id, version, account_id, event_id, trigger_type, event, arm,
    status, error, started_at)``; one already made for the same version and event is
    skipped. The runs made, in the order given."""
    if not runs:
        return []
    columns = list(zip(*runs, strict=True))
    return await conn.fetch(
        """INSERT INTO workflow_runs (tenant_id, workflow_id, version, account_id, event_id,
          trigger_type, event, arm, status, error, started_at, finished_at)
        SELECT $1, w, v, a, e, t, ev, arm, s, err, at,
          CASE WHEN s IN ('completed', 'stopped', 'failed') THEN at END
        FROM unnest($2::bigint[], $3::int[], $4::bigint[], $5::uuid[], $6::text[], $7::jsonb[],
          $8::text[], $9::text[], $10::text[], $11::timestamptz[])
          WITH ORDINALITY AS n(w, v, a, e, t, ev, arm, s, err, at, i)
        ORDER BY i
        ON CONFLICT (workflow_id, version, event_id) DO NOTHING
        RETURNING id, workflow_id, version, account_id, event_id, trigger_type, event, arm,
          status, position, error""",
        tenant_id,
        *[list(c) for c in columns],
    )


async def run(conn: Connection, run_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE OF r" if for_update else ""
    return await conn.fetchrow(
        f"""SELECT {RUN_COLUMNS} FROM workflow_runs r
        JOIN workflows w ON w.id = r.workflow_id AND w.tenant_id = r.tenant_id
        JOIN accounts a ON a.id = r.account_id AND a.tenant_id = r.tenant_id
        WHERE r.id = $1{lock}""",
        run_id,
    )


async def runs(
    conn: Connection,
    *,
    workflow_id: int | None = None,
    account_id: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {RUN_COLUMNS} FROM workflow_runs r
        JOIN workflows w ON w.id = r.workflow_id AND w.tenant_id = r.tenant_id
        JOIN accounts a ON a.id = r.account_id AND a.tenant_id = r.tenant_id
        WHERE ($1::bigint IS NULL OR r.workflow_id = $1)
          AND ($2::bigint IS NULL OR r.account_id = $2)
          AND ($3::bigint IS NULL OR r.id < $3)
        ORDER BY r.id DESC LIMIT $4""",
        workflow_id,
        account_id,
        before,
        limit,
    )


async def steps_of(conn: Connection, run_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT run_id, position, kind, outcome, detail, error, started_at, finished_at "
        "FROM workflow_run_steps WHERE run_id = ANY($1::bigint[]) ORDER BY run_id, id",
        run_ids,
    )


async def save_run(
    conn: Connection,
    run_id: int,
    *,
    status: str,
    position: int,
    resume_at: dt.datetime | None,
    error: str | None,
    at: dt.datetime,
) -> None:
    await conn.execute(
        """UPDATE workflow_runs SET status = $2::text, position = $3, resume_at = $4,
          error = $5, finished_at = CASE WHEN $2::text IN ('completed', 'stopped', 'failed')
            THEN $6::timestamptz END
        WHERE id = $1""",
        run_id,
        status,
        position,
        resume_at,
        error,
        at,
    )


async def insert_step(
    conn: Connection,
    tenant_id: int,
    run_id: int,
    position: int,
    kind: str,
    outcome: str,
    detail: dict[str, Any],
    error: str | None,
    started_at: dt.datetime,
    finished_at: dt.datetime | None,
) -> None:
    await conn.execute(
        """INSERT INTO workflow_run_steps (tenant_id, run_id, position, kind, outcome, detail,
          error, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        tenant_id,
        run_id,
        position,
        kind,
        outcome,
        detail,
        error,
        started_at,
        finished_at,
    )


async def finish_waiting_step(
    conn: Connection,
    run_id: int,
    position: int,
    outcome: str,
    detail: dict[str, Any],
    error: str | None,
    at: dt.datetime,
) -> None:
    """The step a run waited on has finished (its message sent, or not)."""
    await conn.execute(
        """UPDATE workflow_run_steps SET outcome = $3, detail = detail || $4, error = $5,
          finished_at = $6
        WHERE id = (SELECT max(id) FROM workflow_run_steps WHERE run_id = $1 AND position = $2)""",
        run_id,
        position,
        outcome,
        detail,
        error,
        at,
    )


async def due_runs(conn: Connection, now: dt.datetime, limit: int) -> list[asyncpg.Record]:
    """Waiting runs whose time has come, across tenants (system connection)."""
    return await conn.fetch(
        "SELECT tenant_id, id FROM workflow_runs WHERE status = 'waiting' AND resume_at <= $1 "
        "ORDER BY resume_at LIMIT $2",
        now,
        limit,
    )


async def claim_run(conn: Connection, run_id: int, now: dt.datetime) -> asyncpg.Record | None:
    """The run, locked, if it is still due (another worker may have taken it)."""
    return await conn.fetchrow(
        """SELECT id, workflow_id, version, account_id, event_id, trigger_type, event, arm,
          status, position FROM workflow_runs
        WHERE id = $1 AND status = 'waiting' AND resume_at <= $2 FOR UPDATE SKIP LOCKED""",
        run_id,
        now,
    )


async def wake_run(conn: Connection, run_id: int, at: dt.datetime) -> None:
    """A run waiting on its message goes on at its next step."""
    await conn.execute(
        "UPDATE workflow_runs SET resume_at = $2, position = position + 1 "
        "WHERE id = $1 AND status = 'waiting'",
        run_id,
        at,
    )


async def fail_run(conn: Connection, run_id: int, error: str, at: dt.datetime) -> int | None:
    """The waiting run stops with ``error``; its workflow's id (None if it was not waiting)."""
    return await conn.fetchval(
        "UPDATE workflow_runs SET status = 'failed', error = $2, resume_at = NULL, "
        "finished_at = $3 WHERE id = $1 AND status = 'waiting' RETURNING workflow_id",
        run_id,
        error,
        at,
    )


async def arm_outcomes(
    conn: Connection, workflow_id: int, version: int, days: int
) -> list[asyncpg.Record]:
    """Per arm: accounts that entered (first entry each), how many paid and how many
    promises were kept within ``days`` of entry."""
    return await conn.fetch(
        f"""{_ENTERED}
        SELECT e.arm, count(*) AS accounts,
          count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM payments p
            WHERE p.account_id = e.account_id AND p.status = 'succeeded'
              AND p.received_at >= e.started_at
              AND p.received_at < e.started_at + make_interval(days => $3))) AS paying,
          coalesce(sum((
            SELECT count(*) FROM promises pr
            WHERE pr.account_id = e.account_id AND pr.status = 'kept'
              AND pr.resolved_at >= e.started_at
              AND pr.resolved_at < e.started_at + make_interval(days => $3))), 0) AS kept
        FROM entered e GROUP BY e.arm ORDER BY e.arm""",
        workflow_id,
        version,
        days,
    )


async def arm_collections(
    conn: Connection, workflow_id: int, version: int, days: int
) -> list[asyncpg.Record]:
    """Per arm and currency: the money received within ``days`` of each account's entry."""
    return await conn.fetch(
        f"""{_ENTERED}
        SELECT e.arm, p.currency, sum(p.amount) AS amount
        FROM entered e
        JOIN payments p ON p.account_id = e.account_id AND p.status = 'succeeded'
          AND p.received_at >= e.started_at
          AND p.received_at < e.started_at + make_interval(days => $3)
        GROUP BY e.arm, p.currency ORDER BY e.arm, p.currency""",
        workflow_id,
        version,
        days,
    )
