"""One socket's subscriptions: authorize, resume from a position, then deliver live.

Resuming without a gap or a duplicate at the seam: the subscription is registered with the
backend first, so live events start arriving at once; they wait in a buffer while the
history since the client's position is read and sent; then the buffer is delivered,
skipping whatever the history already covered (positions are ordered per channel).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from channels import names
from channels.backend import Backend, BackendUnavailable, Message, Position
from channels.protocol import (
    PONG,
    Error,
    FrameError,
    Ping,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    decode_client_frame,
    encode,
    parse_pos,
)
from channels.sinks import Sink

log = structlog.get_logger("recoup.channels")

# The subscriber's access policy (the domain's): a tenant-relative name to the channel as
# this subscriber may hear it; raises ChannelNameError or ChannelRefused.
Authorize = Callable[[str], Awaitable[names.Access]]


class Subscription:
    """A socket's interest in one channel; the backend calls ``deliver`` for each event."""

    __slots__ = ("buffer", "full", "last", "name", "requested", "session")

    def __init__(self, session: Session, full: str, name: str, requested: str) -> None:
        self.session = session
        self.full = full
        self.name = name
        self.requested = requested  # as the client named it (``agent:me``)
        self.last: Position = (0, 0)
        self.buffer: list[Message] | None = []  # live events that arrive while resuming

    def deliver(self, message: Message) -> None:
        if self.buffer is not None:
            self.buffer.append(message)
        elif message.pos > self.last:
            self.last = message.pos
            self.session.sink.write(message)

    def resync(self, channel: str, pos: str) -> None:
        """History lost events this socket had not seen: tell the client to reload."""
        self.last = parse_pos(pos)
        self.session.sink.write_control(
            encode(Subscribed(channel=self.name, pos=pos, recovered=False))
        )


class Session:
    def __init__(
        self,
        backend: Backend,
        sink: Sink,
        *,
        authorize: Authorize,
        max_subscriptions: int = 1000,
    ) -> None:
        self.backend = backend
        self.sink = sink
        self.authorize = authorize
        self.max_subscriptions = max_subscriptions
        self.subscriptions: dict[str, Subscription] = {}
        self.closed = False

    def _error(self, code: str, message: str, channel: str | None = None) -> None:
        if channel is not None:
            channel = names.shown(channel)  # a 60 KB "name" is not sent back whole
        self.sink.write_control(encode(Error(code=code, message=message, channel=channel)))

    async def receive(self, data: str | bytes) -> None:
        """Act on one client frame; a bad one gets an error frame and changes nothing."""
        try:
            frame = decode_client_frame(data)
        except FrameError as exc:
            self._error(exc.code, exc.message)
            return
        if isinstance(frame, Ping):
            self.sink.write_control(PONG)
        elif isinstance(frame, Subscribe):
            await self.subscribe(frame.channel, frame.since)
        elif isinstance(frame, Unsubscribe):
            await self.unsubscribe(frame.channel)

    async def subscribe(self, name: str, since: str | None) -> None:
        try:
            if since is not None:
                parse_pos(since)
            access = await self.authorize(name)
        except names.ChannelNameError as exc:
            self._error("bad_channel", str(exc), name)
            return
        except names.ChannelRefused as exc:
            self._error("forbidden", str(exc), name)
            return
        except FrameError as exc:
            self._error(exc.code, exc.message, name)
            return
        if access.full in self.subscriptions:
            await self._drop(self.subscriptions[access.full])
        elif len(self.subscriptions) >= self.max_subscriptions:
            self._error(
                "too_many_subscriptions",
                f"a socket may hold at most {self.max_subscriptions} subscriptions",
                name,
            )
            return
        if self.closed:
            return
        subscription = Subscription(self, access.full, access.name, name)
        self.subscriptions[access.full] = subscription
        try:
            await self.backend.subscribe(access.full, subscription)
            history = await self.backend.history(access.full, since)
        except BackendUnavailable:
            await self._drop(subscription)
            self._error("unavailable", "real-time delivery is reconnecting; subscribe again", name)
            return
        if self.subscriptions.get(access.full) is not subscription:
            return  # unsubscribed (or closed) while the history was read
        self.sink.write_control(
            encode(Subscribed(channel=access.name, pos=history.pos, recovered=history.recovered))
        )
        for message in history.messages:
            self.sink.write(message)
        buffered, subscription.buffer = subscription.buffer or [], None
        subscription.last = parse_pos(history.pos)
        for message in buffered:
            subscription.deliver(message)

    async def unsubscribe(self, name: str) -> None:
        """Leave a channel, named as it was subscribed or as the server names it to the
        client (``agent:me`` or ``agent:7``); leaving one not subscribed is not an error."""
        try:
            names.parse(name)
        except names.ChannelNameError as exc:
            self._error("bad_channel", str(exc), name)
            return
        found = next(
            (s for s in self.subscriptions.values() if name in (s.requested, s.name)), None
        )
        if found is not None:
            await self._drop(found)
        self.sink.write_control(encode(Unsubscribed(channel=found.name if found else name)))

    async def reauthorize(
        self,
        authorize: Authorize | None = None,
        *,
        only: Callable[[Subscription], bool] | None = None,
    ) -> None:
        """Ask the policy again (a new one, when the subscriber's standing changed) about
        the subscriptions ``only`` picks (all by default): each one it now refuses is left,
        with an error frame saying so."""
        if authorize is not None:
            self.authorize = authorize
        for subscription in list(self.subscriptions.values()):
            if only is not None and not only(subscription):
                continue
            try:
                access = await self.authorize(subscription.requested)
            except (names.ChannelNameError, names.ChannelRefused) as exc:
                refused = str(exc)
            else:
                if access.full == subscription.full:
                    continue
                refused = f"you may no longer hear {subscription.name}"
            if self.subscriptions.get(subscription.full) is subscription:
                await self._drop(subscription)
                self._error("forbidden", refused, subscription.name)

    async def _drop(self, subscription: Subscription) -> None:
        if self.subscriptions.get(subscription.full) is subscription:
            del self.subscriptions[subscription.full]
        try:
            await self.backend.unsubscribe(subscription.full, subscription)
        except Exception:
            log.exception("unsubscribe failed", channel=subscription.full)

    async def close(self) -> None:
        """The socket is gone: leave every channel."""
        self.closed = True
        for subscription in list(self.subscriptions.values()):
            await self._drop(subscription)
