"""The outbox relay: committed events to Redis, in order, at least once.

Wakes on PostgreSQL NOTIFY (and polls about once a second in case one is missed),
claims unpublished outbox rows oldest first with FOR UPDATE SKIP LOCKED, appends each
event to the history and live channel of every channel it names (one Redis pipeline
per batch), and marks the rows published in the same transaction. If the relay dies
between Redis and the commit, the rows go out again on restart: consumers de-duplicate
by event id.

After a batch is published, each hand-off picks the events its job wants (the worklist
says which events may let waiting work move) and kicks one job per tenant and batch.

Exactly one relay is active: it holds a session advisory lock on its listening
connection. Others block on that lock and take over as soon as the active one's
session ends (when its process dies, its connection closes and PostgreSQL releases
the lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, start_http_server

from channels import names
from channels.backend import Backend, BackendUnavailable, Publication
from channels.protocol import event_tail
from domain.db import Database, connect
from domain.outbox import queries

log = structlog.get_logger("recoup.relay")

# Any constant: it names "the relay" among the advisory locks of this database.
RELAY_LOCK = 0x52454C4159  # "RELAY"
CHANNEL = "recoup_outbox"

RELAYED = Counter("recoup_relay_events_total", "Outbox events published to Redis")
BATCHES = Counter("recoup_relay_batches_total", "Batches published")
ACTIVE = Gauge("recoup_relay_active", "1 while this relay holds the lock")
LAG = Gauge("recoup_relay_publish_lag_seconds", "Commit-to-publish delay of the last batch")


@dataclass(frozen=True, slots=True)
class Handoff:
    """Events a job wants, and how to kick it: ``wants(type, data)`` picks the events,
    ``kick`` gets the tenants they came from (one call per batch, not one per event).

    A job that must not miss an event (a kick is best effort) also gives ``stage``: called
    with the batch's outbox ids in the relay's own transaction, it keeps what the job
    wants (so the events are kept exactly when they are marked published) and returns the
    tenants to kick."""

    wants: Callable[[str, str], bool]
    kick: Callable[[list[int]], Awaitable[None]]
    stage: Callable[[Any, list[int]], Awaitable[list[int]]] | None = None


class Relay:
    def __init__(
        self,
        db: Database,
        backend: Backend,
        *,
        handoffs: Sequence[Handoff] = (),
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retention: dt.timedelta = dt.timedelta(days=7),
        prune_every_seconds: float = 60.0,
    ) -> None:
        self.db = db
        self.backend = backend
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.prune_every_seconds = prune_every_seconds
        self.handoffs = tuple(handoffs)
        self._wake = asyncio.Event()
        self.published = 0

    async def run(self) -> None:
        """Wait for the lock, then relay until cancelled (or the connection is lost)."""
        conn = await connect(self.db.system_dsn, application_name="recoup-relay")
        try:
            # Blocks while another relay is active; returns the moment its session ends.
            await queries.wait_for_lock(conn, RELAY_LOCK)
            ACTIVE.set(1)
            log.info("relay active")
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
            await self._loop(conn)
        finally:
            ACTIVE.set(0)
            with contextlib.suppress(Exception):
                await conn.close()

    async def _loop(self, conn: object) -> None:
        backoff = 0.1
        next_prune = time.monotonic()
        while True:
            self._wake.clear()
            try:
                count = await self.relay_batch()
                backoff = 0.1
            except BackendUnavailable as exc:
                log.warning("redis unavailable; events wait in the outbox", error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if time.monotonic() >= next_prune:
                await self.prune()
                next_prune = time.monotonic() + self.prune_every_seconds
            if count < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            if conn.is_closed():  # type: ignore[attr-defined]
                raise ConnectionError("the relay's database connection was lost")

    async def relay_batch(self) -> int:
        """Publish one batch; returns how many events it held."""
        async with self.db.system() as conn:
            rows = await queries.claim_unpublished(conn, self.batch_size)
            if not rows:
                return 0
            publications = [
                Publication(
                    channel=names.scoped(row["tenant_id"], channel),
                    tail=event_tail(str(row["event_id"]), row["type"], row["data"].encode()),
                )
                for row in rows
                for channel in row["channels"]
            ]
            started = time.time()
            await self.backend.publish(publications)
            ids = [row["id"] for row in rows]
            await queries.mark_published(conn, ids)
            staged = [
                await handoff.stage(conn, ids) if handoff.stage is not None else None
                for handoff in self.handoffs
            ]
        RELAYED.inc(len(rows))
        BATCHES.inc()
        LAG.set(time.time() - started)
        self.published += len(rows)
        for handoff, kept in zip(self.handoffs, staged, strict=True):
            tenants = (
                kept
                if kept is not None
                else sorted({r["tenant_id"] for r in rows if handoff.wants(r["type"], r["data"])})
            )
            if tenants:
                try:
                    await handoff.kick(tenants)
                except Exception as exc:
                    # Nothing is lost: the minute sweeps offer waiting work again.
                    log.warning("job hand-off failed", error=str(exc), tenants=tenants)
        return len(rows)

    async def prune(self) -> None:
        async with self.db.system() as conn:
            removed = await queries.prune_published(conn, self.retention, 10_000)
        if removed:
            log.info("pruned published outbox rows", removed=removed)


async def run_relay(
    db: Database,
    backend: Backend,
    *,
    metrics_port: int | None = None,
    handoffs: Sequence[Handoff] = (),
) -> None:
    """Run a relay for ever, starting over (and waiting for the lock) after any failure."""
    if metrics_port:
        start_http_server(metrics_port)
    while True:
        try:
            await Relay(db, backend, handoffs=handoffs).run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("relay stopped; starting over", error=str(exc))
            await asyncio.sleep(1)
