"""What counts as a dependency outage (503) and what stays a bug of ours (500)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    RedisClusterException,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from channels.backend import BackendUnavailable
from server.outage import DATABASE, REDIS, Outages, dependency_of


@pytest.mark.parametrize(
    ("exc", "dependency"),
    [
        (asyncpg.CannotConnectNowError("the database system is shutting down"), DATABASE),
        (asyncpg.AdminShutdownError("terminating connection"), DATABASE),
        (asyncpg.TooManyConnectionsError("too many clients"), DATABASE),
        (asyncpg.ConnectionDoesNotExistError("connection was closed"), DATABASE),
        (asyncpg.InterfaceError("connection is closed"), DATABASE),
        (RedisConnectionError("Error 111 connecting"), REDIS),
        (BusyLoadingError("Redis is loading"), REDIS),
        (BackendUnavailable("pub/sub is reconnecting"), REDIS),
        (RedisClusterException("Redis Cluster cannot be connected"), REDIS),
        (ClusterDownError("CLUSTERDOWN The cluster is down"), REDIS),
        (TryAgainError("TRYAGAIN Multiple keys request during rehashing"), REDIS),
        # Ours, or the request's: not an outage.
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), None),
        (asyncpg.UniqueViolationError("duplicate key"), None),
        (asyncpg.InterfaceError("another operation is in progress"), None),
        (ResponseError("WRONGTYPE"), None),
        (ConnectionRefusedError("a socket of no library we know"), None),
        (FileNotFoundError("frontend/missing.html"), None),
        (ValueError("bad"), None),
    ],
)
def test_dependency_of(exc: BaseException, dependency: str | None) -> None:
    assert dependency_of(exc) == dependency


def _ticket() -> None:
    try:
        raise RedisConnectionError("gone")
    except RedisConnectionError as exc:
        raise RuntimeError("the ticket was not issued") from exc


def test_an_error_raised_from_an_outage_is_one() -> None:
    with pytest.raises(RuntimeError) as raised:
        _ticket()
    assert dependency_of(raised.value) == REDIS


async def test_an_outage_is_noted_once_and_its_end_once() -> None:
    answers = [RedisConnectionError("down"), RedisConnectionError("down"), None]

    async def probe() -> None:
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    outages = Outages({REDIS: probe})
    for _ in range(3):
        assert outages.noted(RedisConnectionError("refused")) == REDIS
    assert outages.down() == [REDIS]
    assert outages.noted(ValueError("a bug")) is None
    for _ in range(50):
        if not outages.is_down(REDIS):
            break
        await asyncio.sleep(0.1)
    assert outages.down() == []
    assert answers == []
    await outages.close()
