"""Reading the audit log (writing happens through ChangeRecorder with every mutation)."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import msgspec

from domain.actor import ActorType
from domain.audit import queries
from domain.errors import InvalidInput
from domain.pagination import Page, check_limit, decode_tenant_cursor, page
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


ACTOR_TYPES: tuple[str, ...] = get_args(ActorType)


def _check_filters(
    actor_type: str | None,
    actor_id: int | None,
    entity_type: str | None,
    entity_id: int | None,
    occurred_from: dt.datetime | None,
    occurred_before: dt.datetime | None,
) -> None:
    if actor_type is not None and actor_type not in ACTOR_TYPES:
        raise InvalidInput(
            f"unknown actor type {actor_type!r}; actor types are: {', '.join(ACTOR_TYPES)}",
            field="actor_type",
        )
    if actor_id is not None and actor_type is None:
        raise InvalidInput("an actor id needs its actor_type", field="actor_id")
    if entity_id is not None and entity_type is None:
        raise InvalidInput("an entity id needs its entity_type", field="entity_id")
    for name, at in (("occurred_from", occurred_from), ("occurred_before", occurred_before)):
        if at is not None and at.utcoffset() is None:
            raise InvalidInput("give the time with its offset (Z or +hh:mm)", field=name)
    if occurred_from and occurred_before and occurred_before <= occurred_from:
        raise InvalidInput("occurred_before must be after occurred_from", field="occurred_before")


class AuditService(Service):
    async def list(
        self,
        *,
        actor_type: str | None = None,
        actor_id: int | None = None,
        entity_type: str | None = None,
        entity_id: int | None = None,
        occurred_from: dt.datetime | None = None,
        occurred_before: dt.datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[AuditEntry]:
        """Entries newest first, filtered by who (an actor type, or one user or key), what
        (an entity type, or one entity) and when (``occurred_from`` <= time <
        ``occurred_before``); a filter sent empty is not given. The cursor names the tenant
        it was given to: another tenant's is refused."""
        check_limit(limit)
        actor_type, entity_type = actor_type or None, entity_type or None
        _check_filters(actor_type, actor_id, entity_type, entity_id, occurred_from, occurred_before)
        tenant_id = self.actor.tenant_id
        after = None
        if cursor:
            _, at, last = decode_tenant_cursor(cursor, tenant_id, tuple[int, dt.datetime, int])
            after = (at, last)
        rows = await queries.entries(
            self.conn,
            actor_type=actor_type,
            actor_id=actor_id,
            entity_type=entity_type,
            entity_id=entity_id,
            occurred_from=occurred_from,
            occurred_before=occurred_before,
            after=after,
            limit=limit + 1,
        )
        entries = [AuditEntry(**dict(r)) for r in rows]
        return page(entries, limit, lambda e: (tenant_id, e.occurred_at, e.id))
