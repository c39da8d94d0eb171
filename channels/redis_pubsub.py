"""A pub/sub connection of the Redis backend (``channels/redis_backend.py``) and the channels
it carries: the only one on a single Redis; on a Redis Cluster one per primary, with
sharded pub/sub (``SSUBSCRIBE``), carrying the channels of the slots that node serves.

It keeps itself connected: a connection that drops is opened again with backoff, its
channels subscribed again and caught up from their history (their live events held back
meanwhile); on a cluster the slots are read again first, and a channel whose slot moved
follows it to its new node.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from channels.backend import BackendUnavailable
from channels.metrics import PUBSUB_RECONNECTS
from channels.redis_layout import channel_of, live_key

if TYPE_CHECKING:
    from channels.redis_backend import RedisBackend

log = structlog.get_logger("recoup.channels")

HEALTH_INTERVAL = 15.0
CONFIRM_TIMEOUT = 5.0


class Link:
    """One pub/sub connection and the channels it carries."""

    def __init__(
        self,
        backend: RedisBackend,
        name: str,
        connect: Callable[[], AbstractConnection],
        *,
        sharded: bool,
    ) -> None:
        self.backend = backend
        self.name = name
        self._connect = connect
        prefix = b"s" if sharded else b""
        self._subscribe = "SSUBSCRIBE" if sharded else "SUBSCRIBE"
        self._unsubscribe = "SUNSUBSCRIBE" if sharded else "UNSUBSCRIBE"
        self._message = prefix + b"message"
        self._subscribed = prefix + b"subscribe"
        self._unsubscribed = prefix + b"unsubscribe"
        self._sharded = sharded
        self.channels: set[str] = set()
        self.conn: AbstractConnection | None = None
        self.write_lock = asyncio.Lock()
        self.connected = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.pending: dict[str, asyncio.Future[None]] = {}
        self._last_seen = 0.0
        self._stopping = False

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.create_task(self._run(), name=f"recoup-redis-pubsub {self.name}")

    async def stop(self) -> None:
        self._stopping = True
        conn, self.conn = self.conn, None
        if self.task is not None:
            self.task.cancel()
            if conn is not None:  # a pending read ends with its connection
                with contextlib.suppress(Exception):
                    await conn.disconnect(nowait=True)
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self.task, 5)
            self.task = None
        elif conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect(nowait=True)

    async def _run(self) -> None:
        backend = self.backend
        backoff = 0.05
        first = True
        while not self._stopping:
            try:
                conn = self._connect()
                await conn.connect()
                async with self.write_lock:
                    if not first:  # hold live events back until history has caught up
                        backend._hold(self.channels)
                    keys = [live_key(c) for c in self.channels]
                    if keys:
                        await conn.send_command(self._subscribe, *keys)
                    self.conn = conn
                await asyncio.wait_for(self._confirmed(conn, set(keys)), CONFIRM_TIMEOUT)
                self.connected.set()
                if not first:
                    backend.reconnects += 1
                    PUBSUB_RECONNECTS.inc()
                    await backend._catch_up(list(self.channels))
                    log.info("pub/sub restored", channels=len(self.channels), node=self.name)
                first = False
                backoff = 0.05
                await self._read(conn)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, BackendUnavailable, TimeoutError) as exc:
                if self.connected.is_set() or backoff == 0.05:
                    log.warning("pub/sub connection lost", error=str(exc), node=self.name)
                self.connected.clear()
                stale, self.conn = self.conn, None
                if stale is not None:
                    with contextlib.suppress(Exception):
                        await stale.disconnect(nowait=True)
                for future in self.pending.values():
                    if not future.done():
                        future.set_exception(BackendUnavailable("pub/sub connection lost"))
                await asyncio.sleep(backoff * (1 + random.random()))
                backoff = min(backoff * 2, 2.0)
                if self._sharded and not first:
                    await backend._reroute(self)
            except Exception:
                log.exception("pub/sub reader failed; restarting it")
                self.connected.clear()
                await asyncio.sleep(1)

    async def _confirmed(self, conn: AbstractConnection, keys: set[str]) -> None:
        """Read until Redis has confirmed every SUBSCRIBE of ``keys`` (events meanwhile
        are dispatched as usual)."""
        while keys:
            response = await conn.read_response(
                timeout=math.inf, disconnect_on_error=True, push_request=True
            )
            confirmed = self._handle(response)
            if confirmed is not None:
                keys.discard(confirmed)

    async def _read(self, conn: AbstractConnection) -> None:
        loop = asyncio.get_running_loop()
        self._last_seen = loop.time()
        health = asyncio.create_task(self._health(conn))
        try:
            while True:
                # Blocks without a timeout (a timeout here could swallow a cancellation);
                # the health task ends a connection that has gone quiet.
                response = await conn.read_response(
                    timeout=math.inf, disconnect_on_error=True, push_request=True
                )
                self._last_seen = loop.time()
                self._handle(response)
        finally:
            health.cancel()

    def _handle(self, response: Any) -> str | None:
        """Dispatch an event, or settle a pending SUBSCRIBE; returns the key it confirmed."""
        if not isinstance(response, list):
            return None  # PONG
        kind = response[0]
        if kind == self._message:
            self.backend._on_message(response[1], response[2])
            return None
        if kind == self._subscribed:
            key = response[1].decode()
            future = self.pending.get(key)
            if future is not None and not future.done():
                future.set_result(None)
            return key
        if kind == self._unsubscribed and self._sharded:
            # Not asked for (ours are sent only for channels already forgotten): the slot
            # moved to another node (resharding, failover).
            channel = channel_of(response[1])
            if channel in self.channels:
                self.backend._moved(self, channel)
        return None

    async def _health(self, conn: AbstractConnection) -> None:
        """PING a quiet connection; drop it when even that gets no answer."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(HEALTH_INTERVAL)
            if loop.time() - self._last_seen > 2 * HEALTH_INTERVAL:
                log.warning("pub/sub connection silent; reconnecting", node=self.name)
                await conn.disconnect(nowait=True)
                return
            try:
                async with self.write_lock:
                    await conn.send_command("PING")
            except (RedisError, OSError):
                return

    async def subscribe(self, channel: str) -> None:
        """SUBSCRIBE, and wait until Redis has confirmed it: only then is every later event
        sure to arrive live (anything earlier is in the history the caller reads next)."""
        key = live_key(channel)
        pending = self.pending.get(key)
        if pending is not None:  # another listener's SUBSCRIBE is still on its way
            await await_confirmation(pending)
            return
        future = asyncio.get_running_loop().create_future()
        self.pending[key] = future
        try:
            if self.conn is None:  # reconnecting: give it a moment
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.connected.wait(), 2.0)
            async with self.write_lock:
                conn = self.conn
                if conn is None or not conn.is_connected:
                    raise BackendUnavailable("pub/sub is reconnecting")
                await conn.send_command(self._subscribe, key)
            await await_confirmation(future)
        except (RedisError, OSError, AttributeError) as exc:
            # AttributeError: redis-py's connection dropped by its reader while this wrote
            # (its writer gone); the reconnect that follows subscribes again.
            raise BackendUnavailable(str(exc)) from exc
        finally:
            if self.pending.get(key) is future:
                del self.pending[key]

    async def unsubscribe(self, channel: str) -> None:
        conn = self.conn
        if conn is not None:
            with contextlib.suppress(RedisError, OSError):
                async with self.write_lock:
                    await conn.send_command(self._unsubscribe, live_key(channel))


async def await_confirmation(future: asyncio.Future[None]) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(future), CONFIRM_TIMEOUT)
    except TimeoutError as exc:
        raise BackendUnavailable("Redis did not confirm the subscription") from exc
