"""A socket's subscriptions against the in-memory backend: authorization, resume and the seam."""

from __future__ import annotations

import uuid

import msgspec

from channels import names
from channels.backend import History, Message, Publication
from channels.memory import MemoryBackend
from channels.protocol import encode_json, event_tail
from channels.session import Session
from domain.actor import Actor
from domain.channel_access import ChannelAccess


class RecordingSink:
    def __init__(self) -> None:
        self.frames: list[dict] = []
        self.closed = False

    def write(self, message: Message) -> None:
        self.frames.append(msgspec.json.decode(message.payload))

    def write_control(self, payload: bytes) -> None:
        self.frames.append(msgspec.json.decode(payload))

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = True


def publication(tenant: int, name: str, n: int) -> Publication:
    return Publication(
        names.scoped(tenant, name), event_tail(str(uuid.uuid4()), "test", encode_json({"n": n}))
    )


async def allow_all(kind: str, ident: int) -> bool:
    return True


ADMIN = Actor(tenant_id=1, type="user", id=10, role="admin")


def session(
    backend: MemoryBackend, actor: Actor = ADMIN, check=allow_all
) -> tuple[Session, RecordingSink]:  # type: ignore[no-untyped-def]
    sink = RecordingSink()
    access = ChannelAccess(actor, check)
    return Session(backend, sink, authorize=access, max_subscriptions=3), sink


async def test_resume_has_no_gap_and_no_duplicate_at_the_seam() -> None:
    backend = MemoryBackend()
    positions = await backend.publish([publication(1, "wallboard", n) for n in range(10)])
    read_history = backend.history

    async def history_while_publishing(channel: str, since: str | None) -> History:
        # Events keep coming while the history is read: some are in it, some arrive live.
        await backend.publish([publication(1, "wallboard", n) for n in range(10, 13)])
        result = await read_history(channel, since)
        await backend.publish([publication(1, "wallboard", n) for n in range(13, 16)])
        return result

    backend.history = history_while_publishing  # type: ignore[method-assign]
    live, sink = session(backend)
    await live.subscribe("wallboard", positions[2])
    assert sink.frames[0]["op"] == "subscribed"
    assert sink.frames[0]["recovered"] is True
    numbers = [f["data"]["n"] for f in sink.frames[1:]]
    assert numbers == list(range(3, 16))
    await backend.publish([publication(1, "wallboard", 16)])
    assert sink.frames[-1]["data"]["n"] == 16


async def test_history_gone_means_not_recovered_and_no_replay() -> None:
    backend = MemoryBackend(history_size=5)
    positions = await backend.publish([publication(1, "wallboard", n) for n in range(20)])
    live, sink = session(backend)
    await live.subscribe("wallboard", positions[0])
    assert sink.frames == [
        {"op": "subscribed", "channel": "wallboard", "pos": positions[-1], "recovered": False}
    ]


async def test_lost_live_events_are_caught_up_or_resynced() -> None:
    backend = MemoryBackend()
    live, sink = session(backend)
    await live.subscribe("wallboard", None)
    full = names.scoped(1, "wallboard")
    await backend.lose_live({full: [publication(1, "wallboard", n) for n in range(3)]})
    assert [f["data"]["n"] for f in sink.frames if f["op"] == "event"] == [0, 1, 2]


async def test_authorization_and_limits() -> None:
    backend = MemoryBackend()
    collector = Actor(tenant_id=1, type="user", id=5, role="collector")

    async def only_account_7(kind: str, ident: int) -> bool:
        return kind == "account" and ident == 7

    live, sink = session(backend, collector, only_account_7)
    await live.subscribe("account:7", None)
    await live.subscribe("account:8", None)
    await live.subscribe("wallboard", None)
    await live.subscribe("agent:6", None)
    await live.subscribe("agent:me", None)
    answers = [(f["op"], f.get("code"), f["channel"]) for f in sink.frames]
    assert answers == [
        ("subscribed", None, "account:7"),
        ("error", "forbidden", "account:8"),
        ("error", "forbidden", "wallboard"),
        ("error", "forbidden", "agent:6"),
        ("subscribed", None, "agent:5"),
    ]
    await live.subscribe("account:7", None)  # again: replaces, does not count twice
    assert len(live.subscriptions) == 2
    admin, admin_sink = session(backend)
    for name in ("wallboard", "account:1", "account:2", "account:3"):
        await admin.subscribe(name, None)
    assert admin_sink.frames[-1]["code"] == "too_many_subscriptions"


async def test_closing_leaves_every_channel() -> None:
    backend = MemoryBackend()
    live, _ = session(backend)
    await live.subscribe("wallboard", None)
    await live.subscribe("account:1", None)
    assert backend.channels() == 2
    await live.close()
    assert backend.channels() == 0


async def test_unsubscribe_by_the_name_subscribed_or_the_name_shown() -> None:
    backend = MemoryBackend()
    collector = Actor(tenant_id=1, type="user", id=5, role="collector")
    live, sink = session(backend, collector)
    await live.subscribe("agent:me", None)
    await live.subscribe("account:3", None)
    await live.unsubscribe("agent:me")
    await live.unsubscribe("account:3")
    await live.unsubscribe("account:4")  # never subscribed: nothing to leave, no error
    await live.unsubscribe("account:x")
    answers = [(f["op"], f.get("code"), f["channel"]) for f in sink.frames]
    assert answers[2:] == [
        ("unsubscribed", None, "agent:5"),
        ("unsubscribed", None, "account:3"),
        ("unsubscribed", None, "account:4"),
        ("error", "bad_channel", "account:x"),
    ]
    assert backend.channels() == 0
