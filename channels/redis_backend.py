"""The Redis backend: a capped stream per channel for history, pub/sub for live delivery.

One pub/sub connection per process (on a Redis Cluster, one per primary node, with sharded
pub/sub: ``channels/redis_layout.py``), subscribed to a channel only while a local socket
wants it. Publishing is one Lua call per batch (on a cluster, per slot of the batch): for
each event and channel it reads the channel's newest position, appends the event with that
position as its predecessor, and publishes the finished frame, atomically, so that history
and live never disagree.

A marker key says the history is whole. Redis restarted without its data (or flushed)
has lost it with everything else: publishing is refused until the relay has refilled the
history from the outbox (``channels/refill.py``), and history reads wait for that.

When a pub/sub connection drops it is re-established with backoff, each of its channels is
subscribed again, and each is caught up from its history; while Redis is away, history
reads raise BackendUnavailable and the outbox keeps the events until the relay can
publish them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.asyncio import RedisCluster
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisClusterException, RedisError
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
    format_pos,
    frame_head,
    resolve_history,
)
from channels.protocol import NO_POSITION, parse_pos
from channels.redis_layout import (
    ClusterLayout,
    RedisModeError,
    channel_of,
    channel_slot,
    check_mode,
    connect_redis,
    history_key,
    is_cluster,
    layout_for,
    live_key,
    node_connection_kwargs,
)
from channels.redis_lua import NEWEST, PUBLISH, SPUBLISH
from channels.redis_pubsub import CONFIRM_TIMEOUT, Link, await_confirmation
from channels.redis_script import ScriptCaller

__all__ = ["RedisBackend", "RedisModeError", "connect_redis", "history_key", "live_key"]

log = structlog.get_logger("recoup.channels")

_REPLAY_PAGE = 1000


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
        self.cluster = is_cluster(url)
        self.layout = layout_for(url)
        self.history_size = history_size
        self.history_ttl_ms = history_ttl_seconds * 1000
        self.redis = connect_redis(url)
        self._publish_one: ScriptCaller | None = None
        if self.cluster:
            self._spublish = self.redis.register_script(SPUBLISH)
        else:
            self._publish_one = ScriptCaller(self.redis, PUBLISH)  # type: ignore[arg-type]
        self._newest_script = self.redis.register_script(NEWEST)
        # Each channel's keys and frame head, as the publishing script takes them.
        self._channel_args: dict[str, tuple[str, str, bytes]] = {}
        self.refill_wait_seconds = refill_wait_seconds
        self._refill_waits: dict[str, asyncio.Future[bool]] = {}
        self._refill_gave_up = -math.inf
        self._refused = True  # check every slot's marker the first time (cluster)
        self._links: dict[str, Link] = {}
        self._routes: dict[str, Link] = {}
        self._heads: dict[str, int] = {}
        self._moving: set[asyncio.Task[None]] = set()
        self.reconnects = 0
        if not self.cluster:
            pool = aioredis.ConnectionPool.from_url(url, socket_connect_timeout=5)
            self._single_pool = pool
            self._links[""] = Link(self, "", pool.make_connection, sharded=False)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the pub/sub connection; wait a little for it, but start without Redis too
        (REST works without it, and the connection comes when Redis does). Refuses an
        address that says the wrong kind of server (``RedisModeError``)."""
        await check_mode(self.url)
        if self.cluster:
            with contextlib.suppress(RedisError, RedisClusterException, OSError, TimeoutError):
                await asyncio.wait_for(self.redis.initialize(), CONFIRM_TIMEOUT)
            return
        link = self._links[""]
        link.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(link.connected.wait(), CONFIRM_TIMEOUT)

    async def stop(self) -> None:
        for task in list(self._moving):
            task.cancel()
        for link in list(self._links.values()):
            await link.stop()
        if self._publish_one is not None:
            await self._publish_one.close()
        await self.redis.aclose()
        if not self.cluster:
            await self._single_pool.disconnect()

    @property
    def connected(self) -> bool:
        return bool(self._links) and all(link.connected.is_set() for link in self._links.values())

    # -- routing (a cluster: each channel on the link of its slot's primary) ---------------

    def _link_for(self, channel: str) -> Link:
        link = self._routes.get(channel)
        if link is not None:
            return link
        if not self.cluster:
            link = self._links[""]
        else:
            cluster: RedisCluster = self.redis  # type: ignore[assignment]
            try:
                node = cluster.nodes_manager.get_node_from_slot(channel_slot(channel))
            except (RedisError, RedisClusterException, IndexError, KeyError) as exc:
                raise BackendUnavailable(f"the cluster's slots are unknown: {exc}") from exc
            link = self._links.get(node.name)
            if link is None:
                host, port = node.host, node.port
                kwargs = node_connection_kwargs(self.url)
                link = self._links[node.name] = Link(
                    self,
                    node.name,
                    lambda: Connection(host=host, port=port, **kwargs),
                    sharded=True,
                )
                link.start()
        self._routes[channel] = link
        link.channels.add(channel)
        return link

    async def _topology(self) -> None:
        """Read the cluster's slots if they are not known yet (it was away at start)."""
        cluster: RedisCluster = self.redis  # type: ignore[assignment]
        if cluster.nodes_manager.slots_cache:
            return
        try:
            await cluster.initialize()
        except (RedisError, RedisClusterException, OSError) as exc:
            raise BackendUnavailable(f"the cluster is out of reach: {exc}") from exc

    def _hold(self, channels: Sequence[str] | set[str]) -> None:
        for channel in channels:
            state = self._channels.get(channel)
            if state is not None and state.buffer is None:
                state.buffer = []

    async def _reroute(self, link: Link) -> None:
        """After a node's connection failed: read the cluster's slots again, and move the
        channels whose slots another node serves now to that node's link."""
        cluster: RedisCluster = self.redis  # type: ignore[assignment]
        try:
            await cluster.nodes_manager.initialize()
        except (RedisError, RedisClusterException, OSError):
            return  # the cluster is away; the link keeps trying its node
        for channel in list(link.channels):
            node = cluster.nodes_manager.get_node_from_slot(channel_slot(channel))
            if node.name != link.name:
                self._moved(link, channel)

    def _moved(self, link: Link, channel: str) -> None:
        link.channels.discard(channel)
        if self._routes.get(channel) is link:
            del self._routes[channel]
        if channel in self._channels:
            self._hold([channel])
            task = asyncio.get_running_loop().create_task(self._resubscribe(channel))
            self._moving.add(task)
            task.add_done_callback(self._moving.discard)

    async def _resubscribe(self, channel: str) -> None:
        """Subscribe a channel again where its slot now lives, then catch it up."""
        for attempt in range(10):
            if channel not in self._channels:
                return
            try:
                await self._link_for(channel).subscribe(channel)
                await self._catch_up([channel])
                return
            except BackendUnavailable:
                await asyncio.sleep(0.1 * 2**attempt)
        log.warning("a channel could not be subscribed where its slot moved", channel=channel)
        state = self._channels.get(channel)
        if state is not None:  # its screens reload rather than wait on a held buffer
            state.buffer = None
            pos = format_pos(state.last) if state.last is not None else NO_POSITION
            for listener in tuple(state.listeners):
                listener.resync(channel, pos)

    def _on_message(self, live: bytes, payload: bytes) -> None:
        channel = channel_of(live)
        head = self._heads.get(channel)
        if head is None:
            head = self._heads[channel] = len(frame_head(channel))
        end = payload.index(b'"', head)
        self._dispatch(channel, _decode_pos(payload[head:end]), payload)

    # -- the contract ---------------------------------------------------------------------

    async def publish(self, publications: Sequence[Publication]) -> list[str]:
        if not publications:
            return []
        if self.cluster:
            return await self._publish_sharded(publications)
        keys = [self.layout.marker("")]
        args: list[bytes | int] = [self.history_size, self.history_ttl_ms]
        for p in publications:
            known = self._args_of(p.channel)
            keys += known[:2]
            args += (known[2], p.tail)
        try:
            assert self._publish_one is not None
            result = await self._publish_one(keys, args)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BackendUnavailable(str(exc)) from exc
        if result is None:
            raise HistoryLost("the channels' history must be refilled first")
        return [r.decode() if isinstance(r, bytes) else str(r) for r in result]

    def _args_of(self, channel: str) -> tuple[str, str, bytes]:
        known = self._channel_args.get(channel)
        if known is None:
            if len(self._channel_args) >= 10_000:
                self._channel_args.clear()
            known = self._channel_args[channel] = (
                history_key(channel),
                live_key(channel),
                frame_head(channel),
            )
        return known

    async def _publish_sharded(self, publications: Sequence[Publication]) -> list[str]:
        """One script call per slot of the batch, pipelined: one round trip per node.
        Atomic per slot, not across slots: should one slot refuse (its node lost its data),
        the others have published and the relay publishes the batch again once refilled;
        delivery is at least once, and clients drop an event they already hold by its id."""
        slots: dict[int, list[int]] = {}
        for i, p in enumerate(publications):
            slots.setdefault(channel_slot(p.channel), []).append(i)
        calls: list[list[bytes | int | str]] = []
        for slot, indexes in slots.items():
            keys: list[str] = [ClusterLayout.slot_marker(slot)]
            args: list[bytes | int] = [self.history_size, self.history_ttl_ms]
            for i in indexes:
                known = self._args_of(publications[i].channel)
                keys += known[:2]
                args += (known[2], publications[i].tail)
            calls.append([len(keys), *keys, *args])
        try:
            results = await self._evalsha_all(calls)
        except (RedisError, RedisClusterException, OSError) as exc:
            # Away, or a node failing over, a slot moving: the relay tries again shortly.
            raise BackendUnavailable(str(exc)) from exc
        if any(r is None for r in results):
            self._refused = True
            raise HistoryLost("the channels' history must be refilled first")
        positions: list[str] = [""] * len(publications)
        for indexes, result in zip(slots.values(), results, strict=True):
            for i, r in zip(indexes, result, strict=True):
                positions[i] = r.decode() if isinstance(r, bytes) else str(r)
        return positions

    async def _evalsha_all(self, calls: list[list[bytes | int | str]]) -> list[Any]:
        """The publishing script for each call, in one pipeline (grouped by node); a node
        that lacks the script (restarted) gets it, and only its calls are made again."""
        results: list[Any] = [None] * len(calls)
        todo = list(range(len(calls)))
        for attempt in range(2):
            async with self.redis.pipeline(transaction=False) as pipe:
                for i in todo:
                    pipe.execute_command("EVALSHA", self._spublish.sha, *calls[i])
                answers = await pipe.execute(raise_on_error=False)
            missing = []
            for i, answer in zip(todo, answers, strict=True):
                if isinstance(answer, NoScriptError) and attempt == 0:
                    missing.append(i)
                elif isinstance(answer, Exception):
                    raise answer
                else:
                    results[i] = answer
            if not missing:
                break
            await self.redis.script_load(SPUBLISH)
            todo = missing
        return results

    async def subscribe(self, channel: str, listener: Listener) -> None:
        first = self._add_listener(channel, listener)
        if self.cluster and channel not in self._routes:
            await self._topology()
        link = self._link_for(channel)
        if not first:
            pending = link.pending.get(live_key(channel))
            if pending is not None:  # another listener's SUBSCRIBE is still on its way
                await await_confirmation(pending)
            return
        await link.subscribe(channel)
        history = await self.history(channel, None)
        self._set_baseline(channel, history.pos)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        if not self._remove_listener(channel, listener):
            return
        self._heads.pop(channel, None)
        link = self._routes.pop(channel, None)
        if link is not None:
            link.channels.discard(channel)
            await link.unsubscribe(channel)

    async def listened(self, name: str) -> list[int]:
        pattern = f"rt:{{t*:{name}}}"
        try:
            if self.cluster:
                live = await self.redis.execute_command(
                    "PUBSUB SHARDCHANNELS", pattern, target_nodes=RedisCluster.PRIMARIES
                )
            else:
                live = await self.redis.pubsub_channels(pattern)
        except (RedisConnectionError, RedisTimeoutError, OSError, RedisClusterException) as exc:
            raise BackendUnavailable(str(exc)) from exc
        tenants = set()
        for key in live:
            tenant_id, listened = names.unscoped(channel_of(key))
            if listened == name:
                tenants.add(tenant_id)
        return sorted(tenants)

    async def history(self, channel: str, since: str | None) -> History:
        key = history_key(channel)
        marker = self.layout.marker(channel)
        try:
            complete, newest = await self._newest(marker, key)
            if not complete:  # Redis lost its data: the relay is refilling it
                complete = await self._await_refill(marker)
                if complete:
                    complete, newest = await self._newest(marker, key)
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
        except (RedisError, RedisClusterException) as exc:
            # A cluster's slot moving or its node failing over.
            if not self.cluster:
                raise
            raise BackendUnavailable(str(exc)) from exc
        return resolve_history(since, first_prev, last, messages)

    async def _newest(self, marker: str, key: str) -> tuple[bool, list]:
        """Whether the history is whole, and the newest entry of ``key``, read atomically."""
        complete, newest = await self._newest_script(keys=[marker, key])
        return bool(complete), newest

    async def _await_refill(self, marker: str) -> bool:
        """Wait (one poll per process and marker, however many readers wait) for the relay
        to refill the history; False when it has not within ``refill_wait_seconds`` (and
        then, for 30 s, False at once: a catch-up of many channels does not wait for each)."""
        now = asyncio.get_running_loop().time()
        if now - self._refill_gave_up < 30.0:
            return False  # waited in vain just now: no relay is refilling; answer at once
        wait = self._refill_waits.get(marker)
        if wait is None or wait.done():
            wait = self._refill_waits[marker] = asyncio.ensure_future(
                refill.wait_complete(self.redis, self.refill_wait_seconds, marker=marker)
            )
        complete = await asyncio.shield(wait)
        if self._refill_waits.get(marker) is wait:
            del self._refill_waits[marker]
        if not complete:
            self._refill_gave_up = asyncio.get_running_loop().time()
        return complete

    async def history_complete(self) -> bool:
        """Whether no history was lost. On a cluster a node loses the markers of all the
        slots it serves together, so one marker per primary tells, once every marker has
        been seen (at start, and after a publish was refused)."""
        try:
            if not self.cluster:
                return bool(await self.redis.exists(self.layout.marker("")))
            markers = self._markers_to_check()
            async with self.redis.pipeline(transaction=False) as pipe:
                for marker in markers:
                    pipe.exists(marker)
                found = await pipe.execute()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise BackendUnavailable(str(exc)) from exc
        except (RedisError, RedisClusterException) as exc:
            if not self.cluster:
                raise
            raise BackendUnavailable(str(exc)) from exc
        complete = all(found)
        if complete:
            self._refused = False
        return complete

    def _markers_to_check(self) -> list[str]:
        if self._refused:
            return [marker for _, marker in self.layout.pairs()]
        cluster: RedisCluster = self.redis  # type: ignore[assignment]
        first: dict[str, int] = {}
        for slot, nodes in cluster.nodes_manager.slots_cache.items():
            if nodes:
                first.setdefault(nodes[0].name, slot)
        return [ClusterLayout.slot_marker(slot) for slot in first.values()]

    async def mark_complete(self) -> None:
        """Declare the history whole (for a Redis that only this process writes to: tests,
        benchmarks); in production the relay declares it after a refill."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, marker in self.layout.pairs():
                pipe.set(marker, "1")
            await pipe.execute()

    def refiller(self) -> refill.Refiller:
        return refill.Refiller(
            self.redis, self.history_size, self.history_ttl_ms, history_key, self.layout
        )

    async def ping(self) -> None:
        await self.redis.ping()
