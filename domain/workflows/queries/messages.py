"""Message templates, and the messages queued and sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.db import Connection

TEMPLATE_COLUMNS = "id, name, channel, subject, body, created_at, updated_at"

MESSAGE_COLUMNS = """id, account_id, debtor_id, channel, to_address, subject, body, status,
  transport, attempts, error, run_id, position, interaction_id, next_attempt_at, created_at,
  sent_at"""


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


async def template_name_taken(
    conn: Connection, tenant_id: int, name: str, other_than: int | None
) -> bool:
    """Whether another template of the tenant has this name (in a system transaction too)."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM message_templates WHERE tenant_id = $1 "
        "AND lower(name) = lower($2) AND id IS DISTINCT FROM $3)",
        tenant_id,
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


async def insert_message(
    conn: Connection,
    tenant_id: int,
    values: dict[str, Any],
    at: dt.datetime,
    send_at: dt.datetime | None = None,
) -> int | None:
    """A queued message, due at ``send_at`` (else now); None when the run's step already
    made one."""
    return await conn.fetchval(
        """INSERT INTO messages (tenant_id, account_id, debtor_id, run_id, position, channel,
          to_address, subject, body, status, transport, created_at, next_attempt_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', '', $10::timestamptz,
          COALESCE($11::timestamptz, $10::timestamptz))
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
        send_at,
    )


async def insert_messages(
    conn: Connection, tenant_id: int, rows: list[dict[str, Any]], at: dt.datetime
) -> dict[tuple[int, int], int]:
    """Queued messages of run steps (``account_id``, ``debtor_id``, ``run_id``,
    ``position``, ``channel``, ``to_address``, ``subject``, ``body``); the ids of those
    made, by run and position (a step that already made its message makes none)."""
    if not rows:
        return {}
    made = await conn.fetch(
        """INSERT INTO messages (tenant_id, account_id, debtor_id, run_id, position, channel,
          to_address, subject, body, status, transport, created_at, next_attempt_at)
        SELECT $1, x.account_id, x.debtor_id, x.run_id, x.position, x.channel, x.to_address,
          x.subject, x.body, 'queued', '', $3, $3
        FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (account_id bigint,
          debtor_id bigint, run_id bigint, position int, channel text, to_address text,
          subject text, body text)) WITH ORDINALITY AS x
        ORDER BY x.ordinality
        ON CONFLICT (run_id, position) WHERE run_id IS NOT NULL DO NOTHING
        RETURNING id, run_id, position""",
        tenant_id,
        rows,
        at,
    )
    return {(r["run_id"], r["position"]): r["id"] for r in made}


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
        f"""SELECT {MESSAGE_COLUMNS},
          (SELECT a.external_ref FROM accounts a WHERE a.id = m.account_id) AS account_ref
        FROM messages m
        WHERE ($1::bigint IS NULL OR account_id = $1) AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3""",
        account_id,
        before,
        limit,
    )
