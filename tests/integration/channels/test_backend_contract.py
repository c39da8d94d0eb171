"""The backend contract, run against the in-memory backend and against real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from channels import names
from channels.backend import Backend, Message, Publication
from channels.memory import MemoryBackend
from channels.protocol import NO_POSITION, encode_json, event_tail
from channels.redis_backend import RedisBackend, RedisModeError, history_key
from tests.helpers import eventually


class Recorder:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.resyncs: list[tuple[str, str]] = []

    def deliver(self, message: Message) -> None:
        self.messages.append(message)

    def resync(self, channel: str, pos: str) -> None:
        self.resyncs.append((channel, pos))

    def events(self) -> list[dict]:
        return [msgspec.json.decode(m.payload) for m in self.messages]


def publication(channel: str, n: int, event_type: str = "test.event") -> Publication:
    return Publication(channel, event_tail(str(uuid.uuid4()), event_type, encode_json({"n": n})))


@pytest.fixture(params=["memory", "redis", "cluster"])
def backend_url(request) -> str | None:
    """None for the memory backend; else one Redis, or a Redis Cluster (sharded pub/sub)."""
    if request.param == "memory":
        return None
    return request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")


@pytest.fixture
async def backend(backend_url: str | None) -> AsyncIterator[Backend]:
    made: Backend = MemoryBackend() if backend_url is None else RedisBackend(backend_url)
    await made.start()
    yield made
    await made.stop()


def channel() -> str:
    return names.scoped(int(uuid.uuid4().int % 10**9), names.account(7))


async def trim(backend: Backend, full: str, keep: int) -> None:
    if isinstance(backend, MemoryBackend):
        backend.trim(full, keep)
    else:
        await backend.redis.xtrim(history_key(full), maxlen=keep, approximate=False)


async def test_publish_returns_ordered_positions_and_history_holds_them(backend) -> None:
    full = channel()
    positions = await backend.publish([publication(full, n) for n in range(5)])
    assert len(positions) == 5
    parsed = [tuple(map(int, p.split("-"))) for p in positions]
    assert parsed == sorted(parsed)
    assert len(set(parsed)) == 5
    history = await backend.history(full, None)
    assert history.recovered
    assert history.pos == positions[-1]
    assert history.messages == []
    since_second = await backend.history(full, positions[1])
    assert since_second.recovered
    assert [m.pos for m in since_second.messages] == parsed[2:]
    assert [msgspec.json.decode(m.payload)["data"]["n"] for m in since_second.messages] == [2, 3, 4]
    everything = await backend.history(full, NO_POSITION)
    assert everything.recovered
    assert len(everything.messages) == 5


async def test_frames_are_complete_events_naming_the_channel_as_clients_see_it(backend) -> None:
    full = channel()
    listener = Recorder()
    await backend.subscribe(full, listener)
    [pos] = await backend.publish([publication(full, 1, "account.updated")])
    await eventually(lambda: listener.messages)
    event = listener.events()[0]
    assert event == {
        "op": "event",
        "channel": "account:7",
        "pos": pos,
        "id": event["id"],
        "type": "account.updated",
        "data": {"n": 1},
    }
    pay = names.scoped(5, names.pay(9))
    pay_listener = Recorder()
    await backend.subscribe(pay, pay_listener)
    await backend.publish([publication(pay, 2)])
    await eventually(lambda: pay_listener.messages)
    assert pay_listener.events()[0]["channel"] == "pay"


async def test_live_delivery_in_order_to_every_listener_reference_counted(backend) -> None:
    full = channel()
    first, second = Recorder(), Recorder()
    await backend.subscribe(full, first)
    await backend.subscribe(full, second)
    assert backend.channels() >= 1
    await backend.publish([publication(full, n) for n in range(20)])
    await eventually(lambda: len(first.messages) == 20 and len(second.messages) == 20)
    assert [e["data"]["n"] for e in first.events()] == list(range(20))
    await backend.unsubscribe(full, first)
    await backend.publish([publication(full, 20)])
    await eventually(lambda: len(second.messages) == 21)
    assert len(first.messages) == 20
    before = backend.channels()
    await backend.unsubscribe(full, second)
    assert backend.channels() == before - 1


async def test_trimmed_history_reports_not_recovered(backend) -> None:
    full = channel()
    positions = await backend.publish([publication(full, n) for n in range(10)])
    await trim(backend, full, 3)
    gone = await backend.history(full, positions[2])
    assert not gone.recovered
    assert gone.pos == positions[-1]
    kept = await backend.history(full, positions[7])
    assert kept.recovered
    assert [m.pos for m in kept.messages] == [tuple(map(int, p.split("-"))) for p in positions[8:]]


async def test_unknown_channel_and_positions(backend) -> None:
    full = channel()
    fresh = await backend.history(full, None)
    assert (fresh.recovered, fresh.pos) == (True, NO_POSITION)
    assert (await backend.history(full, NO_POSITION)).recovered
    lost = await backend.history(full, "1700000000000-0")  # the client saw events we no longer have
    assert not lost.recovered
    positions = await backend.publish([publication(full, 1)])
    future = await backend.history(full, "99999999999999-0")
    assert not future.recovered
    assert future.pos == positions[0]


async def test_listened_names_the_tenants_someone_subscribes_to_a_channel_of(backend) -> None:
    watched, other, unwatched = (int(uuid.uuid4().int % 10**9) for _ in range(3))
    wallboard = names.scoped(watched, names.WALLBOARD)
    first, second = Recorder(), Recorder()
    await backend.subscribe(wallboard, first)
    await backend.subscribe(wallboard, second)
    await backend.subscribe(names.scoped(other, names.TENANT), first)
    await backend.publish([publication(names.scoped(unwatched, names.WALLBOARD), 1)])
    # Other tests' tenants may be listened to as well; these three are known.
    listened = await backend.listened(names.WALLBOARD)
    assert watched in listened
    assert other not in listened
    assert unwatched not in listened
    assert other in await backend.listened(names.TENANT)

    await backend.unsubscribe(wallboard, first)
    assert watched in await backend.listened(names.WALLBOARD)  # the second still listens
    await backend.unsubscribe(wallboard, second)
    for _ in range(500):  # Redis forgets the subscription as soon as it reads the UNSUBSCRIBE
        if watched not in await backend.listened(names.WALLBOARD):
            break
        await asyncio.sleep(0.01)
    assert watched not in await backend.listened(names.WALLBOARD)


async def test_on_a_cluster_a_batch_over_thousands_of_channels_goes_out_whole(
    redis_cluster_url: str,
) -> None:
    """A relay batch can touch thousands of channels over every slot: it goes out as one
    pipelined round of script calls per node, not one connection per slot."""
    made = RedisBackend(redis_cluster_url)
    await made.start()
    try:
        channels = [channel() for _ in range(3000)]
        positions = await made.publish([publication(c, n) for n, c in enumerate(channels)])
        assert len(positions) == 3000
        assert all(positions)
        for c, pos in list(zip(channels, positions, strict=True))[::300]:
            history = await made.history(c, "0-0")
            assert [m.pos for m in history.messages] == [tuple(map(int, pos.split("-")))]
    finally:
        await made.stop()


async def test_a_cluster_node_named_as_one_server_is_refused_at_start(
    redis_cluster_url: str,
) -> None:
    """As ``redis://`` a node of a cluster would answer MOVED to most keys: start says so."""
    node = redis_cluster_url.replace("redis+cluster://", "redis://")
    made = RedisBackend(node)
    try:
        with pytest.raises(RedisModeError, match="redis\\+cluster://"):
            await made.start()
    finally:
        await made.stop()
