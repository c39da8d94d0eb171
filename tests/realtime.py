"""A WebSocket client for the tests: real sockets through the `websockets` library."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx
import msgspec
from websockets.asyncio.client import ClientConnection, connect

from tests.factories import SeededUser


async def ticket(client: httpx.AsyncClient, user: SeededUser) -> str:
    response = await client.post("/api/v1/realtime/ticket", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()["ticket"]


async def open_socket(
    client: httpx.AsyncClient, base_url: str, user: SeededUser, **options: Any
) -> ClientConnection:
    url = base_url.replace("http://", "ws://") + f"/ws?ticket={await ticket(client, user)}"
    return await connect(url, **options)


async def frame(ws: ClientConnection, within: float = 5.0) -> dict[str, Any]:
    return msgspec.json.decode(await asyncio.wait_for(ws.recv(), within))


async def subscribe(
    ws: ClientConnection, channel: str, since: str | None = None, within: float = 5.0
) -> dict[str, Any]:
    """Subscribe and return the server's answer (``subscribed`` or ``error``)."""
    request: dict[str, Any] = {"op": "subscribe", "channel": channel}
    if since is not None:
        request["since"] = since
    await ws.send(msgspec.json.encode(request).decode())
    while True:
        answer = await frame(ws, within)
        if answer["op"] in ("subscribed", "error"):
            return answer


async def unsubscribe(ws: ClientConnection, channel: str, within: float = 5.0) -> dict[str, Any]:
    """Unsubscribe and return the server's answer; events of the channel already on their
    way (published before the answer) may come first, and are passed over."""
    await ws.send(msgspec.json.encode({"op": "unsubscribe", "channel": channel}).decode())
    while True:
        answer = await frame(ws, within)
        if answer["op"] != "event":
            return answer


async def events(
    ws: ClientConnection, count: int, within: float = 10.0, of_type: str | None = None
) -> list[dict[str, Any]]:
    """The next ``count`` event frames (of one type, when given)."""
    collected: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while len(collected) < count:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"got {len(collected)} of {count} events in {within} s")
        received = await frame(ws, remaining)
        if received["op"] == "event" and (of_type is None or received["type"] == of_type):
            collected.append(received)
    return collected


async def silence(ws: ClientConnection, within: float = 1.0) -> list[dict[str, Any]]:
    """Whatever arrives within ``within`` seconds (expected: nothing)."""
    received = []
    try:
        while True:
            received.append(await frame(ws, within))
    except TimeoutError:
        return received


async def start_web(
    env: dict[str, str], port: int, *, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Another `recoup web` process, returned once it answers /health/ready; its output goes
    to ``log`` when given."""
    from tests.conftest import RECOUP, ROOT

    output = log.open("wb") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [*RECOUP, "web"],
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    async with httpx.AsyncClient() as http:
        # Up to a minute, as for the live server: a loaded machine takes its time to import.
        for _ in range(600):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                break
            await asyncio.sleep(0.1)
    process.kill()
    raise RuntimeError("recoup web did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
