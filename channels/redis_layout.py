"""Where the channels live in Redis: one server, or a Redis Cluster.

``REDIS_URL=redis+cluster://host:port`` (any node of the cluster) selects the cluster: the
clients are redis-py's ``RedisCluster``, live delivery is sharded pub/sub (``SPUBLISH`` and
``SSUBSCRIBE``, Redis 7), and a channel's history stream and its live channel carry the
channel's name as their hash tag, so both sit in the channel's slot and one script call
reaches both.

The marker that says the history is whole (``channels/refill.py``) must be read by that
same call, so on a cluster there is one marker per slot, each named with a hash tag that
falls into its slot; the refill's token likewise. A node that loses its data loses the
markers of exactly the slots it served.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio import RedisCluster
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot
from redis.exceptions import RedisError

HISTORY_COMPLETE = "rt:history:complete"
HISTORY_REFILL = "rt:history:refill"

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

AnyRedis = aioredis.Redis | RedisCluster


def is_cluster(url: str) -> bool:
    return url.partition("://")[0] in _CLUSTER_SCHEMES


def plain_url(url: str) -> str:
    """The address redis-py takes (``redis+cluster://`` becomes ``redis://``)."""
    scheme, sep, rest = url.partition("://")
    return f"{_CLUSTER_SCHEMES.get(scheme, scheme)}{sep}{rest}"


def connect_redis(url: str, *, max_connections: int = 64) -> AnyRedis:
    """A Redis client. On one server its pool makes callers wait for a free connection
    (rather than fail with "too many connections") when a burst of requests or sockets
    arrives at once; on a cluster, one pool per node."""
    if is_cluster(url):
        return RedisCluster.from_url(
            plain_url(url),
            max_connections=max(max_connections, 256),
            socket_timeout=5,
            socket_connect_timeout=5,
            health_check_interval=30,
        )
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=5,
        socket_timeout=5,
        socket_connect_timeout=5,
        health_check_interval=30,
    )
    return aioredis.Redis(connection_pool=pool)


def node_connection_kwargs(url: str) -> dict[str, Any]:
    """What a connection to one node of the cluster takes from the cluster's address (its
    nodes share the credentials)."""
    kwargs = aioredis.ConnectionPool.from_url(plain_url(url)).connection_kwargs
    wanted = ("username", "password", "socket_timeout", "client_name")
    return {k: v for k, v in kwargs.items() if k in wanted} | {"socket_connect_timeout": 5}


class RedisModeError(RuntimeError):
    """REDIS_URL says one server where Redis is a cluster, or the other way round."""


async def check_mode(url: str) -> None:
    """Raise ``RedisModeError`` when ``url`` says the wrong kind of server: a node of a
    cluster named as one server would answer MOVED to most keys, a single server named as
    a cluster refuses the cluster's commands. Says nothing while Redis is away."""
    probe = aioredis.Redis.from_url(plain_url(url), socket_connect_timeout=2, socket_timeout=2)
    try:
        info = await probe.info("cluster")
    except (RedisError, OSError):
        return  # away: the first command after it comes back says what is wrong
    finally:
        await probe.aclose()
    if bool(info.get("cluster_enabled")) == is_cluster(url):
        return
    if is_cluster(url):
        raise RedisModeError(
            "REDIS_URL says redis+cluster:// but that Redis is not a cluster node; "
            "write it redis:// (or rediss://)"
        )
    raise RedisModeError(
        "REDIS_URL names a node of a Redis Cluster; write it redis+cluster://host:port"
    )


def live_key(channel: str) -> str:
    return f"rt:{{{channel}}}"


def history_key(channel: str) -> str:
    return f"rt:h:{{{channel}}}"


def channel_of(live: bytes) -> str:
    return live.decode()[4:-1]


def channel_slot(channel: str) -> int:
    return key_slot(history_key(channel).encode())


@cache
def _slot_tags() -> tuple[str, ...]:
    """For each slot, a short hash tag that falls into it (about 0.2 s, once a process)."""
    tags: list[str | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
    missing = REDIS_CLUSTER_HASH_SLOTS
    for n in itertools.count():
        tag = format(n, "x")
        slot = key_slot(tag.encode())
        if tags[slot] is None:
            tags[slot] = tag
            missing -= 1
            if not missing:
                return tuple(t for t in tags if t is not None)
    raise AssertionError("unreachable")


class Layout:
    """The history's marker and refill token: one each on a single server."""

    cluster = False

    def marker(self, channel: str) -> str:
        return HISTORY_COMPLETE

    def token(self, channel: str) -> str:
        return HISTORY_REFILL

    def pairs(self) -> Iterator[tuple[str, str]]:
        """Every (token, marker) pair, each pair in one slot."""
        yield HISTORY_REFILL, HISTORY_COMPLETE


class ClusterLayout(Layout):
    """One marker and one token per slot, hash-tagged into it."""

    cluster = True

    def marker(self, channel: str) -> str:
        return self.slot_marker(channel_slot(channel))

    def token(self, channel: str) -> str:
        return f"{HISTORY_REFILL}:{{{_slot_tags()[channel_slot(channel)]}}}"

    @staticmethod
    def slot_marker(slot: int) -> str:
        return f"{HISTORY_COMPLETE}:{{{_slot_tags()[slot]}}}"

    def pairs(self) -> Iterator[tuple[str, str]]:
        for tag in _slot_tags():
            yield f"{HISTORY_REFILL}:{{{tag}}}", f"{HISTORY_COMPLETE}:{{{tag}}}"


def layout_for(url: str) -> Layout:
    return ClusterLayout() if is_cluster(url) else Layout()
