"""The baseline: a plain Litestar WebSocket route on uvicorn that forwards every message of
one Redis pub/sub channel to every socket, awaiting ``send`` for each in turn. No
authorization, no positions, no bounds: what "as cheap as the plain forwarder" compares to.

    uvicorn bench.plain_forwarder:app --loop uvloop --http httptools --port 8100
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from litestar import Litestar, WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

CHANNEL = "plain"
sockets: set[WebSocket] = set()


@websocket("/ws")
async def forward(socket: WebSocket) -> None:
    await socket.accept()
    sockets.add(socket)
    try:
        while True:
            await socket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(socket)


async def relay_redis() -> None:
    client = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    pubsub = client.pubsub()
    await pubsub.subscribe(CHANNEL)
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        text = message["data"].decode()
        for socket in list(sockets):
            try:
                await socket.send_text(text)
            except Exception:
                sockets.discard(socket)


@asynccontextmanager
async def lifespan(_: Litestar) -> AsyncIterator[None]:
    task = asyncio.create_task(relay_redis())
    yield
    task.cancel()


app = Litestar([forward], lifespan=[lifespan])
