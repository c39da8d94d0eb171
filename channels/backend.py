"""The backend contract: publish to a channel, subscribe to it (reference counted per process),
and read its history since a position. Redis in production, memory in unit tests; the same
contract tests run on both.

Positions are per channel and ordered. Each history entry remembers the position before it,
so a resume can tell "nothing was missed" from "history no longer reaches back that far".
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from channels import names
from channels.metrics import CHANNELS, DELIVERIES
from channels.protocol import NO_POSITION, event_head, parse_pos, ws_text_frame

log = structlog.get_logger("recoup.channels")

Position = tuple[int, int]


def format_pos(pos: Position) -> str:
    return f"{pos[0]}-{pos[1]}"


class Message:
    """One event as it reaches this process: encoded once, written unchanged to every socket."""

    __slots__ = ("_asgi", "_ws", "channel", "payload", "pos")

    def __init__(self, channel: str, pos: Position, payload: bytes) -> None:
        self.channel = channel
        self.pos = pos
        self.payload = payload
        self._ws: bytes | None = None
        self._asgi: dict[str, str] | None = None

    @property
    def ws_frame(self) -> bytes:
        """The whole WebSocket frame, for sockets written directly."""
        if self._ws is None:
            self._ws = ws_text_frame(self.payload)
        return self._ws

    @property
    def asgi_event(self) -> dict[str, str]:
        """The ASGI send event, for sockets written through the server."""
        if self._asgi is None:
            self._asgi = {"type": "websocket.send", "text": self.payload.decode()}
        return self._asgi


class Listener(Protocol):
    """Something local that wants a channel's events (a socket's subscription)."""

    def deliver(self, message: Message) -> None:
        """Called in order for every event; must not block."""

    def resync(self, channel: str, pos: str) -> None:
        """Events of ``channel`` were lost (history gone); the state restarts at ``pos``."""


@dataclass(frozen=True, slots=True)
class Publication:
    """An event for one channel: its tenant-scoped name and the frame after the position."""

    channel: str
    tail: bytes


@dataclass(slots=True)
class History:
    recovered: bool
    pos: str
    messages: list[Message] = field(default_factory=list)


class BackendUnavailable(ConnectionError):
    """The backend cannot be reached right now; try again."""


class HistoryLost(BackendUnavailable):
    """The backend lost its history (Redis came back empty): nothing may be published until
    it is refilled from the outbox."""


def frame_head(channel: str) -> bytes:
    """The event frame head of a tenant-scoped channel, naming it as its subscribers see it."""
    return event_head(names.client_name(names.unscoped(channel)[1]))


def resolve_history(
    since: str | None,
    first_prev: str | None,
    last_pos: str | None,
    messages: list[Message],
) -> History:
    """Decide what a resume from ``since`` gets.

    ``messages`` are the entries after ``since``; ``first_prev`` the position recorded
    before the first of them; ``last_pos`` the newest position in history (None: empty).
    """
    current = format_pos(messages[-1].pos) if messages else (last_pos or NO_POSITION)
    if since is None:
        return History(recovered=True, pos=current)
    if messages:
        if (first_prev or NO_POSITION) == since:
            return History(recovered=True, pos=current, messages=messages)
        return History(recovered=False, pos=current)
    if last_pos is None:
        # Nothing in history: fine if the client had seen nothing either.
        return History(recovered=since == NO_POSITION, pos=NO_POSITION)
    return History(recovered=parse_pos(last_pos) == parse_pos(since), pos=last_pos)


class _Channel:
    __slots__ = ("buffer", "last", "listeners")

    def __init__(self) -> None:
        self.listeners: set[Listener] = set()
        self.last: Position | None = None  # the newest position delivered here
        self.buffer: list[tuple[Position, bytes]] | None = None  # while catching up


class Backend(abc.ABC):
    """Local fan-out shared by the implementations: per-channel listener sets, delivery in
    position order, and catching a channel up from history after live events were lost."""

    def __init__(self) -> None:
        self._channels: dict[str, _Channel] = {}

    def channels(self) -> int:
        return len(self._channels)

    def _dispatch(self, channel: str, pos: Position, payload: bytes) -> None:
        state = self._channels.get(channel)
        if state is None:
            return
        if state.buffer is not None:
            state.buffer.append((pos, payload))
            return
        if state.last is not None and pos <= state.last:
            return  # already delivered (from history while catching up)
        state.last = pos
        message = Message(channel, pos, payload)
        listeners = tuple(state.listeners)
        for listener in listeners:
            try:
                listener.deliver(message)
            except Exception:
                log.exception("listener failed", channel=channel)
        DELIVERIES.inc(len(listeners))

    def _add_listener(self, channel: str, listener: Listener) -> bool:
        """Register ``listener``; True when the channel is new to this process."""
        state = self._channels.get(channel)
        if state is None:
            state = self._channels[channel] = _Channel()
            state.listeners.add(listener)
            CHANNELS.inc()
            return True
        state.listeners.add(listener)
        return False

    def _remove_listener(self, channel: str, listener: Listener) -> bool:
        """Forget ``listener``; True when it was the channel's last one here."""
        state = self._channels.get(channel)
        if state is None:
            return False
        state.listeners.discard(listener)
        if state.listeners:
            return False
        del self._channels[channel]
        CHANNELS.dec()
        return True

    def _set_baseline(self, channel: str, pos: str) -> None:
        state = self._channels.get(channel)
        if state is not None and state.last is None:
            state.last = parse_pos(pos)

    async def _catch_up(self, channels: Sequence[str] | None = None) -> None:
        """After live delivery was interrupted (for ``channels``, or every channel): replay
        each channel from its last delivered position, or tell its listeners that history
        no longer reaches back."""
        chosen = list(self._channels) if channels is None else channels
        for channel in chosen:
            state = self._channels.get(channel)
            if state is not None and state.buffer is None:
                state.buffer = []
        for channel in chosen:
            state = self._channels.get(channel)
            if state is None:
                continue
            since = format_pos(state.last) if state.last is not None else None
            history = await self.history(channel, since)
            buffered, state.buffer = state.buffer or [], None
            if history.recovered:
                for message in history.messages:
                    self._dispatch(channel, message.pos, message.payload)
            else:
                state.last = parse_pos(history.pos)
                for listener in tuple(state.listeners):
                    listener.resync(channel, history.pos)
            for pos, payload in buffered:
                self._dispatch(channel, pos, payload)

    async def history_complete(self) -> bool:
        """False when the history was lost and waits to be refilled."""
        return True

    def refiller(self) -> Any:
        """What refills a lost history (None: this backend never loses it)."""
        return None

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, publications: Sequence[Publication]) -> list[str]:
        """Append each publication to its channel's history and send it live, in order;
        return their positions."""

    @abc.abstractmethod
    async def subscribe(self, channel: str, listener: Listener) -> None:
        """Start delivering ``channel`` to ``listener`` (the first listener subscribes the
        process; later ones share it)."""

    @abc.abstractmethod
    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        """Stop delivering to ``listener``; the last one out unsubscribes the process."""

    @abc.abstractmethod
    async def listened(self, name: str) -> list[int]:
        """The tenants whose channel ``name`` (tenant-relative, such as ``wallboard``) some
        process is subscribed to right now."""

    @abc.abstractmethod
    async def history(self, channel: str, since: str | None) -> History:
        """Events after ``since`` in order (see ``resolve_history``); raises
        BackendUnavailable when the backend cannot be reached."""


__all__ = [
    "NO_POSITION",
    "Backend",
    "BackendUnavailable",
    "History",
    "HistoryLost",
    "Listener",
    "Message",
    "Position",
    "Publication",
    "format_pos",
    "frame_head",
    "parse_pos",
    "resolve_history",
]
