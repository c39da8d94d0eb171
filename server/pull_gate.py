""" "Next task" taken in turn: a per-process gate in front of the pull's transaction."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.db import Database
from domain.errors import RecoupError
from domain.worklist.pull import NextTask, PullService


class Busy(RecoupError):
    status = 503
    slug = "busy"
    title = "Busy; try again shortly"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = "1"


class PullGate:
    """At most ``concurrency`` "next task" transactions at once in this process; the rest
    wait their turn in order, and beyond ``max_waiting`` waiting ones a pull is refused
    (503) rather than queued without bound. Pulls all want the head of the same queue:
    three at a time get through faster than twenty elbowing for the same rows."""

    def __init__(self, concurrency: int = 3, max_waiting: int = 1000) -> None:
        self._turns = asyncio.Semaphore(max(1, concurrency))
        self.max_waiting = max_waiting
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self.waiting >= self.max_waiting:
            raise Busy(f"{self.waiting} pulls are already waiting; try again in a moment")
        self.waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._turns.release()


async def pull_next(db: Database, actor: Actor, gate: PullGate, clock: Clock = utcnow) -> NextTask:
    """ "Next task" in its own transaction, taken in turn through the gate."""
    async with gate.turn(), db.tenant(actor.tenant_id, generic_plans=True) as conn:
        return await PullService(conn, actor, clock).next()
