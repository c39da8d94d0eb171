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
from tasks.relay import ANNOUNCED_HELD, Relay, _channels_of, _per_row, _Row


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
