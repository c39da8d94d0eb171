"""One Lua script, called on a Redis connection of its own, straight through.

redis-py's way to a command (the pool and its lock, retries, the command's reply callback)
and its packing of the arguments, in Python one by one, cost the relay about three times
the call itself for each batch (one script call with four arguments per event and
channel). Here the arguments are packed by hiredis, in C, written to the connection and the
reply read straight back; calls take turns on the connection. A connection that fails or
whose call is cut short is dropped (its reply may still be on its way) and the next call
opens another.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError


class ScriptCaller:
    def __init__(self, client: aioredis.Redis, script: str) -> None:
        self._client = client
        self._script = script
        self.sha = hashlib.sha1(script.encode()).hexdigest()
        self._conn: Any = None
        self._turn = asyncio.Lock()

    async def __call__(self, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """The script's reply (``EVALSHA``, loading the script when Redis lacks it)."""
        async with self._turn:
            conn = self._conn
            if conn is None:
                pool = self._client.connection_pool
                conn = self._conn = pool.connection_class(**pool.connection_kwargs)
            try:
                return await self._call(conn, keys, args)
            except ResponseError:
                raise  # the script's own error: the connection is as good as before
            except BaseException:
                self._conn = None
                with contextlib.suppress(Exception):
                    await conn.disconnect(nowait=True)
                raise

    async def _call(self, conn: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        command = hiredis.pack_command(("EVALSHA", self.sha, len(keys), *keys, *args))
        await conn.send_packed_command(command, check_health=False)
        try:
            return await conn.read_response()
        except NoScriptError:
            load = hiredis.pack_command(("SCRIPT", "LOAD", self._script))
            await conn.send_packed_command(load, check_health=False)
            await conn.read_response()
            await conn.send_packed_command(command, check_health=False)
            return await conn.read_response()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect()
