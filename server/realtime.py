"""``/ws``: one socket, many channel subscriptions, authenticated by a one-time ticket
(browsers) or an API key (integrators); and ``POST /api/v1/realtime/ticket`` that issues
the tickets.

The socket endpoint sits in front of Litestar (see ``RecoupASGI``) so that it receives
uvicorn's own ``send``, whose protocol object lets frames be written straight to the
transport (``channels.sinks``).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import msgspec
import structlog
from litestar import Controller, Litestar, Request, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK
from litestar.types import Receive, Scope, Send

from channels.metrics import CUT_SLOW, SOCKETS
from channels.protocol import (
    CLOSE_SIGNED_OUT,
    CLOSE_TOO_MANY,
    CLOSE_TRY_LATER,
    CLOSE_UNAUTHORIZED,
    Error,
    encode,
)
from channels.session import Session
from channels.sinks import AsgiSink, direct_sink
from domain.actor import Actor
from domain.auth import sessions
from domain.auth.tokens import API_KEY_PREFIX, digest
from domain.channel_access import ChannelAccess
from domain.errors import RecoupError
from server.access_watch import SIGNED_OUT, LiveSocket
from server.auth.guards import EVERYONE, allow

if TYPE_CHECKING:
    from server.resources import Resources

log = structlog.get_logger("recoup.realtime")

TICKET_TTL = 30
INTERNAL_ERROR = encode(Error(code="internal", message="that did not work; try again"))
UNAVAILABLE = encode(
    Error(
        code="unavailable",
        message="the server cannot reach its database or Redis; try again shortly",
    )
)
WS_PATH = "/ws"
_TICKET_KEY = "recoup:ws-ticket:{}"


class Ticket(msgspec.Struct, kw_only=True):
    """Present as ``/ws?ticket=...`` within ``expires_in`` seconds; it works once."""

    ticket: str
    expires_in: int
    url: str


async def issue_ticket(resources: Resources, actor: Actor) -> Ticket:
    token = secrets.token_urlsafe(32)
    await resources.redis.set(
        _TICKET_KEY.format(digest(token)), msgspec.msgpack.encode(actor), ex=TICKET_TTL
    )
    return Ticket(ticket=token, expires_in=TICKET_TTL, url=f"{WS_PATH}?ticket={token}")


async def redeem_ticket(resources: Resources, token: str) -> Actor | None:
    raw = await resources.redis.getdel(_TICKET_KEY.format(digest(token)))
    return msgspec.msgpack.decode(raw, type=Actor) if raw else None


class RealtimeController(Controller):
    path = "/realtime"
    tags = ["real-time"]

    @post(
        "/ticket",
        opt=allow(*EVERYONE, scope="accounts:read"),
        status_code=HTTP_200_OK,
        summary="A one-time ticket for opening /ws (valid 30 seconds)",
    )
    async def ticket(
        self, request: Request[Any, Any, Any], actor: NamedDependency[Actor]
    ) -> Ticket:
        resources = request.app.state.resources
        # Nothing else here opens a transaction: check the session before handing out a
        # ticket that outlives it.
        await resources.db.check_session(actor.tenant_id)
        return await issue_ticket(resources, actor)


class _Gone(Exception):
    """The ticket's identity ended after the ticket was issued."""


async def _authenticate(resources: Resources, scope: Scope) -> tuple[Actor | None, bool]:
    """Who opens the socket (None: nobody we know), and whether that was confirmed against
    the database just now."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    ticket = (query.get("ticket") or [None])[0]
    if ticket:
        actor = await redeem_ticket(resources, ticket)
        if actor is None:
            return None, True
        # Issued on a session valid then, seconds ago; one ended since (signed out,
        # deactivated, key or link revoked) must not open a socket: ask again. With the
        # database away the ticket stands (nothing can be revoked, or committed to hear,
        # while it is) and the access watch asks as soon as it is back.
        try:
            current = await sessions.recheck(resources.db, actor)
        except Exception as exc:
            if resources.outages.noted(exc) != "database":
                raise
            return actor, False
        if current is None:
            raise _Gone
        return current, True
    headers = dict(scope.get("headers", []))
    scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and key.startswith(API_KEY_PREFIX):
        try:
            return await resources.auth.authenticate_api_key(key.strip()), True
        except RecoupError:
            return None, True
    return None, True


def _identity(actor: Actor) -> tuple[int, str, int | None, int | None]:
    return actor.tenant_id, actor.type, actor.id, actor.account_id


class RealtimeEndpoint:
    def __init__(self, app: Litestar) -> None:
        self.app = app
        # Open sockets per identity on this process (WS_SOCKETS_PER_IDENTITY bounds them).
        self.held: Counter[tuple[int, str, int | None, int | None]] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        resources: Resources = self.app.state.resources
        settings = resources.settings
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            actor, confirmed = await _authenticate(resources, scope)
        except _Gone:
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_SIGNED_OUT, "reason": SIGNED_OUT})
            return
        except Exception as exc:
            # Redis (tickets) or the database (API keys) out of reach: logged once an outage.
            if resources.outages.noted(exc) is None:
                raise
            await send({"type": "websocket.accept"})
            await send(
                {
                    "type": "websocket.close",
                    "code": CLOSE_TRY_LATER,
                    "reason": "real-time is reconnecting; try again shortly",
                }
            )
            return
        # The scope (its headers, a copy of the app's state) is not needed again; uvicorn's
        # protocol lets its own reference go at the accept (server/ws_protocol.py).
        del scope
        await send({"type": "websocket.accept"})
        if actor is None:
            await send(
                {
                    "type": "websocket.close",
                    "code": CLOSE_UNAUTHORIZED,
                    "reason": "get a ticket from POST /api/v1/realtime/ticket",
                }
            )
            return

        identity = _identity(actor)
        if self.held[identity] >= settings.ws_sockets_per_identity:
            log.info(
                "socket refused: too many",
                tenant_id=actor.tenant_id,
                actor=f"{actor.type}:{actor.id}",
                held=self.held[identity],
            )
            await send(
                {
                    "type": "websocket.close",
                    "code": CLOSE_TOO_MANY,
                    "reason": "too many sockets open for this identity; close one first",
                }
            )
            return
        self.held[identity] += 1

        def cut() -> None:
            CUT_SLOW.inc()
            log.warning(
                "socket cut: fell behind",
                tenant_id=actor.tenant_id,
                actor=f"{actor.type}:{actor.id}",
                channels=len(session.subscriptions),
            )

        sink = direct_sink(send, limit_bytes=settings.ws_send_limit_bytes, on_cut=cut)
        if sink is None:
            sink = AsgiSink(send, limit_frames=settings.ws_send_limit_frames, on_cut=cut)
        session = Session(
            resources.channels,
            sink,
            authorize=ChannelAccess.for_subscriber(resources.db, actor),
            max_subscriptions=settings.ws_max_subscriptions,
        )
        live = LiveSocket(actor=actor, session=session, sink=sink)
        SOCKETS.inc()
        try:
            await resources.access_watch.join(live)
            if not confirmed:
                live.next_check = 0.0  # asked at the watch's next sweep (and until it answers)
            await resources.presence.connected(actor)
            while True:
                event = await receive()
                if event["type"] == "websocket.receive":
                    data = event.get("text")
                    try:
                        await session.receive(
                            data if data is not None else event.get("bytes") or b""
                        )
                    except Exception as exc:
                        # One frame failing (a database error, say) must not take the socket.
                        if resources.outages.noted(exc) is None:
                            log.exception("frame failed", tenant_id=actor.tenant_id)
                            sink.write_control(INTERNAL_ERROR)
                        else:
                            sink.write_control(UNAVAILABLE)
                elif event["type"] == "websocket.disconnect":
                    break
        finally:
            SOCKETS.dec()
            if self.held[identity] > 1:
                self.held[identity] -= 1
            else:
                del self.held[identity]
            await resources.access_watch.leave(live)
            await session.close()
            await resources.presence.disconnected(actor)
            sink.detach()


class RecoupASGI:
    """The app uvicorn runs: ``/ws`` sockets to the real-time endpoint, the rest to Litestar."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.realtime = RealtimeEndpoint(app)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Hands over the chosen app's coroutine rather than awaiting it: one frame fewer for
        # every resumption of every request.
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            return self.realtime(scope, receive, send)
        if scope["type"] == "http" and scope["method"] == "HEAD":
            return _head(self.app, scope, receive, send)
        return self.app(scope, receive, send)


async def _head(app: Litestar, scope: Scope, receive: Receive, send: Send) -> None:
    """HEAD is GET without the body (RFC 9110, 9.3.2): the same status and headers, the
    length of the body that GET would send included."""

    async def headers_only(message: Any) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    await app({**scope, "method": "GET"}, receive, headers_only)  # type: ignore[arg-type]
