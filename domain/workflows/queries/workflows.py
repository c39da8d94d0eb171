"""Workflows and their versions, the accounts runs are about, the points accounts reach."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.db import Connection
from domain.debtors.contact_queries import reachable

WORKFLOW_COLUMNS = """id, name, enabled, version, trigger_type, definition, last_error,
  last_error_at, created_at, updated_at"""

# What conditions and templates read of an account and its debtor: the e-mail address and
# the number messages go to are the preferred ones given consent (else another that is).
SUBJECT_COLUMNS = f"""a.id, a.external_ref, a.creditor, a.currency, a.status, a.principal,
  a.interest, a.fees, a.credit, a.due_date, a.owner_id, a.custom, a.debtor_id,
  d.first_name, d.last_name, {reachable("d", "email", "email")} AS email,
  {reachable("d", "phone", "sms")} AS phone, d.country, d.region, d.time_zone,
  d.do_not_contact, d.opt_out_call, d.opt_out_sms, d.opt_out_email, d.cease_requested_at,
  d.custom AS debtor_custom"""


async def workflows(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {WORKFLOW_COLUMNS} FROM workflows ORDER BY lower(name), id")


async def workflow(
    conn: Connection, workflow_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {WORKFLOW_COLUMNS} FROM workflows WHERE id = $1{lock}", workflow_id
    )


async def name_taken(
    conn: Connection, tenant_id: int, name: str, other_than: int | None = None
) -> bool:
    """Whether another workflow of the tenant has this name (the tenant named, so that the
    answer holds in a system transaction too, as when a tenant is created)."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM workflows WHERE tenant_id = $1 AND lower(name) = lower($2) "
        "AND id IS DISTINCT FROM $3)",
        tenant_id,
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


async def time_workflows(conn: Connection) -> list[asyncpg.Record]:
    """Enabled workflows that start on a point an account reaches, across tenants."""
    return await conn.fetch(
        "SELECT id, tenant_id, version, trigger_type, definition -> 'trigger' AS trigger "
        "FROM workflows WHERE enabled AND trigger_type = ANY($1::text[]) ORDER BY id",
        ["account.days_past_due", "account.bucket_entered", "promise.due_in"],
    )


async def stage_due_accounts(
    conn: Connection, workflow_id: int, trigger_type: str, due_date: dt.date, today: dt.date
) -> int:
    """Put an event in the inbox for each account whose due date is ``due_date`` (it
    reaches the workflow's day past due today), one per workflow, account and day."""
    return await conn.fetchval(
        """WITH staged AS (
          INSERT INTO workflow_inbox (tenant_id, event_id, type, data)
          SELECT a.tenant_id,
            md5('recoup:' || $1::bigint || ':' || a.id || ':' || $4::date)::uuid,
            $2::text, jsonb_build_object('workflow_id', $1::bigint, 'account_id', a.id,
              'date', $4::date)
          FROM accounts a
          WHERE a.due_date = $3::date
            AND a.status NOT IN ('paid', 'closed', 'settled', 'bankrupt', 'deceased')
          ON CONFLICT (event_id) DO NOTHING RETURNING 1
        ) SELECT count(*) FROM staged""",
        workflow_id,
        trigger_type,
        due_date,
        today,
    )


async def stage_due_promises(
    conn: Connection, workflow_id: int, due: dt.date, today: dt.date
) -> int:
    """An event for each pending promise due on ``due`` (in the workflow's days from today)."""
    return await conn.fetchval(
        """WITH staged AS (
          INSERT INTO workflow_inbox (tenant_id, event_id, type, data)
          SELECT p.tenant_id,
            md5('recoup:' || $1::bigint || ':p' || p.id || ':' || $3::date)::uuid,
            'promise.due_in',
            jsonb_build_object('workflow_id', $1::bigint, 'account_id', p.account_id,
              'promise', jsonb_build_object('id', p.id, 'account_id', p.account_id,
                'amount', p.amount::text, 'currency', p.currency, 'due_date', p.due_date),
              'date', $3::date)
          FROM promises p
          WHERE p.due_date = $2::date AND p.status = 'pending'
          ON CONFLICT (event_id) DO NOTHING RETURNING 1
        ) SELECT count(*) FROM staged""",
        workflow_id,
        due,
        today,
    )
