"""A history Redis lost, refilled: readers wait for it, publishing waits for it, and a refill
interrupted by another loss is never declared whole. On a Redis database of its own, since
these tests empty it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from channels import names
from channels.backend import HistoryLost, Publication
from channels.protocol import encode_json, event_tail
from channels.redis_backend import RedisBackend, history_key
from tests.conftest import _with_redis_db

REDIS_DB = 12


@pytest.fixture(params=["redis", "cluster"])
def backend_url(request) -> str:
    """A Redis database of its own, or the tests' Redis Cluster (whose history is declared
    whole again afterwards, for the other tests on it)."""
    if request.param == "redis":
        return _with_redis_db(request.getfixturevalue("redis_url"), REDIS_DB)
    return request.getfixturevalue("redis_cluster_url")


@pytest.fixture
async def backend(backend_url: str) -> AsyncIterator[RedisBackend]:
    made = RedisBackend(backend_url, refill_wait_seconds=2.0)
    await made.redis.flushdb()
    await made.start()
    yield made
    await made.redis.flushdb()
    if made.cluster:
        await made.mark_complete()
    await made.stop()


def tail(n: int) -> bytes:
    return event_tail(str(uuid.uuid4()), "account.updated", encode_json({"n": n}))


FULL = names.scoped(3, names.account(7))
# As the outbox has them: positions T+1000-0 .. T+1004-0 (a minute ago), and T+999-5 before.
T = int(time.time() * 1000) - 61_000


def at(ms: int, seq: int = 0) -> str:
    return f"{T + ms}-{seq}"


ENTRIES = [(at(1000 + n), tail(n)) for n in range(5)]


async def refill(backend: RedisBackend, first_prev: str | None = at(999, 5)) -> None:
    refiller = backend.refiller()
    await refiller.begin()
    await refiller.write([(FULL, first_prev, ENTRIES)])
    await refiller.finish()


async def test_a_read_waits_for_the_refill_and_resumes_from_the_positions_clients_hold(
    backend: RedisBackend,
) -> None:
    reading = asyncio.create_task(backend.history(FULL, at(1001)))
    await asyncio.sleep(0.3)
    assert not reading.done()  # nothing said while the history is being refilled
    await refill(backend)
    history = await reading
    assert history.recovered is True
    assert [m.pos for m in history.messages] == [(T + 1002, 0), (T + 1003, 0), (T + 1004, 0)]
    assert history.pos == at(1004)


async def test_unrefilled_history_answers_not_recovered_even_from_nothing(
    backend: RedisBackend,
) -> None:
    backend.refill_wait_seconds = 0.5
    loop = asyncio.get_running_loop()
    for since, waits in (("0-0", True), (at(1001), False)):  # waited once: not again
        started = loop.time()
        history = await backend.history(FULL, since)
        assert (history.recovered, history.pos) == (False, "0-0")
        assert (loop.time() - started >= 0.5) is waits
    await backend.mark_complete()  # the other side: a whole, empty history
    assert (await backend.history(FULL, "0-0")).recovered is True


async def test_a_position_between_refilled_events_resumes_only_within_their_span(
    backend: RedisBackend,
) -> None:
    await refill(backend)
    # 999-5 is the outbox's event before 1000-0; 999-7 was (say) a wallboard figure.
    for since, recovered in ((at(999, 5), True), (at(999, 7), True), (at(999, 4), False)):
        history = await backend.history(FULL, since)
        assert history.recovered is recovered, since
        assert len(history.messages) == (5 if recovered else 0)


async def test_without_its_predecessor_in_the_outbox_the_oldest_does_not_resume(
    backend: RedisBackend,
) -> None:
    await refill(backend, first_prev=None)
    assert (await backend.history(FULL, "0-0")).recovered is False
    assert (await backend.history(FULL, at(1000))).recovered is True


async def test_publishing_waits_for_the_refill_and_continues_its_history(
    backend: RedisBackend,
) -> None:
    with pytest.raises(HistoryLost):
        await backend.publish([Publication(FULL, tail(9))])
    assert await backend.redis.xlen(history_key(FULL)) == 0
    await refill(backend)
    [pos] = await backend.publish([Publication(FULL, tail(9))])
    history = await backend.history(FULL, at(1004))
    assert history.recovered is True
    assert [m.pos for m in history.messages] == [tuple(map(int, pos.split("-")))]


async def test_a_refill_interrupted_by_another_loss_is_not_declared_whole(
    backend: RedisBackend,
) -> None:
    refiller = backend.refiller()
    await refiller.begin()
    await refiller.write([(FULL, None, ENTRIES[:2])])
    await backend.redis.flushdb()
    with pytest.raises(HistoryLost):
        await refiller.write([(names.scoped(3, names.account(8)), None, ENTRIES)])
    with pytest.raises(HistoryLost):
        await refiller.finish()
    assert not await backend.redis.exists(backend.layout.marker(FULL))
    assert not await backend.redis.exists(history_key(FULL))


async def test_a_refill_taken_over_stops_and_leaves_existing_streams_alone(
    backend: RedisBackend,
) -> None:
    first, second = backend.refiller(), backend.refiller()
    await first.begin()
    await second.begin()  # the relay that took over
    with pytest.raises(HistoryLost):
        await first.write([(FULL, None, ENTRIES)])
    await second.write([(FULL, None, ENTRIES[:2])])
    await second.write([(FULL, None, ENTRIES)])  # already there: left as it is
    await second.finish()
    assert await backend.redis.xlen(history_key(FULL)) == 2
    assert (second.channels, second.entries) == (1, 2)


async def test_on_a_cluster_a_node_that_lost_its_data_holds_back_only_its_own_slots(
    redis_cluster_url: str,
) -> None:
    """One primary restarted empty: its slots' markers went with its data. Publishing to a
    channel it serves is refused until the refill, one served by another node goes on; the
    relay's check sees the loss, and the refill declares every slot whole again."""
    made = RedisBackend(redis_cluster_url, refill_wait_seconds=0.5)
    await made.start()
    try:
        await made.mark_complete()
        assert await made.history_complete()
        cluster = made.redis
        lost_node = cluster.get_node_from_key(history_key(FULL))
        other = next(
            names.scoped(3, names.account(n))
            for n in range(100, 1000)
            if cluster.get_node_from_key(history_key(names.scoped(3, names.account(n))))
            != lost_node
        )
        await cluster.execute_command("FLUSHALL", target_nodes=lost_node)
        assert not await made.history_complete()  # one marker per primary tells
        with pytest.raises(HistoryLost):
            await made.publish([Publication(FULL, tail(1))])
        [pos] = await made.publish([Publication(other, tail(2))])
        assert (await made.history(other, None)).pos == pos
        assert (await made.history(FULL, "0-0")).recovered is False  # waits, then says so
        refiller = made.refiller()
        await refiller.begin()
        await refiller.write([(FULL, at(999, 5), ENTRIES)])
        await refiller.finish()
        assert await made.history_complete()
        history = await made.history(FULL, at(1002))
        assert history.recovered is True
        assert [m.pos for m in history.messages] == [(T + 1003, 0), (T + 1004, 0)]
        await made.publish([Publication(FULL, tail(3))])
    finally:
        await made.redis.flushdb()
        await made.mark_complete()
        await made.stop()
