"""The web process's WebSocket protocol: uvicorn's, keeping less for each socket
(server/ws_protocol.py). Served by a real uvicorn on a real socket."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import os
import struct
import weakref
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from server.ws_protocol import Inbox, LeanWebSocketProtocol, Writable


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Accepts, says what the protocol still holds of the handshake, then echoes."""
    assert (await receive())["type"] == "websocket.connect"
    protocol = send.__self__
    request = protocol.seen
    if scope["path"] == "/slow":
        await asyncio.sleep(0.3)  # a ticket being checked, say
    await send({"type": "websocket.accept"})
    gc.collect()
    held = {
        "request": protocol.request is not None,
        "response": protocol.response is not None,
        "scope": protocol.scope is not None,
        "request_alive": request() is not None,
    }
    del scope
    await send({"type": "websocket.send", "text": json.dumps(held)})
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": event.get("text") or ""})


class Watched(LeanWebSocketProtocol):
    """Keeps a weak reference to the handshake's request, to see when it is let go."""

    def handle_connect(self, event: Any) -> None:
        self.seen = weakref.ref(event)
        super().handle_connect(event)


@pytest.fixture
async def port() -> AsyncIterator[int]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        ws=Watched,
        proxy_headers=False,
        ws_per_message_deflate=False,
        ws_max_size=1 << 20,
        log_config=None,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_an_open_socket_keeps_nothing_of_its_handshake(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/ws?ticket=x", compression=None) as ws:
        held = json.loads(await ws.recv())
    assert held == {"request": False, "response": False, "scope": False, "request_alive": False}


async def test_frames_after_the_handshake_still_parse(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/ws", compression=None, max_size=1 << 21) as ws:
        await ws.recv()
        for text in ["small", "x" * 300_000, "é" * 1000]:  # the large one arrives in pieces
            await ws.send(text)
            assert await ws.recv() == text
        pong = await ws.ping()
        await asyncio.wait_for(pong, 5)
    # A frame over ws_max_size is refused as uvicorn refuses it.
    async with connect(f"ws://127.0.0.1:{port}/ws", compression=None, max_size=1 << 21) as ws:
        await ws.recv()
        await ws.send("x" * ((1 << 20) + 1))
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
        assert ws.close_code == 1009


def _masked(text: str) -> bytes:
    payload = text.encode()
    mask = os.urandom(4)
    return (
        struct.pack("!BB", 0x81, 0x80 | len(payload))
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(2)
    size = head[1] & 0x7F
    if size == 126:
        size = struct.unpack("!H", await reader.readexactly(2))[0]
    return await reader.readexactly(size)


@pytest.mark.parametrize("part", [2, 6, 9])
async def test_a_frame_begun_before_the_answer_is_read_whole(port: int, part: int) -> None:
    """A client that does not wait for the handshake's answer (RFC 6455 says it must) and
    sends part of a frame: the parser in the middle of it carries on, rather than a fresh
    one taking the frame's middle for a header. 6 bytes are the header and the mask."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    frame = _masked("sent before the answer")
    writer.write(
        (
            f"GET /slow HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await asyncio.sleep(0.1)
    writer.write(frame[:part])
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
    held = json.loads(await _read_frame(reader))
    assert held["request_alive"] is True  # kept by the parser that goes on with the frame
    writer.write(frame[part:])
    assert await asyncio.wait_for(_read_frame(reader), 5) == b"sent before the answer"
    writer.write(_masked("and the next"))
    assert await asyncio.wait_for(_read_frame(reader), 5) == b"and the next"
    writer.close()


async def test_the_inbox_hands_out_in_order_and_wakes_its_reader() -> None:
    inbox = Inbox()
    assert inbox.empty()
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert inbox.qsize() == 2
    assert [await inbox.get(), await inbox.get()] == [1, 2]
    assert inbox.empty()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait(3)
    assert await asyncio.wait_for(reader, 1) == 3


async def test_a_cancelled_read_leaves_the_inbox_usable() -> None:
    inbox = Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    inbox.put_nowait("after")
    assert await asyncio.wait_for(inbox.get(), 1) == "after"


async def test_the_inbox_has_one_reader() -> None:
    inbox = Inbox()
    first = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await inbox.get()
    inbox.put_nowait("x")
    assert await first == "x"


async def test_writable_holds_senders_until_set() -> None:
    writable = Writable()
    assert writable.is_set()
    assert await asyncio.wait_for(writable.wait(), 1) is True
    writable.clear()
    assert not writable.is_set()
    waiters = [asyncio.create_task(writable.wait()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in waiters)
    writable.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]
    # A waiter cancelled while held does not stay behind.
    writable.clear()
    gone = asyncio.create_task(writable.wait())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert not writable._waiters
