"""The wallboard's snapshot: every few seconds, the whole of today's figures of each tenant
someone is watching, as one ``wallboard.kpis`` event on its wallboard channel.

Between snapshots a wallboard applies the events it receives (a payment, a promise, an
agent going away); the snapshot then puts right whatever an event cannot say (work waiting
per queue, the week's kept rate) and whatever a screen missed, so a screen that joins late
or lost an event is right within seconds. Only tenants whose wallboard channel some web
process subscribes to are computed, and an unchanged snapshot is not sent again for
``RESEND_SECONDS``. The snapshot is encoded once and goes to Redis directly, not through
the outbox: it is a reading of the database, not a change to keep.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Annotated

import msgspec
import structlog
from redis.exceptions import RedisError
from taskiq import TaskiqDepends, TaskiqState

from channels import names
from channels.backend import Backend, BackendUnavailable, Publication
from channels.protocol import event_tail
from channels.redis_backend import RedisBackend
from domain.actor import system_actor
from domain.db import Database
from domain.errors import NotFound
from domain.outbox import events
from domain.stats.schemas import Realtime
from domain.stats.service import StatsService
from tasks.broker import broker

log = structlog.get_logger("recoup.stats")

SNAPSHOT_SECONDS = 5
# An unchanged snapshot goes out again after this long anyway.
RESEND_SECONDS = 30

_encoder = msgspec.json.Encoder()


def fingerprint(figures: Realtime) -> str:
    """What a snapshot says, leaving out the clock: the time it was taken and the ages that
    follow from it (a screen ages the oldest task from ``oldest_since`` by itself)."""
    steady = msgspec.structs.replace(
        figures,
        as_of=figures.today,  # any constant of the day
        queues=[msgspec.structs.replace(q, oldest_seconds=None) for q in figures.queues],
    )
    return hashlib.blake2b(_encoder.encode(steady), digest_size=16).hexdigest()


class Snapshots:
    """Computes and sends the snapshots; remembers (in Redis, shared by every worker) what
    each tenant was last sent, and takes a short lease per tenant so that jobs that pile up
    behind a busy worker do not compute the same snapshot again."""

    def __init__(self, db: Database, backend: RedisBackend) -> None:
        self.db = db
        self.backend = backend
        self.redis = backend.redis

    async def send_all(self) -> list[int]:
        """One round: every watched tenant; returns those sent a snapshot."""
        sent = []
        for tenant_id in await self.backend.listened(names.WALLBOARD):
            try:
                if await self.send(tenant_id):
                    sent.append(tenant_id)
            except BackendUnavailable:
                raise
            except NotFound:
                # Pub/sub is one namespace for every Redis database: a tenant watched through
                # another deployment sharing the server (or one deleted since) is not ours.
                log.debug("wallboard watched for an unknown tenant", tenant_id=tenant_id)
            except Exception:
                # One tenant's failure (a bad setting, a bug) must not starve the rest.
                log.exception("wallboard snapshot failed", tenant_id=tenant_id)
        return sent

    async def send(self, tenant_id: int, *, force: bool = False) -> bool:
        lease = f"recoup:kpis:lease:{tenant_id}"
        if not force and not await self.redis.set(
            lease, b"1", nx=True, px=(SNAPSHOT_SECONDS - 1) * 1000
        ):
            return False
        async with self.db.tenant(tenant_id) as conn:
            figures = await StatsService(conn, system_actor(tenant_id)).realtime()
        mark = fingerprint(figures)
        last_key = f"recoup:kpis:last:{tenant_id}"
        if not force and (await self.redis.get(last_key)) == mark.encode():
            return False
        await publish(self.backend, tenant_id, _encoder.encode(figures))
        await self.redis.set(last_key, mark, ex=RESEND_SECONDS)
        return True


async def publish(backend: Backend, tenant_id: int, data: bytes) -> str:
    tail = event_tail(str(uuid.uuid4()), events.WALLBOARD_KPIS, data)
    [pos] = await backend.publish([Publication(names.scoped(tenant_id, names.WALLBOARD), tail)])
    return pos


def _snapshots(state: Annotated[TaskiqState, TaskiqDepends()]) -> Snapshots:
    snapshots = getattr(state, "snapshots", None)
    if snapshots is None:
        snapshots = state.snapshots = Snapshots(state.db, state.channels)
    return snapshots


@broker.task(task_name="stats.wallboard_kpis", schedule=[{"interval": SNAPSHOT_SECONDS}])
async def wallboard_kpis(snapshots: Snapshots = TaskiqDepends(_snapshots)) -> int:
    started = time.perf_counter()
    try:
        sent = await snapshots.send_all()
    except (BackendUnavailable, RedisError, OSError) as exc:
        # Nobody can be shown a snapshot while Redis is away; the next round tries again.
        log.warning("wallboard snapshots skipped", error=str(exc))
        return 0
    if sent:
        log.debug(
            "wallboard snapshots sent",
            tenants=len(sent),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
    return len(sent)
