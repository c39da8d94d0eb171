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
