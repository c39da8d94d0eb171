"""The relay's refill groups the outbox's rows by channel, each capped at the history size,
the row before the cap kept only as the predecessor."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from channels import names
from channels.backend import BackendUnavailable
from tasks.relay import ANNOUNCED_HELD, Handoff, Relay, _per_row, _Row
from tasks.relay_refill import _channels_of


async def rows(items: list[tuple[int, str, str]]) -> AsyncIterator[dict[str, Any]]:
    for tenant_id, channel, pos in items:
        yield {
            "tenant_id": tenant_id,
            "channel": channel,
            "pos": pos,
            "event_id": uuid.uuid4(),
            "type": "account.updated",
            "data": "{}",
        }


class Listening:
    """The relay's listening connection, as the loop asks after it."""

    def is_closed(self) -> bool:
        return False


class WholeHistory:
    """A backend whose channels' history is whole."""

    async def history_complete(self) -> bool:
        return True


async def test_each_channel_keeps_its_newest_and_the_one_before_as_predecessor() -> None:
    items = [
        (1, "account:1", "10-0"),  # one more than the size: the predecessor only
        (1, "account:1", "11-0"),
        (1, "account:1", "12-0"),
        (1, "account:2", "20-0"),  # exactly the size: no predecessor known
        (1, "account:2", "21-0"),
        (2, "account:1", "30-0"),  # fewer
    ]
    grouped = [
        (channel, prev, [pos for pos, _ in entries])
        async for channel, prev, entries in _channels_of(rows(items), 2)
    ]
    assert grouped == [
        (names.scoped(1, "account:1"), "10-0", ["11-0", "12-0"]),
        (names.scoped(1, "account:2"), None, ["20-0", "21-0"]),
        (names.scoped(2, "account:1"), None, ["30-0"]),
    ]


def test_positions_go_back_to_their_rows_in_channel_order() -> None:
    batch = [_Row(n, 1, "t", channels, "") for n, channels in enumerate((["a", "b"], [], ["c"]))]
    assert _per_row(batch, ["1-0", "1-1", "2-0"]) == ["1-0 1-1", "", "2-0"]


def test_a_notice_of_an_event_already_published_wakes_no_batch() -> None:
    relay = Relay(None, None)  # type: ignore[arg-type]
    relay._remember([41, 42])
    relay._notified("42")
    assert not relay._wake.is_set()
    relay._notified("43")  # not yet claimed
    assert relay._wake.is_set()
    assert relay._pending == {43}
    relay._remember([43])
    assert relay._pending == set()
    relay._wake.clear()
    relay._notified("")  # a notice that names no event always wakes one
    assert relay._wake.is_set()
    assert relay._pending == {None}


def test_the_memory_of_claimed_ids_is_bounded() -> None:
    relay = Relay(None, None)  # type: ignore[arg-type]
    relay._remember(list(range(20_001)))
    assert len(relay._claimed) == 10_001
    assert 20_000 in relay._claimed
    assert 9_999 not in relay._claimed


async def test_a_notice_of_an_event_another_relay_published_costs_one_batch() -> None:
    """A notice whose event the claim did not return (another relay published it) is
    answered by the batch that came back short: the relay then waits, it does not spin."""

    relay = Relay(None, WholeHistory(), poll_seconds=60)  # type: ignore[arg-type]
    batches = 0

    async def batch() -> int:
        nonlocal batches
        batches += 1
        return 0

    async def prune() -> None:
        pass

    relay.relay_batch = batch  # type: ignore[method-assign]
    relay.prune = prune  # type: ignore[method-assign]
    running = asyncio.create_task(relay._loop(Listening()))
    try:
        await asyncio.sleep(0.05)
        assert batches == 1  # on taking over
        relay._notified("99")  # published by another relay: never claimed here
        await asyncio.sleep(0.3)
        assert batches == 2
        assert relay._pending == set()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def _notice(*ids: int) -> str:
    tail = '","id":"e","type":"account.updated","data":{"type":"x,\\"data\\":1","n":2}}'
    return msgspec.json.encode(
        [[id_, 1, "account.updated", ["wallboard"], tail] for id_ in ids]
    ).decode()


def test_a_notice_that_carries_events_keeps_them_to_publish_unless_published() -> None:
    relay = Relay(None, None)  # type: ignore[arg-type]
    relay._remember([4])
    relay._notified(_notice(4, 5, 6))
    assert relay._wake.is_set()
    assert list(relay._announced) == [5, 6]
    assert relay._pending == set()
    assert msgspec.json.decode(relay._announced[5].data) == {"type": 'x,"data":1', "n": 2}
    relay._remember([5, 6])
    assert relay._announced == {}
    relay._wake.clear()
    relay._notified(_notice(6))  # heard after its event went out
    assert not relay._wake.is_set()
    relay._notified("[not what the trigger writes")
    assert relay._pending == {None}  # the outbox is read instead


async def test_events_a_notice_carries_go_out_without_a_read_and_an_id_is_read() -> None:
    """On taking over the relay reads the outbox; then the events notices carry go out
    without one, and a notice naming only an id (a larger statement) brings a read."""

    relay = Relay(None, WholeHistory(), poll_seconds=60, gather_seconds=0)  # type: ignore[arg-type]
    reads: list[int] = []
    announced: list[list[int]] = []

    async def read() -> int:
        reads.append(1)
        relay._remember(list(relay._announced))
        return 0

    async def publish_announced() -> int:
        ids = list(relay._announced)
        announced.append(ids)
        relay._remember(ids)
        return len(ids)

    async def prune() -> None:
        pass

    relay.relay_batch = read  # type: ignore[method-assign]
    relay.relay_announced = publish_announced  # type: ignore[method-assign]
    relay.prune = prune  # type: ignore[method-assign]
    running = asyncio.create_task(relay._loop(Listening()))
    try:
        await asyncio.sleep(0.05)
        assert (len(reads), announced) == (1, [])  # on taking over
        relay._notified(_notice(7))
        await asyncio.sleep(0.05)
        relay._notified(_notice(8, 9))
        await asyncio.sleep(0.05)
        assert (len(reads), announced) == (1, [[7], [8, 9]])
        relay._notified("10")
        await asyncio.sleep(0.05)
        assert (len(reads), announced) == (2, [[7], [8, 9]])
        relay._notified(_notice(11))
        await asyncio.sleep(0.05)
        assert (len(reads), announced) == (2, [[7], [8, 9], [11]])
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def test_events_kept_from_notices_are_bounded_and_then_read_from_the_outbox() -> None:
    relay = Relay(None, None)  # type: ignore[arg-type]
    relay._notified(_notice(*range(1, ANNOUNCED_HELD + 1)))
    assert len(relay._announced) == ANNOUNCED_HELD
    assert relay._pending == set()
    relay._notified(_notice(ANNOUNCED_HELD + 1))
    assert list(relay._announced) == [ANNOUNCED_HELD + 1]
    assert relay._pending == {None}  # the ones let go are read from the outbox


class Published(WholeHistory):
    """A backend that takes every batch."""

    async def publish(self, publications: list[Any]) -> list[str]:
        return [f"1-{n}" for n in range(len(publications))]


class Autocommit:
    """The running relay's own connection, as a batch asks after it."""

    def is_closed(self) -> bool:
        return False

    def is_in_transaction(self) -> bool:
        return False


def _trickle_relay(log: list[tuple[str, list[int]]], **options: Any) -> tuple[Relay, Published]:
    """A relay whose reads, marks and kicks are written down in ``log``, in order."""

    backend = Published()

    async def kick(tenants: list[int]) -> None:
        log.append(("kick", tenants))

    relay = Relay(
        None,  # type: ignore[arg-type]
        backend,  # type: ignore[arg-type]
        poll_seconds=60,
        gather_seconds=0,
        handoffs=[Handoff(wants=lambda _type, _data: True, kick=kick)],
        **options,
    )
    relay._conn = Autocommit()

    async def publish(publications: list[Any]) -> list[str]:
        ids = sorted({int(p.tail.split(b'"')[4]) for p in publications})
        log.append(("publish", ids))
        return await Published.publish(backend, publications)

    async def mark(_conn: Any, rows: Any, ids: list[int], positions: list[str]) -> list[Any]:
        assert len(positions) == len(ids)
        log.append(("mark", ids))
        return []

    async def read() -> int:
        log.append(("read", []))
        return 0

    async def prune() -> None:
        pass

    backend.publish = publish  # type: ignore[method-assign]
    relay._mark = mark  # type: ignore[method-assign]
    relay.relay_batch = read  # type: ignore[method-assign]
    relay.prune = prune  # type: ignore[method-assign]
    return relay, backend


def _notice_of(*ids: int) -> str:
    """A notice whose tails carry each event's outbox id as its event id."""
    return msgspec.json.encode(
        [
            [id_, 1, "account.updated", ["wallboard"], f'","id":"{id_}","type":"t","data":{{}}}}']
            for id_ in ids
        ]
    ).decode()


async def test_a_trickle_goes_out_at_once_and_is_marked_and_handed_off_together() -> None:
    """Each gathering's events reach Redis at once; they are marked published (and their
    hand-offs kicked) together, one statement and one kick for several batches, once the
    first of them has waited ``mark_seconds``."""
    log: list[tuple[str, list[int]]] = []
    relay, _ = _trickle_relay(log, mark_seconds=0.2)
    running = asyncio.create_task(relay._loop(Listening()))
    try:
        await asyncio.sleep(0.03)
        assert log == [("read", [])]  # on taking over
        relay._notified(_notice_of(7))
        await asyncio.sleep(0.03)
        relay._notified(_notice_of(8, 9))
        await asyncio.sleep(0.03)
        assert log[1:] == [("publish", [7]), ("publish", [8, 9])]  # not marked yet
        await asyncio.sleep(0.25)
        assert log[3:] == [("mark", [7, 8, 9]), ("kick", [1])]
        assert relay._unmarked == []
        await asyncio.sleep(0.25)
        assert len(log) == 5  # nothing more to mark: no statement, no kick
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_what_went_out_unmarked_is_marked_before_a_read_or_when_a_batch_is_full() -> None:
    """A read of the outbox would find events published but not yet marked, and publish
    them again: they are marked first. A batch's worth waiting is marked at once."""
    log: list[tuple[str, list[int]]] = []
    relay, _ = _trickle_relay(log, mark_seconds=60, batch_size=3)
    running = asyncio.create_task(relay._loop(Listening()))
    try:
        await asyncio.sleep(0.03)
        relay._notified(_notice_of(7))
        await asyncio.sleep(0.03)
        relay._notified("12")  # a larger statement: its events are read
        await asyncio.sleep(0.03)
        assert log == [
            ("read", []),
            ("publish", [7]),
            ("mark", [7]),
            ("kick", [1]),
            ("read", []),
        ]
        del log[:]
        relay._notified(_notice_of(20, 21))
        await asyncio.sleep(0.03)
        relay._notified(_notice_of(22))
        await asyncio.sleep(0.03)
        assert log == [
            ("publish", [20, 21]),
            ("publish", [22]),
            ("mark", [20, 21, 22]),
            ("kick", [1]),
        ]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_marks_wait_out_a_redis_outage_and_are_written_before_the_next_try() -> None:
    """Events that reached Redis before it went away are marked (their positions kept for a
    refill) before the relay tries again, not published a second time."""
    log: list[tuple[str, list[int]]] = []
    relay, backend = _trickle_relay(log, mark_seconds=60)
    publish = backend.publish
    refusals = 1

    async def flaky(publications: list[Any]) -> list[str]:
        nonlocal refusals
        if b'"8"' in publications[0].tail and refusals:
            refusals -= 1
            raise BackendUnavailable("connection refused")
        return await publish(publications)

    backend.publish = flaky  # type: ignore[method-assign]
    running = asyncio.create_task(relay._loop(Listening()))
    try:
        await asyncio.sleep(0.03)
        relay._notified(_notice_of(7))
        await asyncio.sleep(0.03)
        relay._notified(_notice_of(8))
        await asyncio.sleep(0.3)  # the relay's back-off (0.1 s), and its next try
        assert log == [
            ("read", []),
            ("publish", [7]),
            ("mark", [7]),  # before the refill check and the read that follow an outage
            ("kick", [1]),
            ("read", []),
            ("publish", [8]),
        ]
        assert [row.id for row, _ in relay._unmarked] == [8]
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
