"""Requests the HTTP or WebSocket parser cannot read never reach the application, yet are
answered as everything else is: an RFC 9457 problem, not a line of text/plain."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import pytest


async def exchange(live_server: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as written; the status, headers and body that come back."""
    url = urlsplit(live_server)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), 10)
        while not answer.endswith(b"}") and (
            more := await asyncio.wait_for(reader.read(65536), 10)
        ):
            answer += more
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "header",
    [b"Idempotency-Key: abc\x01def", b"X-Note: bell\x07", b"Bad Header Name: x"],
)
async def test_a_header_http_does_not_allow_is_a_problem(live_server: str, header: bytes) -> None:
    status, headers, body = await exchange(
        live_server,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n"
        b"Content-Length: 2\r\n\r\n{}",
    )
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"] == "urn:recoup:problem:bad-request"
    assert problem["status"] == 400
    assert "is not valid HTTP/1.1" in problem["detail"]
    assert problem["instance"] == "/api/v1/auth/login"


async def test_a_websocket_handshake_without_its_key_is_a_problem(live_server: str) -> None:
    status, headers, body = await exchange(
        live_server,
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
    )
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    problem = json.loads(body)
    assert (problem["status"], problem["instance"]) == (400, "/ws")
    assert "Sec-WebSocket-Key" in problem["detail"]
    # A version it does not speak, likewise.
    status, headers, body = await exchange(
        live_server,
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    assert "Sec-WebSocket-Version" in json.loads(body)["detail"]
