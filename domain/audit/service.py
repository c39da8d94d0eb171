"""Reading the audit log (writing happens through ChangeRecorder with every mutation)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from domain.audit import queries
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.service import Service


class AuditEntry(msgspec.Struct, kw_only=True):
    id: int
    actor_type: str
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    occurred_at: dt.datetime


class AuditService(Service):
    async def list(
        self,
        *,
        entity_type: str | None = None,
        entity_id: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[AuditEntry]:
        check_limit(limit)
        after = decode_cursor(cursor, tuple[int])[0] if cursor else None
        rows = await queries.entries(
            self.conn,
            entity_type=entity_type or None,  # sent empty: not given
            entity_id=entity_id,
            after_id=after,
            limit=limit + 1,
        )
        return page([AuditEntry(**dict(r)) for r in rows], limit, lambda e: (e.id,))
