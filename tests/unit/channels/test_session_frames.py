"""A socket session's answers frame by frame, on the in-memory backend: pings, bad frames,
subscribing again, the backend going away, and the policy asked again."""

from __future__ import annotations

import asyncio

import pytest

from channels import names
from channels import session as session_module
from channels.backend import BackendUnavailable, History, Listener
from channels.memory import MemoryBackend
from channels.session import Session
from domain.actor import Actor
from domain.channel_access import ChannelAccess
from tests.unit.channels.test_session import ADMIN, RecordingSink, allow_all, publication

COLLECTOR = Actor(tenant_id=1, type="user", id=5, role="collector")


def open_session(
    backend: MemoryBackend, actor: Actor = ADMIN, check=allow_all, **limits: int
) -> tuple[Session, RecordingSink]:  # type: ignore[no-untyped-def]
    sink = RecordingSink()
    return Session(backend, sink, authorize=ChannelAccess(actor, check), **limits), sink


def event_numbers(sink: RecordingSink) -> list[int]:
    return [f["data"]["n"] for f in sink.frames if f["op"] == "event"]


# Frames as the client sends them


async def test_a_ping_gets_a_pong() -> None:
    live, sink = open_session(MemoryBackend())
    await live.receive('{"op": "ping"}')
    assert sink.frames == [{"op": "pong"}]


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        ("not json", "bad_frame", "frames are JSON objects"),
        (b'{"op": "shout"}', "unknown_op", "op must be subscribe, unsubscribe or ping"),
        ('{"channel": "wallboard"}', "bad_frame", "a frame needs an op"),
    ],
)
async def test_a_bad_frame_gets_an_error_naming_no_channel_and_changes_nothing(
    data: str | bytes, code: str, message: str
) -> None:
    backend = MemoryBackend()
    live, sink = open_session(backend)
    await live.receive('{"op": "subscribe", "channel": "wallboard"}')
    await live.receive(data)
    assert sink.frames[1:] == [{"op": "error", "code": code, "message": message}]
    assert list(live.subscriptions) == ["t1:wallboard"]
    assert backend.channels() == 1


async def test_subscribe_and_unsubscribe_frames_act_on_the_channel_and_its_position() -> None:
    backend = MemoryBackend()
    positions = await backend.publish([publication(1, "wallboard", n) for n in range(3)])
    live, sink = open_session(backend)
    await live.receive(f'{{"op": "subscribe", "channel": "wallboard", "since": "{positions[0]}"}}')
    await live.receive('{"op": "unsubscribe", "channel": "wallboard"}')
    assert sink.frames[0] == {
        "op": "subscribed",
        "channel": "wallboard",
        "pos": positions[2],
        "recovered": True,
    }
    assert event_numbers(sink) == [1, 2]
    assert sink.frames[-1] == {"op": "unsubscribed", "channel": "wallboard"}
    assert backend.channels() == 0


# What each refusal says


@pytest.mark.parametrize(
    ("actor", "name", "code", "message"),
    [
        (ADMIN, "wallboard:1", "bad_channel", "'wallboard' takes no id"),
        (ADMIN, "Account:1", "bad_channel", "'Account:1' is not a channel name"),
        (
            COLLECTOR,
            "wallboard",
            "forbidden",
            "a collector may not subscribe to wallboard channels",
        ),
        (COLLECTOR, "agent:6", "forbidden", "only managers hear another user's agent channel"),
    ],
)
async def test_a_refused_subscription_says_why_and_names_the_channel_asked_for(
    actor: Actor, name: str, code: str, message: str
) -> None:
    backend = MemoryBackend()
    live, sink = open_session(backend, actor)
    await live.subscribe(name, None)
    assert sink.frames == [{"op": "error", "code": code, "message": message, "channel": name}]
    assert live.subscriptions == {}
    assert backend.channels() == 0


async def test_a_since_that_is_no_position_is_refused_before_the_policy_is_asked() -> None:
    asked = []

    async def check(kind: str, ident: int) -> bool:
        asked.append((kind, ident))
        return True

    live, sink = open_session(MemoryBackend(), COLLECTOR, check)
    await live.subscribe("account:7", "yesterday")
    assert sink.frames == [
        {
            "op": "error",
            "code": "bad_since",
            "message": "'yesterday' is not a position this server gave out",
            "channel": "account:7",
        }
    ]
    assert asked == []
    assert live.subscriptions == {}


async def test_a_bad_channel_to_leave_says_why() -> None:
    live, sink = open_session(MemoryBackend())
    await live.unsubscribe("agent:you")
    assert sink.frames == [
        {
            "op": "error",
            "code": "bad_channel",
            "message": "'agent:you' is not a channel name",
            "channel": "agent:you",
        }
    ]


# The subscription limit


async def test_a_socket_holds_a_thousand_subscriptions_unless_told_otherwise() -> None:
    backend = MemoryBackend()
    live, sink = open_session(backend)
    for n in range(1, 1001):
        await live.subscribe(names.account(n), None)
    assert len(live.subscriptions) == 1000
    assert [f["op"] for f in sink.frames] == ["subscribed"] * 1000
    await live.subscribe("account:1001", None)
    assert sink.frames[-1] == {
        "op": "error",
        "code": "too_many_subscriptions",
        "message": "a socket may hold at most 1000 subscriptions",
        "channel": "account:1001",
    }
    assert len(live.subscriptions) == 1000
    assert backend.channels() == 1000


async def test_at_the_limit_a_channel_held_may_be_subscribed_again() -> None:
    backend = MemoryBackend()
    live, sink = open_session(backend, max_subscriptions=2)
    await live.subscribe("wallboard", None)
    await live.subscribe("tenant", None)
    await live.subscribe("account:1", None)
    await live.subscribe("wallboard", None)
    assert [(f["op"], f["channel"]) for f in sink.frames] == [
        ("subscribed", "wallboard"),
        ("subscribed", "tenant"),
        ("error", "account:1"),
        ("subscribed", "wallboard"),
    ]
    assert sink.frames[2]["message"] == "a socket may hold at most 2 subscriptions"
    assert sorted(live.subscriptions) == ["t1:tenant", "t1:wallboard"]


async def test_subscribing_again_replaces_the_subscription_and_events_arrive_once() -> None:
    backend = MemoryBackend()
    live, sink = open_session(backend)
    await live.subscribe("wallboard", None)
    first = live.subscriptions["t1:wallboard"]
    await live.subscribe("wallboard", None)
    assert live.subscriptions["t1:wallboard"] is not first
    assert backend._channels["t1:wallboard"].listeners == {live.subscriptions["t1:wallboard"]}
    await backend.publish([publication(1, "wallboard", 1)])
    assert event_numbers(sink) == [1]


# The backend going away


class Unreachable(MemoryBackend):
    """A backend that fails at ``fail`` ("subscribe" or "history") and records unsubscribes."""

    def __init__(self, fail: str) -> None:
        super().__init__()
        self.fail = fail
        self.left: list[str] = []

    async def subscribe(self, channel: str, listener: Listener) -> None:
        await super().subscribe(channel, listener)
        if self.fail == "subscribe":
            raise BackendUnavailable("redis is down")

    async def history(self, channel: str, since: str | None) -> History:
        if self.fail == "history":
            raise BackendUnavailable("redis is down")
        return await super().history(channel, since)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        self.left.append(channel)
        await super().unsubscribe(channel, listener)


@pytest.mark.parametrize("fail", ["subscribe", "history"])
async def test_an_unavailable_backend_leaves_nothing_subscribed_and_says_subscribe_again(
    fail: str,
) -> None:
    backend = Unreachable(fail)
    live, sink = open_session(backend, COLLECTOR)
    await live.subscribe("agent:me", None)
    assert sink.frames == [
        {
            "op": "error",
            "code": "unavailable",
            "message": "real-time delivery is reconnecting; subscribe again",
            "channel": "agent:me",
        }
    ]
    assert live.subscriptions == {}
    assert backend.left == ["t1:agent:5"]
    assert backend.channels() == 0


async def test_a_failed_unsubscribe_is_logged_and_the_other_channels_are_still_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Failing(MemoryBackend):
        async def unsubscribe(self, channel: str, listener: Listener) -> None:
            if channel == "t1:wallboard":
                raise BackendUnavailable("redis is down")
            await super().unsubscribe(channel, listener)

    class Log:
        def __init__(self) -> None:
            self.errors: list[tuple[str, dict[str, str]]] = []

        def exception(self, event: str, **context: str) -> None:
            self.errors.append((event, context))

    logged = Log()
    monkeypatch.setattr(session_module, "log", logged)
    backend = Failing()
    live, _ = open_session(backend)
    await live.subscribe("wallboard", None)
    await live.subscribe("tenant", None)
    await live.close()
    assert live.subscriptions == {}
    assert list(backend._channels) == ["t1:wallboard"]
    assert logged.errors == [("unsubscribe failed", {"channel": "t1:wallboard"})]


# Leaving while the history is read


async def test_leaving_while_the_history_is_read_sends_no_subscribed_frame() -> None:
    backend = MemoryBackend()
    await backend.publish([publication(1, "wallboard", n) for n in range(3)])
    read_history = backend.history
    live, sink = open_session(backend)

    async def history_then_leave(channel: str, since: str | None) -> History:
        await live.unsubscribe("wallboard")
        return await read_history(channel, since)

    backend.history = history_then_leave  # type: ignore[method-assign]
    await live.subscribe("wallboard", "0-0")
    assert sink.frames == [{"op": "unsubscribed", "channel": "wallboard"}]
    assert backend.channels() == 0


async def test_a_subscription_whose_policy_answers_after_the_socket_closed_is_not_made() -> None:
    backend = MemoryBackend()
    answer = asyncio.Event()

    async def slow(kind: str, ident: int) -> bool:
        await answer.wait()
        return True

    live, sink = open_session(backend, COLLECTOR, slow)
    pending = asyncio.create_task(live.subscribe("account:7", None))
    try:
        await asyncio.sleep(0)
        await live.close()
    finally:
        answer.set()
        await pending
    assert sink.frames == []
    assert live.subscriptions == {}
    assert backend.channels() == 0


# History lost while live delivery was down


async def test_events_lost_beyond_the_history_resync_the_client_at_the_newest_position() -> None:
    backend = MemoryBackend(history_size=2)
    live, sink = open_session(backend, COLLECTOR)
    await live.subscribe("agent:me", None)
    lost = [publication(1, "agent:5", n) for n in range(5)]
    await backend.lose_live({"t1:agent:5": lost})
    newest = backend._history["t1:agent:5"][-1][0]
    assert sink.frames[1:] == [
        {
            "op": "subscribed",
            "channel": "agent:5",
            "pos": f"{newest[0]}-{newest[1]}",
            "recovered": False,
        }
    ]
    assert live.subscriptions["t1:agent:5"].last == newest
    await backend.publish([publication(1, "agent:5", 5)])
    assert event_numbers(sink) == [5]


# The policy asked again


async def test_a_new_policy_leaves_what_it_refuses_with_a_frame_saying_why() -> None:
    backend = MemoryBackend()
    supervisor = Actor(tenant_id=1, type="user", id=5, role="supervisor")
    live, sink = open_session(backend, supervisor)
    for name in ("wallboard", "agent:me", "account:7", "account:8"):
        await live.subscribe(name, None)

    async def only_account_7(kind: str, ident: int) -> bool:
        return (kind, ident) == ("account", 7)

    await live.reauthorize(ChannelAccess(COLLECTOR, only_account_7))
    assert sink.frames[4:] == [
        {
            "op": "error",
            "code": "forbidden",
            "message": "a collector may not subscribe to wallboard channels",
            "channel": "wallboard",
        },
        {
            "op": "error",
            "code": "forbidden",
            "message": "you may not subscribe to account:8",
            "channel": "account:8",
        },
    ]
    assert sorted(live.subscriptions) == ["t1:account:7", "t1:agent:5"]
    assert sorted(backend._channels) == ["t1:account:7", "t1:agent:5"]
    await live.subscribe("account:8", None)  # the new policy stays
    assert sink.frames[-1]["code"] == "forbidden"


async def test_a_channel_that_now_means_another_is_left() -> None:
    backend = MemoryBackend()
    live, sink = open_session(backend)
    await live.subscribe("agent:me", None)
    await live.reauthorize(
        ChannelAccess(Actor(tenant_id=1, type="user", id=11, role="admin"), allow_all)
    )
    assert sink.frames[1:] == [
        {
            "op": "error",
            "code": "forbidden",
            "message": "you may no longer hear agent:10",
            "channel": "agent:10",
        }
    ]
    assert live.subscriptions == {}
    assert backend.channels() == 0


async def test_only_the_subscriptions_picked_are_asked_again() -> None:
    asked = []

    async def yes_then_no(kind: str, ident: int) -> bool:
        asked.append((kind, ident))
        return len(asked) <= 2  # yes to both subscriptions, no when asked again

    live, sink = open_session(MemoryBackend(), COLLECTOR, yes_then_no)
    await live.subscribe("account:7", None)
    await live.subscribe("account:8", None)
    await live.reauthorize(only=lambda s: s.full == "t1:account:8")
    assert asked == [("account", 7), ("account", 8), ("account", 8)]
    assert sink.frames[2:] == [
        {
            "op": "error",
            "code": "forbidden",
            "message": "you may not subscribe to account:8",
            "channel": "account:8",
        }
    ]
    assert list(live.subscriptions) == ["t1:account:7"]


async def test_a_subscription_left_while_the_policy_answers_gets_no_refusal() -> None:
    answer = asyncio.Event()
    asked = []

    async def slow_no(kind: str, ident: int) -> bool:
        asked.append(ident)
        if len(asked) == 1:
            return True
        await answer.wait()
        return False

    live, sink = open_session(MemoryBackend(), COLLECTOR, slow_no)
    await live.subscribe("account:7", None)
    pending = asyncio.create_task(live.reauthorize())
    try:
        await asyncio.sleep(0)
        await live.unsubscribe("account:7")
    finally:
        answer.set()
        await pending
    assert sink.frames[1:] == [{"op": "unsubscribed", "channel": "account:7"}]
