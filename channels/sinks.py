"""Where a socket's frames go: straight onto the connection's transport when the server
allows it, through the ASGI ``send`` otherwise. Either way the socket has a bound; a socket
that falls behind it is closed with CLOSE_TOO_SLOW and resumes when it reconnects.

Under uvicorn's WebSockets protocol the ASGI ``send`` is a method of the connection's
protocol object, which owns the transport. Server frames are unmasked, so one encoded frame
can be written to every socket as it is: no per-socket encoding, no task switch, and
``transport.write`` never waits, so a slow reader cannot stall the others. Its pending
bytes are the send queue, bounded by ``limit_bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any, Protocol

import structlog

from channels.backend import Message
from channels.protocol import CLOSE_TOO_SLOW, ws_text_frame

log = structlog.get_logger("recoup.channels")

Send = Any  # the ASGI send callable

_CLOSE_TIMEOUT = 5.0
# How long a socket cut for falling behind has to read what was queued and the close frame.
SLOW_CLOSE_GRACE = 10.0


class Sink(Protocol):
    closed: bool

    def write(self, message: Message) -> None:
        """Queue an event frame; never waits."""

    def write_control(self, payload: bytes) -> None:
        """Queue a control frame (subscribed, error, pong) in order with the events."""

    async def close(self, code: int, reason: str = "") -> None: ...

    def detach(self) -> None:
        """The socket is gone: drop whatever is still queued."""


def direct_sink(send: Send, *, limit_bytes: int, on_cut: Any = None) -> DirectSink | None:
    """A sink writing to the transport under ``send``, or None when that is not possible.

    Only for uvicorn's sans-I/O WebSockets protocol with no extension negotiated (a
    compressed connection needs frames of its own).
    """
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:  # pragma: no cover - another server
        return None
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol):
        return None
    transport = getattr(protocol, "transport", None)
    conn = getattr(protocol, "conn", None)
    if transport is None or conn is None or getattr(conn, "extensions", None):
        return None
    return DirectSink(send, transport, limit_bytes, on_cut)


class DirectSink:
    __slots__ = ("closed", "limit", "on_cut", "send", "transport")

    def __init__(
        self, send: Send, transport: asyncio.WriteTransport, limit: int, on_cut: Any
    ) -> None:
        self.send = send
        self.transport = transport
        self.limit = limit
        self.on_cut = on_cut
        self.closed = False

    def write(self, message: Message) -> None:
        if self.closed:
            return
        transport = self.transport
        if transport.is_closing():
            self.closed = True
            return
        if transport.get_write_buffer_size() > self.limit:
            self._cut()
            return
        transport.write(message.ws_frame)

    def write_control(self, payload: bytes) -> None:
        # Answers to the client's own frames count against the same bound as events: a
        # client that sends and never reads is cut, not buffered without end.
        if self.closed:
            return
        if self.transport.is_closing():
            self.closed = True
            return
        if self.transport.get_write_buffer_size() > self.limit:
            self._cut()
            return
        self.transport.write(ws_text_frame(payload))

    def _cut(self) -> None:
        self.closed = True
        if self.on_cut is not None:
            self.on_cut()
        asyncio.get_running_loop().create_task(self._close_slow())

    async def _close_slow(self) -> None:
        """Write the close frame behind what is already queued, now, and drop the peer that
        has not taken it all ``SLOW_CLOSE_GRACE`` seconds later.

        Uvicorn's ``send`` waits until the queue has drained below its low-water mark, which
        a peer that does not read never lets happen: the close frame went nowhere, and the
        peer saw the connection end without one (1006). Written now, it is read by a peer
        that reads again within the grace: 4008, after the frames queued before it."""
        protocol = getattr(self.send, "__self__", None)
        writable = getattr(protocol, "writable", None)
        if writable is not None:
            writable.set()  # uvicorn clears it while the queue is over its high-water mark
        try:
            await asyncio.wait_for(
                self.send(
                    {
                        "type": "websocket.close",
                        "code": CLOSE_TOO_SLOW,
                        "reason": "fell behind; resume with since",
                    }
                ),
                _CLOSE_TIMEOUT,
            )
        except Exception:
            self.transport.abort()
            return
        for _ in range(int(SLOW_CLOSE_GRACE * 10)):
            if self.transport.get_write_buffer_size() == 0:
                return  # all of it handed to the kernel; uvicorn ends the connection
            await asyncio.sleep(0.1)
        if self.transport.get_write_buffer_size() > 0:
            # Still not read: a peer whose buffers are full cannot read the close frame.
            self.transport.abort()

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.send({"type": "websocket.close", "code": code, "reason": reason}),
                _CLOSE_TIMEOUT,
            )

    def detach(self) -> None:
        self.closed = True


class AsgiSink:
    """The portable sink: a bounded queue per socket, drained by one writer task."""

    def __init__(self, send: Send, *, limit_frames: int, on_cut: Any = None) -> None:
        self.send = send
        self.limit = limit_frames
        self.on_cut = on_cut
        self.closed = False
        self._queue: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._drain())

    def write(self, message: Message) -> None:
        self._put(message.asgi_event)

    def write_control(self, payload: bytes) -> None:
        self._put({"type": "websocket.send", "text": payload.decode()})

    def _put(self, event: dict[str, Any]) -> None:
        if self.closed:
            return
        if len(self._queue) >= self.limit:
            self.closed = True
            self._queue.clear()
            if self.on_cut is not None:
                self.on_cut()
            self._queue.append(
                {
                    "type": "websocket.close",
                    "code": CLOSE_TOO_SLOW,
                    "reason": "fell behind; resume with since",
                }
            )
        else:
            self._queue.append(event)
        self._wake.set()

    async def _drain(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    event = self._queue.popleft()
                    await self.send(event)
                    if event["type"] == "websocket.close":
                        return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.closed = True
            log.info("socket writer stopped", error=str(exc))

    async def close(self, code: int, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            self._queue.append({"type": "websocket.close", "code": code, "reason": reason})
            self._wake.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._task), _CLOSE_TIMEOUT)
        self._task.cancel()

    def detach(self) -> None:
        self.closed = True
        self._queue.clear()
        self._task.cancel()
