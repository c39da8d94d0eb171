"""SQL of the outbox and the audit log, written together in one statement."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
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


# ``tail``: the event's frame after its position, as ``channels.protocol.event_tail``
# writes it, built here so that the relay does no work of its own for each event. The
# outbox's notice builds it the same way for the events it carries (``outbox_notify()``,
# migration 2026-12-02T19:00).
_UNPUBLISHED = """SELECT id, tenant_id, type, channels,
  '","id":"' || event_id::text || '","type":' || to_json(type)::text
    || ',"data":' || data::text || '}' AS tail
FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1"""


async def claim_unpublished(conn: Connection, limit: int, *, lock: bool = True) -> list[Any]:
    """The oldest unpublished events, each with its frame's ``tail``; with ``lock``, locked
    for this transaction (others that lock skip them)."""
    if lock:
        return await conn.fetch(_UNPUBLISHED + " FOR UPDATE SKIP LOCKED", limit)
    return await conn.fetch(_UNPUBLISHED, limit)


_MARK = """UPDATE outbox o SET published_at = now(), positions = string_to_array(x.p, ' ')
FROM unnest($1::bigint[], $2::text[]) AS x (id, p) WHERE o.id = x.id"""


@functools.cache
def _mark_and_stage(stages: tuple[str, ...]) -> str:
    """One statement: the mark, and each stage as a CTE of its own (each runs once, to
    completion, whether or not the query reads it); the tenants each staged for."""
    ctes = ",\n".join(f"s{n} AS (\n{sql}\n)" for n, sql in enumerate(stages))
    union = "\nUNION ".join(f"SELECT {n} AS stage, tenant_id FROM s{n}" for n in range(len(stages)))
    return f"WITH marked AS (\n{_MARK}\n),\n{ctes}\n{union}\nORDER BY 1, 2"


async def mark_published(
    conn: Connection, ids: list[int], positions: list[str], stages: Sequence[str] = ()
) -> list[list[int]]:
    """Mark the events ``ids`` published; ``positions`` gives each one's positions on its
    channels, space-separated, in the order of its ``channels``. In the same statement (one
    round trip), each of ``stages`` keeps what a job wants of these events: an ``INSERT``
    over the outbox rows whose ids are ``$1`` that returns ``tenant_id`` (a hand-off's
    ``STAGE``); returns the tenants each one staged for, in order."""
    if not stages:
        await conn.execute(_MARK, ids, positions)
        return []
    staged: list[list[int]] = [[] for _ in stages]
    for row in await conn.fetch(_mark_and_stage(tuple(stages)), ids, positions):
        staged[row["stage"]].append(row["tenant_id"])
    return staged


# The newest ``$1`` events of every channel published within ``$2`` that kept their
# positions, each channel's oldest first: one pass over the outbox, however many channels.
_HISTORY = """
SELECT tenant_id, channel, pos, event_id, type, data::text AS data FROM (
  SELECT o.tenant_id, c.channel, c.pos, o.event_id, o.type, o.data,
    split_part(c.pos, '-', 1)::bigint AS ms, split_part(c.pos, '-', 2)::bigint AS seq,
    row_number() OVER (PARTITION BY o.tenant_id, c.channel
      ORDER BY split_part(c.pos, '-', 1)::bigint DESC, split_part(c.pos, '-', 2)::bigint DESC) AS n
  FROM outbox o CROSS JOIN LATERAL unnest(o.channels, o.positions) AS c (channel, pos)
  WHERE o.published_at > now() - $2::interval AND o.positions IS NOT NULL
    AND c.pos IS NOT NULL
) AS e
WHERE n <= $1
ORDER BY tenant_id, channel, ms, seq
"""


def published_history(conn: Connection, per_channel: int, within: dt.timedelta) -> Any:
    """A cursor over ``_HISTORY`` (in the caller's transaction)."""
    return conn.cursor(_HISTORY, per_channel, within, prefetch=2000)


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
