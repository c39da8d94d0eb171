"""Which agents have a socket open on this web process; what that means is
``domain.users.presence``.

The first socket of an agent here reports them connected (an offline agent becomes
available), every ``interval`` seconds the agents still here are reported seen, and the
last socket's close reports them seen one final time; the worklist sweep turns agents
unseen for the tenant's offline time to offline, wherever their sockets were.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import structlog

from domain.actor import Actor
from domain.db import DATABASE_ERRORS, Database
from domain.users import presence
from server.outage import Outages

log = structlog.get_logger("recoup.presence")


class Presence:
    def __init__(self, db: Database, *, interval: float = 20.0) -> None:
        self.db = db
        self.interval = interval
        self.sockets: Counter[tuple[int, int]] = Counter()
        self._task: asyncio.Task[None] | None = None
        # Set by Resources: an outage is logged there once, not here per socket.
        self.outages: Outages | None = None

    def _failed(self, message: str, exc: BaseException, **fields: object) -> None:
        if self.outages is None or self.outages.noted(exc) is None:
            log.warning(message, error=str(exc), **fields)

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
                await presence.connected(conn, actor, actor.id)  # type: ignore[arg-type]
        except DATABASE_ERRORS as exc:
            # The socket works without it; the next refresh records the agent as seen.
            self._failed("presence not recorded", exc, user_id=actor.id)

    async def disconnected(self, actor: Actor) -> None:
        if not self._tracked(actor):
            return
        key = (actor.tenant_id, actor.id)  # type: ignore[arg-type]
        self.sockets[key] -= 1
        if self.sockets[key] > 0:
            return
        del self.sockets[key]
        await self._seen([actor.id])  # type: ignore[list-item]

    async def _seen(self, user_ids: list[int]) -> None:
        try:
            async with self.db.system() as conn:
                await presence.seen(conn, user_ids)
        except DATABASE_ERRORS as exc:
            self._failed("presence not refreshed", exc, users=len(user_ids))

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            present = [user_id for _, user_id in self.sockets]
            if present:
                await self._seen(present)
