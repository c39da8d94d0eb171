"""Uvicorn's sans-I/O WebSocket protocol, holding less for each open socket.

An idle socket is mostly what the server keeps for it. Uvicorn's protocol keeps, for the
life of the connection, what it needed only for the handshake (the request and response
with their header maps, the scope with its header list), and an ``asyncio.Queue`` and an
``asyncio.Event`` whose four deques take about 3 KB before anything waits in them. Here the
handshake's objects are let go once the socket is accepted (the request also from the
frame parser of ``websockets``, which would hold it to the end), and the queue and the event are
replaced by a list with its one reader and a flag: about 6 KB less a socket (see
``bench/README.md``). Everything else, framing, pings, close, is uvicorn's own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from server.problems import PROBLEM_JSON, problem_bytes

_AT_EOF = StreamReader.at_eof.__code__
_BODY = frozenset({"content-type", "content-length"})


class Inbox:
    """The frames and disconnect events waiting for the app's ``receive``: one reader."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is not None:
                raise RuntimeError("a socket's inbox has one reader")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class Writable:
    """Whether the transport takes more (uvicorn's ``writable`` event), without a deque
    of waiters allocated for every socket: the waiters' list exists while one waits."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Writable()  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        accept = self.conn.accept

        def accept_or_problem(request: Any) -> Response:
            # A handshake websockets refuses (no Sec-WebSocket-Key, another version) is
            # answered as the API answers: a problem document, its headers kept.
            response = accept(request)
            if response.status_code == 101:
                return response
            detail = response.body.decode("utf-8", "replace").strip() or response.reason_phrase
            body = problem_bytes(response.status_code, detail, request.path.split("?", 1)[0])
            headers = Headers(
                [(k, v) for k, v in response.headers.raw_items() if k.lower() not in _BODY]
            )
            headers["Content-Type"] = PROBLEM_JSON
            headers["Content-Length"] = str(len(body))
            return Response(response.status_code, response.reason_phrase, headers, body)

        self.conn.accept = accept_or_problem  # type: ignore[method-assign]
        super().handle_connect(event)
        del self.conn.accept  # the class's own again: nothing kept for the socket's life
        self.request = None  # type: ignore[assignment]  # uvicorn reads it no more

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.handshake_exc is not None and not self.handshake_complete:
            # A handshake websockets could not read (a request line over 8 KiB, too many or
            # too long headers): it has written its answer (414, 431, 400), which uvicorn
            # would leave unsent, holding the connection open for good.
            for chunk in self.conn.data_to_send():
                if chunk:
                    self.transport.write(chunk)
            self.transport.close()

    def send_receive_event_to_app(self) -> None:
        # A text message that is not UTF-8 is the client's fault: close 1007 (invalid
        # payload, RFC 6455 7.4.1) as uvicorn does, without its error line and traceback.
        if self.curr_msg_data_type == "text" and not self.close_sent:
            data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
            try:
                data.decode()
            except UnicodeDecodeError:
                self.frames = []
                self.conn.send_close(1007, "text frames are UTF-8")
                self.handle_parser_exception()
                return
            self.frames = [data]
        super().send_receive_event_to_app()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # The response was for the handshake, the scope for the app's start and the
            # accept's log line: uvicorn reads neither again.
            self.response = None  # type: ignore[assignment]
            self.scope = None  # type: ignore[assignment]
            _forget_request(self.conn)


def _forget_request(conn: ServerProtocol) -> None:
    """Restart the connection's frame parser, now that the handshake is over.

    The handshake's parser (``ServerProtocol.parse``) reads the request, then goes on to
    parse frames for the life of the connection with the request, all its headers, still
    held in its frame. Once the socket is open and the parser waits for a frame's first
    byte, a fresh frame parser (``Protocol.parse``, what the handshake's parser continues
    with) takes over in that same state. A client that sent part of a frame before the
    handshake's answer keeps its parser (and its request)."""
    if conn.state is State.OPEN and conn.parser_exc is None and _between_frames(conn):
        conn.parser = Protocol.parse(conn)
        next(conn.parser)


def _between_frames(conn: ServerProtocol) -> bool:
    """Whether the parser is suspended waiting for the first byte of a frame."""
    waiting = conn.parser
    while getattr(waiting, "gi_yieldfrom", None) is not None:
        waiting = waiting.gi_yieldfrom
    return getattr(waiting, "gi_code", None) is _AT_EOF and not conn.reader.buffer
