"""Workflows, their runs and steps, the engine's inbox, templates and messages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

from domain.db import Connection

WORKFLOW_COLUMNS = """id, name, enabled, version, trigger_type, definition, last_error,
  last_error_at, created_at, updated_at"""
RUN_COLUMNS = """r.id, r.workflow_id, w.name AS workflow_name, r.version, r.account_id,
  r.event_id, r.trigger_type, r.event, r.arm, r.status, r.position, r.resume_at, r.attempts,
  r.error, r.started_at, r.finished_at"""
TEMPLATE_COLUMNS = "id, name, channel, subject, body, created_at, updated_at"
MESSAGE_COLUMNS = """id, account_id, debtor_id, channel, to_address, subject, body, status,
  transport, attempts, error, run_id, position, interaction_id, created_at, sent_at"""

# What conditions and templates read of an account and its debtor.
SUBJECT_COLUMNS = """a.id, a.external_ref, a.creditor, a.currency, a.status, a.principal,
  a.interest, a.fees, a.credit, a.due_date, a.owner_id, a.custom, a.debtor_id,
  d.first_name, d.last_name, d.email, d.phone, d.country, d.region, d.time_zone,
  d.do_not_contact, d.opt_out_call, d.opt_out_sms, d.opt_out_email, d.cease_requested_at,
  d.custom AS debtor_custom"""


# --- workflows ---------------------------------------------------------------------------


async def workflows(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {WORKFLOW_COLUMNS} FROM workflows ORDER BY lower(name), id")


async def workflow(
    conn: Connection, workflow_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1{lock}", workflow_id
    )


async def name_taken(conn: Connection, name: str, other_than: int | None = None) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM workflows WHERE lower(name) = lower($1) "
        "AND id IS DISTINCT FROM $2)",
        name,
        other_than,
    )


async def insert_workflow(
    conn: Connection,
    tenant_id: int,
    *,
    name: str,
    enabled: bool,
    trigger_type: str,
    definition: dict[str, Any],
    at: dt.datetime,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""WITH w AS (
          INSERT INTO workflows (tenant_id, name, enabled, trigger_type, definition,
            created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *
        ), v AS (
          INSERT INTO workflow_versions (tenant_id, workflow_id, version, definition, created_at)
          SELECT tenant_id, id, version, definition, created_at FROM w
        )
        SELECT {WORKFLOW_COLUMNS} FROM w""",
        tenant_id,
        name,
        enabled,
        trigger_type,
        definition,
        at,
    )


async def update_workflow(
    conn: Connection,
    workflow_id: int,
    *,
    name: str,
    enabled: bool,
    trigger_type: str,
    definition: dict[str, Any],
    new_version: bool,
    at: dt.datetime,
) -> asyncpg.Record:
    """Store the workflow; with ``new_version``, as its next version."""
    return await conn.fetchrow(
        f"""WITH w AS (
          UPDATE workflows SET name = $2, enabled = $3, trigger_type = $4, definition = $5,
            version = version + $6::int, updated_at = $7
          WHERE id = $1 RETURNING *
        ), v AS (
          INSERT INTO workflow_versions (tenant_id, workflow_id, version, definition, created_at)
          SELECT tenant_id, id, version, definition, updated_at FROM w WHERE $6::int = 1
        )
        SELECT {WORKFLOW_COLUMNS} FROM w""",
        workflow_id,
        name,
        enabled,
        trigger_type,
        definition,
        1 if new_version else 0,
        at,
    )


async def delete_workflow(conn: Connection, workflow_id: int) -> bool:
    return await conn.fetchval(
        "WITH d AS (DELETE FROM workflows WHERE id = $1 RETURNING 1) SELECT count(*) > 0 FROM d",
        workflow_id,
    )


async def enabled_for(conn: Connection, types: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, name, version, trigger_type, definition FROM workflows "
        "WHERE enabled AND trigger_type = ANY($1::text[])",
        types,
    )


async def version_definition(
    conn: Connection, workflow_id: int, version: int
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT v.definition, w.name FROM workflow_versions v "
        "JOIN workflows w ON w.id = v.workflow_id AND w.tenant_id = v.tenant_id "
        "WHERE v.workflow_id = $1 AND v.version = $2",
        workflow_id,
        version,
    )


async def runs_between(conn: Connection, since: dt.datetime, until: dt.datetime) -> dict[int, int]:
    rows = await conn.fetch(
        "SELECT workflow_id, count(*) AS runs FROM workflow_runs "
        "WHERE started_at >= $1 AND started_at < $2 GROUP BY workflow_id",
        since,
        until,
    )
    return {r["workflow_id"]: r["runs"] for r in rows}


async def note_error(conn: Connection, workflow_id: int, error: str, at: dt.datetime) -> None:
    await conn.execute(
        "UPDATE workflows SET last_error = $2, last_error_at = $3 WHERE id = $1",
        workflow_id,
        error,
        at,
    )


# --- the accounts runs are about ---------------------------------------------------------


async def subjects(conn: Connection, account_ids: list[int]) -> dict[int, asyncpg.Record]:
    rows = await conn.fetch(
        f"""SELECT {SUBJECT_COLUMNS} FROM accounts a
        JOIN debtors d ON d.id = a.debtor_id AND d.tenant_id = a.tenant_id
        WHERE a.id = ANY($1::bigint[])""",
        account_ids,
    )
    return {r["id"]: r for r in rows}


async def first_subjects(conn: Connection, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {SUBJECT_COLUMNS} FROM accounts a
        JOIN debtors d ON d.id = a.debtor_id AND d.tenant_id = a.tenant_id
        ORDER BY a.id LIMIT $1""",
        limit,
    )


# --- the inbox ---------------------------------------------------------------------------


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


# --- runs --------------------------------------------------------------------------------


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
          status, position""",
        tenant_id,
        *[list(c) for c in columns],
    )


async def run(conn: Connection, run_id: int, *, for_update: bool = False) -> asyncpg.Record | None:
    lock = " FOR UPDATE OF r" if for_update else ""
    return await conn.fetchrow(
        f"""SELECT {RUN_COLUMNS} FROM workflow_runs r
        JOIN workflows w ON w.id = r.workflow_id AND w.tenant_id = r.tenant_id
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


async def fail_run(conn: Connection, run_id: int, error: str, at: dt.datetime) -> None:
    await conn.execute(
        "UPDATE workflow_runs SET status = 'failed', error = $2, resume_at = NULL, "
        "finished_at = $3 WHERE id = $1 AND status = 'waiting'",
        run_id,
        error,
        at,
    )


# --- templates ---------------------------------------------------------------------------


async def templates(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {TEMPLATE_COLUMNS} FROM message_templates ORDER BY lower(name), id"
    )


async def template(conn: Connection, template_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {TEMPLATE_COLUMNS} FROM message_templates WHERE id = $1", template_id
    )


async def templates_by_id(conn: Connection, ids: list[int]) -> dict[int, asyncpg.Record]:
    rows = await conn.fetch(
        f"SELECT {TEMPLATE_COLUMNS} FROM message_templates WHERE id = ANY($1::bigint[])", ids
    )
    return {r["id"]: r for r in rows}


async def template_name_taken(conn: Connection, name: str, other_than: int | None) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM message_templates WHERE lower(name) = lower($1) "
        "AND id IS DISTINCT FROM $2)",
        name,
        other_than,
    )


async def insert_template(
    conn: Connection, tenant_id: int, values: dict[str, Any], at: dt.datetime
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO message_templates (tenant_id, name, channel, subject, body, created_at,
          updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {TEMPLATE_COLUMNS}""",
        tenant_id,
        values["name"],
        values["channel"],
        values["subject"],
        values["body"],
        at,
    )


async def update_template(
    conn: Connection, template_id: int, values: dict[str, Any], at: dt.datetime
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""UPDATE message_templates SET name = $2, subject = $3, body = $4, updated_at = $5
        WHERE id = $1 RETURNING {TEMPLATE_COLUMNS}""",
        template_id,
        values["name"],
        values["subject"],
        values["body"],
        at,
    )


async def template_in_use(conn: Connection, template_id: int) -> str | None:
    """The name of a workflow whose current version sends the template, if any."""
    return await conn.fetchval(
        """SELECT name FROM workflows
        WHERE jsonb_path_exists(definition, '$.** ? (@.template_id == $id)',
          jsonb_build_object('id', $1::bigint))
        ORDER BY id LIMIT 1""",
        template_id,
    )


async def delete_template(conn: Connection, template_id: int) -> bool:
    return await conn.fetchval(
        "WITH d AS (DELETE FROM message_templates WHERE id = $1 RETURNING 1) "
        "SELECT count(*) > 0 FROM d",
        template_id,
    )


# --- messages ----------------------------------------------------------------------------


async def insert_message(
    conn: Connection, tenant_id: int, values: dict[str, Any], at: dt.datetime
) -> int | None:
    """A queued message; None when the run's step already made one."""
    return await conn.fetchval(
        """INSERT INTO messages (tenant_id, account_id, debtor_id, run_id, position, channel,
          to_address, subject, body, status, transport, created_at, next_attempt_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', '', $10, $10)
        ON CONFLICT (run_id, position) WHERE run_id IS NOT NULL DO NOTHING
        RETURNING id""",
        tenant_id,
        values["account_id"],
        values["debtor_id"],
        values["run_id"],
        values["position"],
        values["channel"],
        values["to_address"],
        values["subject"],
        values["body"],
        at,
    )


async def due_messages(conn: Connection, now: dt.datetime, limit: int) -> list[asyncpg.Record]:
    """Queued messages whose time has come, across tenants (system connection)."""
    return await conn.fetch(
        "SELECT tenant_id, id FROM messages WHERE status = 'queued' AND next_attempt_at <= $1 "
        "ORDER BY next_attempt_at LIMIT $2",
        now,
        limit,
    )


async def claim_message(
    conn: Connection, message_id: int, now: dt.datetime
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {MESSAGE_COLUMNS} FROM messages
        WHERE id = $1 AND status = 'queued' AND next_attempt_at <= $2 FOR UPDATE SKIP LOCKED""",
        message_id,
        now,
    )


async def settle_message(
    conn: Connection,
    message_id: int,
    *,
    status: str,
    transport: str,
    error: str | None,
    next_attempt_at: dt.datetime | None,
    interaction_id: int | None,
    at: dt.datetime,
) -> None:
    await conn.execute(
        """UPDATE messages SET status = $2::text, transport = $3, error = $4,
          attempts = attempts + 1, next_attempt_at = COALESCE($5, next_attempt_at),
          interaction_id = $6, sent_at = CASE WHEN $2::text = 'sent' THEN $7::timestamptz END
        WHERE id = $1""",
        message_id,
        status,
        transport,
        error,
        next_attempt_at,
        interaction_id,
        at,
    )


async def messages(
    conn: Connection, *, account_id: int | None, before: int | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {MESSAGE_COLUMNS} FROM messages
        WHERE ($1::bigint IS NULL OR account_id = $1) AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3""",
        account_id,
        before,
        limit,
    )


def new_event_id(*parts: object) -> uuid.UUID:
    """A stable id for a time trigger's occurrence (the same day gives the same id)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "recoup:" + ":".join(str(p) for p in parts))
