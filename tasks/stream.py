"""Job delivery on a Redis stream, with three things taskiq-redis's broker lacks.

- **A dead worker's jobs run again within seconds, whether or not another job arrives.**
  taskiq-redis claims idle jobs (``XAUTOCLAIM``) only after a fetch that brought a new
  job, and only past its idle timeout (Recoup had it at five minutes). Here every worker
  claims, on a timer of ``CLAIM_EVERY`` seconds, whatever has gone unacknowledged for
  ``IDLE_TIMEOUT_MS``: a job whose worker was killed runs again within
  ``IDLE_TIMEOUT_MS + CLAIM_EVERY + XREAD_BLOCK`` (under 25 seconds), on any live worker.
- **A job that runs long is not taken from a worker that is alive.** Each worker renews the
  lease of the jobs it is running every ``RENEW_EVERY`` seconds (``XCLAIM ... JUSTID`` of
  its own entries, which sets their idle time back to zero without counting a delivery),
  so only a worker that stopped renewing (killed, frozen, cut off) loses its jobs.
- **On a Redis Cluster too** (``REDIS_URL=redis+cluster://...``, ``channels/redis_layout.py``):
  the jobs' stream is one key, so one slot; every call goes through redis-py's cluster
  client, which finds the node that serves it.
- **While Redis is away the worker waits.** One log line when Redis goes away, one when it
  is back; no traceback, no exit (which made the process manager restart the worker every
  two seconds, each time with a traceback). An acknowledgement that cannot reach Redis is
  dropped: the job stays pending and runs again once claimed, which every job allows. The
  scheduler starts once Redis answers and drops the kicks of its ticks meanwhile (the next
  tick kicks again; the line saying Redis is back counts them).

Delivery stays at least once; every job is idempotent (see each job's docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import (
    ClusterDownError,
    RedisClusterException,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, BrokerMessage
from taskiq_redis import RedisStreamBroker

from channels.redis_layout import connect_redis, is_cluster, plain_url

log = structlog.get_logger("recoup.jobs")

IDLE_TIMEOUT_MS = 15_000
CLAIM_EVERY = 3.0
RENEW_EVERY = 3.0
XREAD_BLOCK_MS = 2_000
_CLAIM_PAGES = 10
# A cluster's client says "no node answers" with errors of its own.
_REDIS_DOWN = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    RedisClusterException,
    ClusterDownError,
    TryAgainError,
)
_BACKOFF_MAX = 5.0


class JobStream(RedisStreamBroker):
    """The broker of Recoup's jobs (``make_broker``); ``wait_for_redis`` for the processes
    that must outlive an outage (workers, the scheduler)."""

    def __init__(
        self,
        url: str,
        queue_name: str,
        *,
        wait_for_redis: bool = False,
        idle_timeout_ms: int = IDLE_TIMEOUT_MS,
        claim_every: float = CLAIM_EVERY,
        renew_every: float = RENEW_EVERY,
        **options: Any,
    ) -> None:
        super().__init__(
            plain_url(url),
            queue_name=queue_name,
            idle_timeout=idle_timeout_ms,
            xread_block=XREAD_BLOCK_MS,
            **options,
        )
        self._cluster: RedisCluster | None = None
        if is_cluster(url):
            self._cluster = connect_redis(url)  # type: ignore[assignment]
        self.wait_for_redis = wait_for_redis
        self.claim_every = claim_every
        self.renew_every = renew_every
        self._held: dict[bytes, str | bytes] = {}  # entry id -> its stream, while running
        self._renewer: asyncio.Task[None] | None = None
        self._down_since: float | None = None
        self._dropped = 0

    # -- Redis away and back: said once each ----------------------------------------------

    def _unavailable(self, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning(
                "jobs: Redis unavailable; waiting for it",
                error=f"{type(exc).__name__}: {exc}"[:200],
            )

    def _available(self) -> None:
        if self._down_since is not None:
            log.warning(
                "jobs: Redis available again",
                down_seconds=round(time.monotonic() - self._down_since, 1),
                kicks_dropped=self._dropped,
            )
            self._down_since = None
            self._dropped = 0

    async def _until_redis(self, attempt: Callable[[], Awaitable[None]]) -> None:
        backoff = 0.2
        while True:
            try:
                await attempt()
            except _REDIS_DOWN as exc:
                if not self.wait_for_redis:
                    raise
                self._unavailable(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            else:
                self._available()
                return

    async def kick(self, message: BrokerMessage) -> None:
        """Queue a job. The scheduler's (``wait_for_redis``) drops it while Redis is away,
        counted in the line that says Redis is back: its next tick kicks it again, and a
        traceback per tick says nothing the outage's line has not."""
        if not self.wait_for_redis:
            await self._put(message)
            return
        try:
            await self._put(message)
        except _REDIS_DOWN as exc:
            self._unavailable(exc)
            self._dropped += 1
        else:
            self._available()

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[Any]:
        """A client for one call or loop: the cluster's (shared), or one on the pool."""
        if self._cluster is not None:
            yield self._cluster
            return
        async with Redis(connection_pool=self.connection_pool) as redis:
            yield redis

    async def _put(self, message: BrokerMessage) -> None:
        queue_name = message.labels.get("queue_name") or self.queue_name
        async with self._client() as redis:
            await redis.xadd(
                queue_name,
                {b"data": message.message},
                maxlen=self.maxlen,
                approximate=self.approximate,
            )

    async def _make_groups(self) -> None:
        async with self._client() as redis:
            for stream in {self.queue_name, *self.additional_streams}:
                try:
                    await redis.xgroup_create(
                        stream, self.consumer_group_name, id=self.consumer_id, mkstream=True
                    )
                except ResponseError as exc:
                    # Only "it is there already"; a cluster that is down is waited for
                    # (_REDIS_DOWN), anything else (a key of another type) is said.
                    if "BUSYGROUP" not in str(exc) or isinstance(exc, _REDIS_DOWN):
                        raise

    async def _declare_consumer_group(self) -> None:
        await self._until_redis(self._make_groups)

    # -- delivery ------------------------------------------------------------------------

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew(), name="recoup-job-leases")
        streams = [self.queue_name, *self.additional_streams]
        next_claim = 0.0  # at once: what a worker killed before this one started held
        backoff = 0.2
        while True:
            try:
                async with self._client() as redis:
                    while True:
                        fetched = await redis.xreadgroup(
                            self.consumer_group_name,
                            self.consumer_name,
                            {self.queue_name: ">", **self.additional_streams},
                            block=self.block,
                            noack=False,
                            count=self.count,
                        )
                        self._available()
                        backoff = 0.2
                        for stream, entries in fetched or ():
                            for entry_id, fields in entries:
                                if message := self._message(stream, entry_id, fields):
                                    yield message
                        if time.monotonic() < next_claim:
                            continue
                        next_claim = time.monotonic() + self.claim_every
                        for stream in streams:
                            for entry_id, fields in await self._claim(redis, stream):
                                if message := self._message(stream, entry_id, fields):
                                    log.info("job reclaimed from a dead worker", stream=stream)
                                    yield message
            except _REDIS_DOWN as exc:
                self._unavailable(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                # Redis came back without its data: the stream and its group are made again.
                log.warning("jobs: the stream's consumer group was lost; making it again")
                await self._declare_consumer_group()

    async def _claim(self, redis: Redis, stream: str) -> list[tuple[bytes, Any]]:
        """Every entry of ``stream`` unacknowledged for the idle timeout, now this worker's."""
        claimed: list[tuple[bytes, Any]] = []
        start: Any = "0-0"
        for _ in range(_CLAIM_PAGES):
            response = await redis.xautoclaim(
                stream,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=self.idle_timeout,
                start_id=start,
                count=self.unacknowledged_batch_size,
            )
            start, entries = response[0], response[1]
            claimed += [entry for entry in entries if entry]
            if start in (b"0-0", "0-0"):
                break
        return claimed

    def _message(self, stream: Any, entry_id: bytes, fields: Any) -> AckableMessage | None:
        if not fields or b"data" not in fields:
            return None  # trimmed from the stream (maxlen) while it waited: nothing to run
        self._held[entry_id] = stream

        async def ack() -> None:
            self._held.pop(entry_id, None)
            try:
                async with self._client() as redis:
                    await redis.xack(stream, self.consumer_group_name, entry_id)
            except _REDIS_DOWN as exc:
                self._unavailable(exc)  # stays pending: claimed and run again later

        return AckableMessage(data=fields[b"data"], ack=ack)

    async def _renew(self) -> None:
        """Keep the lease of the jobs this worker is running (see the module's docstring)."""
        while True:
            await asyncio.sleep(self.renew_every)
            by_stream: dict[Any, list[bytes]] = {}
            for entry_id, stream in list(self._held.items()):
                by_stream.setdefault(stream, []).append(entry_id)
            try:
                async with self._client() as redis:
                    for stream, ids in by_stream.items():
                        await redis.xclaim(
                            stream,
                            self.consumer_group_name,
                            self.consumer_name,
                            min_idle_time=0,
                            message_ids=ids,
                            justid=True,
                        )
            except _REDIS_DOWN as exc:
                self._unavailable(exc)

    async def shutdown(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        if self._cluster is not None:
            await self._cluster.aclose()
        await super().shutdown()
