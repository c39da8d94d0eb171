"""SQL of the outbox and the audit log, written together in one statement."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.db import Connection
from domain.outbox.events import Event

_AUDIT_COLUMNS = """audit_log
  (tenant_id, actor_type, actor_id, action, entity_type, entity_id, before, after,
   request_id, occurred_at)"""

# One round trip writes the audit row and the event: both commit or neither does.
_AUDIT_AND_EVENT = f"""
WITH audit AS (
  INSERT INTO {_AUDIT_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
)
INSERT INTO outbox (tenant_id, event_id, type, channels, data, occurred_at)
VALUES ($1, $11, $12, $13, $14, $10)
"""

_AUDIT = f"INSERT INTO {_AUDIT_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"


async def insert_change(
    conn: Connection,
    audit: tuple[Any, ...],
    at: dt.datetime,
    event: Event | None,
) -> None:
    """Insert an audit row ``(tenant_id, actor_type, actor_id, action, entity_type, entity_id,
    before, after, request_id)`` and, when given, its event."""
    if event is None:
        await conn.execute(_AUDIT, *audit, at)
    else:
        await conn.execute(
            _AUDIT_AND_EVENT, *audit, at, event.id, event.type, event.channels, event.data
        )


async def insert_event(conn: Connection, event: Event) -> None:
    await conn.execute(
        """INSERT INTO outbox (tenant_id, event_id, type, channels, data, occurred_at)
        VALUES ($1, $2, $3, $4, $5, $6)""",
        event.tenant_id,
        event.id,
        event.type,
        event.channels,
        event.data,
        event.occurred_at,
    )


async def wait_for_lock(conn: Connection, key: int) -> None:
    """Hold the session advisory lock ``key`` on ``conn``, waiting while another session has
    it (it is released when the session ends, however it ends)."""
    await conn.execute("SELECT pg_advisory_lock($1)", key)


async def claim_unpublished(conn: Connection, limit: int) -> list[Any]:
    """The oldest unpublished events, locked for this transaction (others skip them)."""
    return await conn.fetch(
        """SELECT id, tenant_id, event_id, type, channels, data::text AS data
        FROM outbox WHERE published_at IS NULL
        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )


async def mark_published(conn: Connection, ids: list[int]) -> None:
    await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", ids)


async def prune_published(conn: Connection, older_than: dt.timedelta, limit: int) -> int:
    status = await conn.execute(
        """DELETE FROM outbox WHERE id IN (
          SELECT id FROM outbox WHERE published_at < now() - $1::interval LIMIT $2)""",
        older_than,
        limit,
    )
    return int(status.split()[-1])


async def lag(conn: Connection) -> tuple[int, float]:
    """How many events wait for the relay, and how long the oldest has waited (seconds)."""
    row = await conn.fetchrow(
        """SELECT count(*) AS pending,
          coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS oldest
        FROM outbox WHERE published_at IS NULL"""
    )
    return row["pending"], row["oldest"]


_BULK_AUDIT = f"""INSERT INTO {_AUDIT_COLUMNS}
SELECT $1, $2, $3, $4, $5, x.entity_id, x.before, x.after, $6, $7
FROM jsonb_to_recordset($8::jsonb) AS x(entity_id bigint, before jsonb, after jsonb)"""

_BULK_EVENTS = """INSERT INTO outbox (tenant_id, event_id, type, channels, data, occurred_at)
SELECT $1, x.id, x.type, x.channels, x.data, x.occurred_at
FROM ROWS FROM (
  jsonb_to_recordset($9::jsonb)
    AS (id uuid, type text, channels text[], data jsonb, occurred_at timestamptz)
) WITH ORDINALITY AS x(id, type, channels, data, occurred_at, n)
ORDER BY x.n"""

# Both in one round trip: the audit rows and the events of one set-based change.
_BULK_CHANGE = f"WITH audit AS ({_BULK_AUDIT})\n{_BULK_EVENTS}"


def _event_rows(events: list[Event]) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "type": e.type,
            "channels": e.channels,
            "data": e.data,
            "occurred_at": e.occurred_at,
        }
        for e in events
    ]


async def insert_changes(
    conn: Connection,
    audit: tuple[Any, ...],
    at: dt.datetime,
    rows: list[dict[str, Any]],
    events: list[Event],
) -> None:
    """Audit rows of one kind of change to many entities and their events, in one
    statement: ``audit`` is ``(tenant_id, actor_type, actor_id, action, entity_type,
    request_id)`` and each row ``{"entity_id", "before", "after"}``."""
    await conn.execute(_BULK_CHANGE, *audit, at, rows, _event_rows(events))
