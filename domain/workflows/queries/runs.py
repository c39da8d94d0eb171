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


# Relayed events (outbox ids in $1) that an enabled workflow of their tenant starts on,
# copied into the inbox; the tenants that got any. The relay runs it inside its own
# statement that marks the batch published (``domain/outbox/queries.py``).
STAGE = """INSERT INTO workflow_inbox (tenant_id, event_id, type, data, occurred_at)
SELECT o.tenant_id, o.event_id, o.type, o.data, o.occurred_at
FROM outbox o
WHERE o.id = ANY($1::bigint[]) AND EXISTS (
  SELECT 1 FROM workflows w
  WHERE w.tenant_id = o.tenant_id AND w.enabled AND w.trigger_type = o.type)
ORDER BY o.id
ON CONFLICT (event_id) DO NOTHING
RETURNING tenant_id"""


async def stage(conn: Connection, outbox_ids: list[int]) -> list[int]:
    """``STAGE`` on its own (in the caller's transaction)."""
    rows = await conn.fetch(
        f"WITH staged AS ({STAGE}) SELECT DISTINCT tenant_id FROM staged ORDER BY 1",
        outbox_ids,
    )
    return [r["tenant_id"] for r in rows]


# The ids to take are read once, as an array (an InitPlan), and the rows deleted by that
# array: one pass however the planner sees the inbox. The inbox is empty most of the time,
# so a plan cached while it was (``id IN (subquery)``, a nested loop over a table "of no
# rows") would scan the whole inbox once per event taken when a burst arrives.
TAKE_INBOX = """WITH taken AS (
  DELETE FROM workflow_inbox WHERE id = ANY(ARRAY(
    SELECT id FROM workflow_inbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED))
  RETURNING id, tenant_id, event_id, type, data, occurred_at
)
SELECT t.id, t.event_id, t.type, t.data, t.occurred_at,
  t.type = 'interaction.logged' AND EXISTS (
    SELECT 1 FROM messages m
    WHERE m.interaction_id = (t.data ->> 'id')::bigint AND m.tenant_id = t.tenant_id
  ) AS self_made
FROM taken t ORDER BY t.id"""


async def take_inbox(conn: Connection, limit: int) -> list[asyncpg.Record]:
    """The tenant's oldest waiting events, taken out of the inbox (another worker takes
    the next ones; they are back if the transaction fails). ``self_made`` marks an
    interaction that a workflow's own message logged: never a trigger, so that no workflow
    feeds itself."""
    return await conn.fetch(TAKE_INBOX, limit)


async def tenants_with_inbox(conn: Connection) -> list[int]:
    rows = await conn.fetch("SELECT DISTINCT tenant_id FROM workflow_inbox ORDER BY 1")
    return [r["tenant_id"] for r in rows]


async def fresh(conn: Connection, keys: list[tuple[int, int, Any]]) -> dict[int, int]:
    """Which of ``(workflow_id, version, event_id)`` have no run yet, each with the id of
    the run about to be made: ``{index in keys: run id}``."""
    if not keys:
        return {}
    workflows, versions, events = (list(c) for c in zip(*keys, strict=True))
    rows = await conn.fetch(
        """SELECT x.n - 1 AS i, nextval(pg_get_serial_sequence('workflow_runs', 'id')) AS id
        FROM unnest($1::bigint[], $2::int[], $3::uuid[]) WITH ORDINALITY AS x(w, v, e, n)
        WHERE NOT EXISTS (SELECT 1 FROM workflow_runs r
          WHERE r.workflow_id = x.w AND r.version = x.v AND r.event_id = x.e)
        ORDER BY x.n""",
        workflows,
        versions,
        events,
    )
    return {r["i"]: r["id"] for r in rows}


class RunStartedElsewhere(RuntimeError):
    """A run of the same version and event was made meanwhile: the batch starts over."""


async def insert_runs(conn: Connection, tenant_id: int, runs: list[dict[str, Any]]) -> None:
    """New runs as they stand after their first steps (``id``, ``workflow_id``, ``version``,
    ``account_id``, ``event_id``, ``trigger_type``, ``event``, ``arm``, ``status``,
    ``position``, ``resume_at``, ``error``, ``started_at``, ``finished_at``)."""
    if not runs:
        return
    made = await conn.fetchval(
        """WITH made AS (
          INSERT INTO workflow_runs (id, tenant_id, workflow_id, version, account_id, event_id,
            trigger_type, event, arm, status, position, resume_at, error, started_at,
            finished_at)
          SELECT x.id, $1, x.workflow_id, x.version, x.account_id, x.event_id, x.trigger_type,
            x.event, x.arm, x.status, x.position, x.resume_at, x.error, x.started_at,
            x.finished_at
          FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, workflow_id bigint, version int,
            account_id bigint, event_id uuid, trigger_type text, event jsonb, arm text,
            status text, position int, resume_at timestamptz, error text,
            started_at timestamptz, finished_at timestamptz)
          ON CONFLICT (workflow_id, version, event_id) DO NOTHING
          RETURNING 1
        )
        SELECT count(*) FROM made""",
        tenant_id,
        runs,
    )
    if made != len(runs):
        raise RunStartedElsewhere(f"{len(runs) - made} of {len(runs)} runs were made meanwhile")


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


async def save_runs(conn: Connection, rows: list[tuple], at: dt.datetime) -> None:
    """Where runs stand now, ``(run_id, status, position, resume_at, error)`` each; a run
    that ended is finished ``at``."""
    if not rows:
        return
    ids, statuses, positions, resume, errors = (list(c) for c in zip(*rows, strict=True))
    await conn.execute(
        """UPDATE workflow_runs r SET status = x.status, position = x.position,
          resume_at = x.resume_at, error = x.error,
          finished_at = CASE WHEN x.status IN ('completed', 'stopped', 'failed')
            THEN $6::timestamptz END
        FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[], $5::text[])
          AS x(id, status, position, resume_at, error)
        WHERE r.id = x.id""",
        ids,
        statuses,
        positions,
        resume,
        errors,
        at,
    )


async def insert_steps(conn: Connection, tenant_id: int, rows: list[tuple]) -> None:
    """Steps done, ``(run_id, position, kind, outcome, detail, error, started_at,
    finished_at)`` each, in the order given (a run's steps are read back in that order)."""
    if not rows:
        return
    columns = [list(c) for c in zip(*rows, strict=True)]
    await conn.execute(
        """INSERT INTO workflow_run_steps (tenant_id, run_id, position, kind, outcome, detail,
          error, started_at, finished_at)
        SELECT $1, run_id, position, kind, outcome, detail, error, started_at, finished_at
        FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[], $6::jsonb[], $7::text[],
          $8::timestamptz[], $9::timestamptz[])
          WITH ORDINALITY AS x(run_id, position, kind, outcome, detail, error, started_at,
            finished_at, n)
        ORDER BY n""",
        tenant_id,
        *columns,
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
