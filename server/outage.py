"""Dependency outages: PostgreSQL or Redis out of reach is not a bug of ours.

While one is down, whatever needs it answers 503 with ``Retry-After`` (an RFC 9457
problem naming the dependency), a socket is closed with 1013 ("try again later"), and
the log says so once: a line when the outage is first seen and a line when the dependency
answers again, found by a probe every second, however many requests failed in between.
Nothing needs restarting: the database pool and the Redis clients open new connections
when asked, and the first request after the outage gets one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from types import TracebackType

import asyncpg
import structlog
from redis.exceptions import ClusterDownError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels.backend import BackendUnavailable

log = structlog.get_logger("recoup.outage")

DATABASE = "database"
REDIS = "redis"
RETRY_AFTER_SECONDS = 5
_PROBE_INTERVAL = 1.0
_PROBE_TIMEOUT = 2.0

# What PostgreSQL or the link to it raises when the server is down, shutting down,
# starting up, full, or read-only after a fail-over: the request is fine, the server is not.
_DATABASE_DOWN: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: pg_ctl stop
    asyncpg.CrashShutdownError,  # 57P02
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.ReadOnlySQLTransactionError,  # 25006: a standby that is not promoted yet
    asyncpg.ConnectionDoesNotExistError,  # the link broke during a statement
)
_REDIS_DOWN: tuple[type[BaseException], ...] = (
    BackendUnavailable,
    RedisConnectionError,  # and BusyLoadingError: Redis loading its data after a restart
    RedisTimeoutError,
    # A Redis Cluster: no node reachable, slots not served (a primary down without a
    # replica), or a slot moving.
    RedisClusterException,
    ClusterDownError,
    TryAgainError,
)
# The socket's own errors, without a library's class: whose socket it was is in the traceback.
_LINK_DOWN: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)


def _library_of(exc: BaseException) -> str | None:
    tb: TracebackType | None = exc.__traceback__
    found = None
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith("asyncpg"):
            found = DATABASE
        elif module.startswith("redis"):
            found = REDIS
        tb = tb.tb_next
    return found


def dependency_of(exc: BaseException) -> str | None:
    """``"database"`` or ``"redis"`` when ``exc`` (or what it was raised from) says that
    dependency is out of reach; None for anything else."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, _REDIS_DOWN):
            return REDIS
        if isinstance(current, _DATABASE_DOWN):
            return DATABASE
        if isinstance(current, asyncpg.InterfaceError) and "closed" in str(current):
            return DATABASE  # "connection is closed", "pool is closed"
        if isinstance(current, _LINK_DOWN) and (library := _library_of(current)):
            return library
        current = current.__cause__ or current.__context__
        seen += 1
    return None


class Outages:
    """What this process knows of its dependencies' outages, logged once each way."""

    def __init__(self, probes: dict[str, Callable[[], Awaitable[object]]]) -> None:
        self._probes = probes
        self._since: dict[str, float] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}

    def down(self) -> list[str]:
        """The dependencies out of reach now, by name."""
        return sorted(self._since)

    def is_down(self, dependency: str) -> bool:
        return dependency in self._since

    def noted(self, exc: BaseException) -> str | None:
        """If ``exc`` is an outage, note it (the first time: a log line and a probe that
        waits for the end) and name the dependency; None if it is not one."""
        dependency = dependency_of(exc)
        if dependency is None:
            return None
        if dependency not in self._since:
            self._since[dependency] = time.monotonic()
            log.warning(
                "dependency unavailable",
                dependency=dependency,
                error=f"{type(exc).__name__}: {exc}"[:200],
            )
            if dependency in self._probes:
                self._watchers[dependency] = asyncio.get_running_loop().create_task(
                    self._watch(dependency), name=f"recoup-outage-{dependency}"
                )
        return dependency

    async def _watch(self, dependency: str) -> None:
        probe = self._probes[dependency]
        try:
            while True:
                await asyncio.sleep(_PROBE_INTERVAL)
                try:
                    await asyncio.wait_for(probe(), _PROBE_TIMEOUT)
                except Exception:  # still down, whatever the probe raised: wait and try again
                    continue
                break
            since = self._since.pop(dependency, time.monotonic())
            log.warning(
                "dependency available again",
                dependency=dependency,
                down_seconds=round(time.monotonic() - since, 1),
            )
        finally:
            self._watchers.pop(dependency, None)

    async def close(self) -> None:
        for task in list(self._watchers.values()):
            task.cancel()
        for task in list(self._watchers.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._watchers.clear()


def unavailable_detail(dependency: str) -> str:
    what = "the database" if dependency == DATABASE else "Redis (sign-in limits, tickets, jobs)"
    return (
        f"{what} cannot be reached just now; the request was not completed. "
        f"Try again in {RETRY_AFTER_SECONDS} seconds."
    )
