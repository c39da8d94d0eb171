"""Which agents have a socket open on this server, kept in ``users.last_seen_at``.

An agent is present while any of their sockets is open, on any server: each server
refreshes ``last_seen_at`` of its connected agents every ``interval`` seconds, stamps it
when an agent's last socket here closes, and brings an offline agent back to available
when they connect. The worklist sweep turns agents unseen for the tenant's offline time
to offline (and returns their work, when the tenant says so).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import structlog

from domain.actor import Actor
from domain.db import Database
from domain.worklist.service import come_online

log = structlog.get_logger("recoup.presence")


class Presence:
    def __init__(self, db: Database, *, interval: float = 20.0) -> None:
        self.db = db
        self.interval = interval
        self.sockets: Counter[tuple[int, int]] = Counter()
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _tracked(actor: Actor) -> bool:
        return actor.is_user and actor.id is not None and actor.role != "readonly"

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._refresh(), name="presence")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def connected(self, actor: Actor) -> None:
        if not self._tracked(actor):
            return
        key = (actor.tenant_id, actor.id)  # type: ignore[arg-type]
        self.sockets[key] += 1
        if self.sockets[key] > 1:
            return
        try:
            async with self.db.tenant(actor.tenant_id) as conn:
                available = await come_online(conn, actor, actor.id)  # type: ignore[arg-type]
                if not available:
                    await conn.execute(
                        "UPDATE users SET last_seen_at = now() WHERE id = $1", actor.id
                    )
            if available and self.on_available is not None:
                await self.on_available(actor.tenant_id)
        except Exception:
            log.exception("presence not recorded", user_id=actor.id)

    async def disconnected(self, actor: Actor) -> None:
        if not self._tracked(actor):
            return
        key = (actor.tenant_id, actor.id)  # type: ignore[arg-type]
        self.sockets[key] -= 1
        if self.sockets[key] > 0:
            return
        del self.sockets[key]
        await self._touch([actor.id])  # type: ignore[list-item]

    async def _touch(self, user_ids: list[int]) -> None:
        try:
            async with self.db.system() as conn:
                await conn.execute(
                    "UPDATE users SET last_seen_at = now() WHERE id = ANY($1::bigint[])", user_ids
                )
        except Exception:
            log.exception("presence not refreshed", users=len(user_ids))

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            present = [user_id for _, user_id in self.sockets]
            if present:
                await self._touch(present)
