"""A minimal WebSocket client for load generation: raw frames on an asyncio Protocol.

The `websockets` library saturates its core near 20,000 frames/s, which would measure the
client instead of the server; this one does the least a client must: the upgrade
handshake, masked client frames, and parsing unmasked server frames.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
from collections.abc import Callable


def client_frame(text: str, opcode: int = 0x1) -> bytes:
    """One masked client frame (clients must mask, RFC 6455 5.3)."""
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


class WsClient(asyncio.Protocol):
    def __init__(self, host: str, port: int, path: str, on_text: Callable[[bytes], None]) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}"
            "\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.on_text = on_text
        self.buffer = bytearray()
        self.open = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.close_code: int | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)

    def send_text(self, text: str) -> None:
        assert self.transport is not None
        self.transport.write(client_frame(text))

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.open.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.open.set_exception(
                    ConnectionError(bytes(buffer[:end]).decode(errors="replace"))
                )
                return
            del buffer[: end + 4]
            self.open.set_result(None)
        offset = 0
        size = len(buffer)
        while size - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            length = second & 0x7F
            start = offset + 2
            if length == 126:
                if size - offset < 4:
                    break
                length = int.from_bytes(buffer[offset + 2 : offset + 4], "big")
                start = offset + 4
            elif length == 127:
                if size - offset < 10:
                    break
                length = int.from_bytes(buffer[offset + 2 : offset + 10], "big")
                start = offset + 10
            end = start + length
            if end > size:
                break
            opcode = first & 0x0F
            if opcode == 0x1:
                self.on_text(bytes(buffer[start:end]))
            elif opcode == 0x9:  # ping: answer with a pong carrying the same data
                assert self.transport is not None
                payload = bytes(buffer[start:end])
                mask = os.urandom(4)
                self.transport.write(
                    struct.pack("!BB", 0x8A, 0x80 | len(payload))
                    + mask
                    + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                )
            elif opcode == 0x8:
                if length >= 2:
                    self.close_code = int.from_bytes(buffer[start : start + 2], "big")
                if self.transport is not None:
                    self.transport.close()
            offset = end
        if offset:
            del buffer[:offset]


async def open_client(
    host: str, port: int, path: str, on_text: Callable[[bytes], None]
) -> WsClient:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(
        lambda: WsClient(host, port, path, on_text), host, port
    )
    await client.open
    return client
