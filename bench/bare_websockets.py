"""The floor: the `websockets` library's own server and `broadcast`, fed by one Redis
pub/sub channel. No framework, no authorization, no positions.

    REDIS_URL=... python bench/bare_websockets.py 8101
"""

from __future__ import annotations

import asyncio
import os
import sys

import redis.asyncio as aioredis
from websockets.asyncio.server import ServerConnection, broadcast, serve

CHANNEL = "plain"
connections: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    connections.add(connection)
    try:
        await connection.wait_closed()
    finally:
        connections.discard(connection)


async def main(port: int) -> None:
    client = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    pubsub = client.pubsub()
    await pubsub.subscribe(CHANNEL)
    async with serve(handler, "127.0.0.1", port, compression=None):
        async for message in pubsub.listen():
            if message["type"] == "message":
                broadcast(connections, message["data"].decode())


if __name__ == "__main__":
    import uvloop

    uvloop.install()
    asyncio.run(main(int(sys.argv[1])))
