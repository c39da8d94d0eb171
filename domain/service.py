"""The base every domain service shares.

A service runs inside its caller's transaction (a request, a taskiq job, a CLI command or a
test opens it and commits it): it holds that connection, who is acting, the clock, and the
recorder that writes each change's audit row and event. Services that work together (a
payment reads its account) share one transaction and what they have read of the tenant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Self, TypeVar

import msgspec

from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.db import Connection, known_tenant, remember_tenant
from domain.errors import NotFound
from domain.outbox.service import ChangeRecorder
from domain.pagination import DEFAULT_LIMIT, Page, page_in_order
from domain.tenancy import queries as tenancy_queries
from domain.tenancy.schemas import Tenant, local_today, to_tenant

S = TypeVar("S", bound="Service")
T = TypeVar("T")


class Service:
    def __init__(self, conn: Connection, actor: Actor, clock: Clock = utcnow) -> None:
        self.conn = conn
        self.actor = actor
        self.clock = clock
        self.changes = ChangeRecorder(conn, actor, clock)
        # What this transaction has read of the tenant, shared with the services it uses.
        self._shared: dict[str, Any] = {}

    async def tenant(self) -> Tenant:
        """The actor's tenant (its settings, its time zone), read once per transaction."""
        tenant = self._shared.get("tenant")
        if tenant is None:
            # Held by this process and confirmed by this transaction's BEGIN, or read now.
            tenant = known_tenant(self.conn, self.actor.tenant_id)
            if tenant is None:
                row = await tenancy_queries.current(self.conn)
                if row is None:
                    raise NotFound("tenant not found")
                tenant = to_tenant(row)
                remember_tenant(self.conn, tenant.id, tenant.version, tenant)
            self._shared["tenant"] = tenant
        return tenant

    def knows_tenant(self, tenant: Tenant) -> Self:
        """The tenant was read along with something else: no need to read it again."""
        self._shared["tenant"] = tenant
        return self

    async def today(self) -> dt.date:
        """Today where the tenant works (what days past due count in)."""
        return local_today(await self.tenant(), self.clock())

    async def record_change(
        self,
        action: str,
        entity_type: str,
        before: msgspec.Struct | None,
        after: msgspec.Struct | None,
        *,
        event_type: str,
        channels: list[str],
    ) -> None:
        """Audit and announce a change to one entity, given as it was and as it is (None
        before a creation, after a deletion); the event carries the entity, or its id once
        it is gone."""
        entity_id = getattr(after or before, "id", None)
        await self.changes.record(
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=msgspec.to_builtins(before) if before is not None else None,
            after=msgspec.to_builtins(after) if after is not None else None,
            event_type=event_type,
            channels=channels,
            data=msgspec.to_builtins(after) if after is not None else {"id": entity_id},
        )

    def paged(
        self, items: list[T], cursor: str | None, limit: int = DEFAULT_LIMIT, **options: Any
    ) -> Page[T]:
        """A page of a short list this service read whole, with a cursor of this tenant's."""
        return page_in_order(
            items, tenant_id=self.actor.tenant_id, cursor=cursor, limit=limit, **options
        )

    def using(self, cls: type[S]) -> S:
        """Another service in the same transaction, for the same actor and clock."""
        other = cls(self.conn, self.actor, self.clock)
        other._shared = self._shared
        return other
