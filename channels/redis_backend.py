"""The Redis backend: a capped stream per channel for history, pub/sub for live delivery.

One pub/sub connection per process, subscribed to a channel only while a local socket
wants it. Publishing is one Lua call per batch: for each event and channel it reads the
channel's newest position, appends the event with that position as its predecessor, and
publishes the finished frame, atomically, so that history and live never disagree.

A marker key says the history is whole. Redis restarted without its data (or flushed)
has lost it with everything else: publishing is refused until the relay has refilled the
history from the outbox (``channels/refill.py``), and history reads wait for that.

When the pub/sub connection drops it is re-established with backoff, every channel is
subscribed again, and each is caught up from its history; while Redis is away, history
reads raise BackendUnavailable and the outbox keeps the events until the relay can
publish them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Sequence

import redis.asyncio as aioredis
import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels import names, refill
from channels.backend import (
    Backend,
    BackendUnavailable,
    History,
    HistoryLost,
    Listener,
    Message,
    Position,
    Publication,
    frame_head,
    resolve_history,
)
from channels.metrics import PUBSUB_RECONNECTS
from channels.protocol import NO_POSITION, parse_pos
from channels.redis_script import ScriptCaller
from channels.refill import HISTORY_COMPLETE

log = structlog.get_logger("recoup.channels")

# The whole batch in one call. KEYS: the completeness marker, then the history stream and
# live channel of each publication. ARGV: maxlen, ttl ms, then the frame head and tail of
# each. Refuses (nil) while the marker is missing: the history must be refilled first.
_PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local ids = {}
local newest = {}
for i = 2, #KEYS, 2 do
  local history = KEYS[i]
  local prev = newest[history]
  if prev == nil then
    local last = redis.call('XREVRANGE', history, '+', '-', 'COUNT', 1)
    prev = ''
    if last[1] then prev = last[1][1] end
  end
  local id = redis.call('XADD', history, 'MAXLEN', '~', ARGV[1], '*', 'p', prev, 't', ARGV[i + 2])
  redis.call('PEXPIRE', history, ARGV[2])
  redis.call('PUBLISH', KEYS[i + 1], ARGV[i + 1] .. id .. ARGV[i + 2])
  newest[history] = id
  ids[#ids + 1] = id
end
return ids
"""

_HEALTH_INTERVAL = 15.0
_CONFIRM_TIMEOUT = 5.0
_REPLAY_PAGE = 1000


def connect_redis(url: str, *, max_connections: int = 64) -> aioredis.Redis:
    """A Redis client whose pool makes callers wait for a free connection (rather than fail
    with "too many connections") when a burst of requests or sockets arrives at once."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=5,
        socket_timeout=5,
        socket_connect_timeout=5,
        health_check_interval=30,
    )
    return aioredis.Redis(connection_pool=pool)


def live_key(channel: str) -> str:
    return f"rt:{{{channel}}}"


def history_key(channel: str) -> str:
    return f"rt:h:{{{channel}}}"


def _channel_of(live: bytes) -> str:
    return live.decode()[4:-1]


def _decode_pos(raw: bytes | str) -> Position:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq)


class RedisBackend(Backend):
    def __init__(
        self,
        url: str,
        *,
        history_size: int = 1000,
        history_ttl_seconds: int = 7 * 24 * 3600,
        refill_wait_seconds: float = 5.0,
    ) -> None:
        super().__init__()
        self.url = url
        self.history_size = history_size
        self.history_ttl_ms = history_ttl_seconds * 1000
        self.redis = connect_redis(url)
        self._publish = ScriptCaller(self.redis, _PUBLISH)
        # Each channel's keys and frame head, as the publishing script takes them.
        self._channel_args: dict[str, tuple[str, str, bytes]] = {}
        self.refill_wait_seconds = refill_wait_seconds
        self._refill_wait: asyncio.Future[bool] | None = None
        self._refill_gave_up = -math.inf
        self._pool = aioredis.ConnectionPool.from_url(url, socket_connect_timeout=5)
        self._conn: aioredis.connection.AbstractConnection | None = None
        self._write_lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._heads: dict[str, int] = {}
        self._stopping = False
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._last_seen = 0.0
        self.reconnects = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the pub/sub connection; wait a little for it, but start without Redis too
        (REST works without it, and the connection comes when Redis does)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="recoup-redis-pubsub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), _CONFIRM_TIMEOUT)

    async def stop(self) -> None:
        self._stopping = True
        conn, self._conn = self._conn, None
        if self._task is not None:
            self._task.cancel()
            if conn is not None:  # a pending read ends with its connection
                with contextlib.suppress(Exception):
                    await conn.disconnect(nowait=True)
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 5)
            self._task = None
        await self._publish.close()
        await self.redis.aclose()
        await self._pool.disconnect()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def _run(self) -> None:
        backoff = 0.05
        first = True
        while not self._stopping:
            try:
                conn = self._pool.make_connection()
                await conn.connect()
                async with self._write_lock:
                    if not first:  # hold live events back until history has caught up
                        for state in self._channels.values():
                            if state.buffer is None:
                                state.buffer = []
                    keys = [live_key(c) for c in self._channels]
                    if keys:
                        await conn.send_command("SUBSCRIBE", *keys)
                    self._conn = conn
                await asyncio.wait_for(self._confirmed(conn, set(keys)), _CONFIRM_TIMEOUT)
                self._connected.set()
                if not first:
                    self.reconnects += 1
                    PUBSUB_RECONNECTS.inc()
                    await self._catch_up()
                    log.info("pub/sub restored", channels=len(self._channels))
                first = False
                backoff = 0.05
                await self._read(conn)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, BackendUnavailable, TimeoutError) as exc:
                if self._connected.is_set() or backoff == 0.05:
                    log.warning("pub/sub connection lost", error=str(exc))
                self._connected.clear()
                stale, self._conn = self._conn, None
                if stale is not None:
                    with contextlib.suppress(Exception):
                        await stale.disconnect(nowait=True)
                for future in self._pending.values():
                    if not future.done():
                        future.set_exception(BackendUnavailable("pub/sub connection lost"))
                await asyncio.sleep(backoff * (1 + random.random()))
                backoff = min(backoff * 2, 2.0)
            except Exception:
                log.exception("pub/sub reader failed; restarting it")
                self._connected.clear()
                await asyncio.sleep(1)

    async def _confirmed(
        self, conn: aioredis.connection.AbstractConnection, keys: set[str]
    ) -> None:
        """Read until Redis has confirmed every SUBSCRIBE of ``keys`` (events meanwhile
        are dispatched as usual)."""
        while keys:
            response = await conn.read_response(
                timeout=math.inf, disconnect_on_error=True, push_request=True
            )
            confirmed = self._handle(response)
            if confirmed is not None:
                keys.discard(confirmed)

    async def _read(self, conn: aioredis.connection.AbstractConnection) -> None:
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

    def _handle(self, response: list[bytes]) -> str | None:
        """Dispatch an event, or settle a pending SUBSCRIBE; returns the key it confirmed."""
        kind = response[0]
        if kind == b"message":
            self._on_message(response[1], response[2])
            return None
        if kind == b"subscribe":
            key = response[1].decode()
            future = self._pending.get(key)
            if future is not None and not future.done():
                future.set_result(None)
            return key
        return None

    async def _health(self, conn: aioredis.connection.AbstractConnection) -> None:
        """PING a quiet connection; drop it when even that gets no answer."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_HEALTH_INTERVAL)
            if loop.time() - self._last_seen > 2 * _HEALTH_INTERVAL:
                log.warning("pub/sub connection silent; reconnecting")
                await conn.disconnect(nowait=True)
                return
            try:
                async with self._write_lock:
                    await conn.send_command("PING")
            except (RedisError, OSError):
                return

    def _on_message(self, live: bytes, payload: bytes) -> None:
        channel = _channel_of(live)
        head = self._heads.get(channel)
        if head is None:
            head = self._heads[channel] = len(frame_head(channel))
        end = payload.index(b'"', head)
        self._dispatch(channel, _decode_pos(payload[head:end]), payload)

    # -- the contract ---------------------------------------------------------------------

    async def publish(self, publications: Sequence[Publication]) -> list[str]:
        if not publications:
            return []
        keys = [HISTORY_COMPLETE]
        args: list[bytes | int] = [self.history_size, self.history_ttl_ms]
        for p in publications:
            known = self._channel_args.get(p.channel)
            if known is None:
                if len(self._channel_args) >= 10_000:
                    self._channel_args.clear()
                known = self._channel_args[p.channel] = (
                    history_key(p.channel),
                    live_key(p.channel),
                    frame_head(p.channel),
                )
            keys += known[:2]
            args += (known[2], p.tail)
        try:
            result = await self._publish(keys, args)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BackendUnavailable(str(exc)) from exc
        if result is None:
            raise HistoryLost("the channels' history must be refilled first")
        return [r.decode() if isinstance(r, bytes) else str(r) for r in result]

    async def subscribe(self, channel: str, listener: Listener) -> None:
        key = live_key(channel)
        if not self._add_listener(channel, listener):
            pending = self._pending.get(key)
            if pending is not None:  # another listener's SUBSCRIBE is still on its way
                await self._await_confirmation(pending)
            return
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            if self._conn is None:  # reconnecting: give it a moment
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._connected.wait(), 2.0)
            async with self._write_lock:
                conn = self._conn
                if conn is None or not conn.is_connected:
                    raise BackendUnavailable("pub/sub is reconnecting")
                await conn.send_command("SUBSCRIBE", key)
            # Only once Redis has confirmed is every later event sure to arrive live;
            # anything earlier is in the history the caller reads next.
            await self._await_confirmation(future)
        except (RedisError, OSError, AttributeError) as exc:
            # AttributeError: redis-py's connection dropped by its reader while this wrote
            # (its writer gone); the reconnect that follows subscribes again.
            raise BackendUnavailable(str(exc)) from exc
        finally:
            if self._pending.get(key) is future:
                del self._pending[key]
        history = await self.history(channel, None)
        self._set_baseline(channel, history.pos)

    @staticmethod
    async def _await_confirmation(future: asyncio.Future[None]) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(future), _CONFIRM_TIMEOUT)
        except TimeoutError as exc:
            raise BackendUnavailable("Redis did not confirm the subscription") from exc

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        if not self._remove_listener(channel, listener):
            return
        self._heads.pop(channel, None)
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(RedisError, OSError):
                async with self._write_lock:
                    await conn.send_command("UNSUBSCRIBE", live_key(channel))

    async def listened(self, name: str) -> list[int]:
        try:
            live = await self.redis.pubsub_channels(f"rt:{{t*:{name}}}")
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BackendUnavailable(str(exc)) from exc
        tenants = set()
        for key in live:
            tenant_id, listened = names.unscoped(_channel_of(key))
            if listened == name:
                tenants.add(tenant_id)
        return sorted(tenants)

    async def history(self, channel: str, since: str | None) -> History:
        key = history_key(channel)
        try:
            complete, newest = await self._newest(key)
            if not complete:  # Redis lost its data: the relay is refilling it
                complete = await self._await_refill()
                if complete:
                    complete, newest = await self._newest(key)
            last = newest[0][0].decode() if newest else None
            if not complete and last is None:
                # Still empty and not refilled: whatever the client saw may be missing.
                return History(recovered=False, pos=NO_POSITION)
            # Nothing is newer than ``since`` (and Redis refuses a range after its largest id).
            if since is None or last is None or parse_pos(last) <= parse_pos(since):
                return resolve_history(since, None, last, [])
            head = frame_head(channel)
            messages: list[Message] = []
            first_prev: str | None = None
            start = f"({since}" if since != NO_POSITION else "-"
            while True:
                entries = await self.redis.xrange(key, min=start, count=_REPLAY_PAGE)
                for entry_id, fields in entries:
                    if first_prev is None:
                        first_prev = refill.predecessor(since, entry_id, fields)
                    messages.append(
                        Message(channel, _decode_pos(entry_id), head + entry_id + fields[b"t"])
                    )
                if len(entries) < _REPLAY_PAGE:
                    break
                start = f"({entries[-1][0].decode()}"
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BackendUnavailable(str(exc)) from exc
        return resolve_history(since, first_prev, last, messages)

    async def _newest(self, key: str) -> tuple[bool, list]:
        """Whether the history is whole, and the newest entry of ``key``, read atomically."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.exists(HISTORY_COMPLETE)
            pipe.xrevrange(key, count=1)
            complete, newest = await pipe.execute()
        return bool(complete), newest

    async def _await_refill(self) -> bool:
        """Wait (one poll per process, however many readers wait) for the relay to refill
        the history; False when it has not within ``refill_wait_seconds`` (and then, for
        30 s, False at once: a catch-up of many channels does not wait for each)."""
        now = asyncio.get_running_loop().time()
        if now - self._refill_gave_up < 30.0:
            return False  # waited in vain just now: no relay is refilling; answer at once
        if self._refill_wait is None or self._refill_wait.done():
            self._refill_wait = asyncio.ensure_future(
                refill.wait_complete(self.redis, self.refill_wait_seconds)
            )
        complete = await asyncio.shield(self._refill_wait)
        if not complete:
            self._refill_gave_up = asyncio.get_running_loop().time()
        return complete

    async def history_complete(self) -> bool:
        try:
            return bool(await self.redis.exists(HISTORY_COMPLETE))
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BackendUnavailable(str(exc)) from exc

    async def mark_complete(self) -> None:
        """Declare the history whole (for a Redis that only this process writes to: tests,
        benchmarks); in production the relay declares it after a refill."""
        await self.redis.set(HISTORY_COMPLETE, "1")

    def refiller(self) -> refill.Refiller:
        return refill.Refiller(self.redis, self.history_size, self.history_ttl_ms, history_key)

    async def ping(self) -> None:
        await self.redis.ping()
