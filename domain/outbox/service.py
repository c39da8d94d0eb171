"""Recording a change: its audit row and its outbox event, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.db import Connection
from domain.outbox import queries
from domain.outbox.events import Event, new_event


class ChangeRecorder:
    """Every mutation calls ``record`` once, inside the transaction of the change itself."""

    def __init__(self, conn: Connection, actor: Actor, clock: Clock = utcnow) -> None:
        self.conn = conn
        self.actor = actor
        self.clock = clock

    async def record(
        self,
        *,
        action: str,
        entity_type: str,
        entity_id: int | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        event_type: str | None,
        channels: list[str] | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event | None:
        at = self.clock()
        event = None
        if event_type is not None:
            event = new_event(
                event_type,
                tenant_id=self.actor.tenant_id,
                channels=channels or [],
                data=data if data is not None else (after or before or {}),
                at=at,
            )
        audit = (
            self.actor.tenant_id,
            self.actor.type,
            self.actor.id,
            action,
            entity_type,
            entity_id,
            before,
            after,
            self.actor.request_id,
        )
        await queries.insert_change(self.conn, audit, at, event)
        return event

    async def event(self, event_type: str, channels: list[str], data: dict[str, Any]) -> Event:
        """One more event for the same change (another audience, other fields): no audit
        row of its own, same transaction."""
        event = new_event(
            event_type,
            tenant_id=self.actor.tenant_id,
            channels=channels,
            data=data,
            at=self.clock(),
        )
        await queries.insert_event(self.conn, event)
        return event

    async def record_many(
        self,
        *,
        action: str,
        entity_type: str,
        changes: list[tuple[int, dict[str, Any] | None, dict[str, Any] | None]],
        events: list[tuple[str, list[str], dict[str, Any]]],
    ) -> list[Event]:
        """``record`` for a set-based change: audit rows ``(entity_id, before, after)`` and
        events ``(type, channels, data)``, one statement however many there are."""
        at = self.clock()
        audit = (
            self.actor.tenant_id,
            self.actor.type,
            self.actor.id,
            action,
            entity_type,
            self.actor.request_id,
        )
        built = [
            new_event(kind, tenant_id=self.actor.tenant_id, channels=channels, data=data, at=at)
            for kind, channels, data in events
        ]
        if len(changes) == 1 and len(built) == 1:
            # One change: typed parameters, no JSON array to take apart on the server.
            entity_id, before, after = changes[0]
            single = (*audit[:5], entity_id, before, after, audit[5])
            await queries.insert_change(self.conn, single, at, built[0])
            return built
        await queries.insert_changes(
            self.conn,
            audit,
            at,
            [{"entity_id": e, "before": b, "after": a} for e, b, a in changes],
            built,
        )
        return built
