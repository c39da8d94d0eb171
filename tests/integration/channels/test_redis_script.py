"""The relay's way to its publishing script: one connection, EVALSHA packed by hiredis, the
script loaded when Redis lacks it, and a connection that failed never used again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from channels.redis_backend import connect_redis
from channels.redis_script import ScriptCaller


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    made = connect_redis(redis_url)
    yield made
    await made.aclose()


def script(body: str) -> str:
    # A script Redis has never seen: the first call meets NOSCRIPT and loads it.
    return f"-- {uuid.uuid4()}\n{body}"


async def test_a_new_script_is_loaded_and_answers_with_its_keys_and_arguments(client) -> None:
    caller = ScriptCaller(client, script("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}"))
    assert await client.script_exists(caller.sha) == [False]
    reply = await caller(["k1", "k2"], [b"\x00bytes\xff", 42])
    assert reply == [b"k1", b"k2", b"\x00bytes\xff", b"42"]
    assert await client.script_exists(caller.sha) == [True]
    first = caller._conn
    assert await caller(["a", "b"], ["é", 1.5]) == [b"a", b"b", "é".encode(), b"1.5"]
    assert caller._conn is first  # one connection, kept
    await caller.close()


async def test_the_scripts_own_error_keeps_the_connection(client) -> None:
    caller = ScriptCaller(
        client, script("if ARGV[1] == 'fail' then return redis.error_reply('ERR no') end return 1")
    )
    assert await caller([], ["ok"]) == 1
    first = caller._conn
    with pytest.raises(ResponseError, match="no"):
        await caller([], ["fail"])
    assert caller._conn is first
    assert await caller([], ["ok"]) == 1
    await caller.close()


async def test_a_lost_connection_is_dropped_and_the_next_call_opens_another(client) -> None:
    caller = ScriptCaller(client, script("return ARGV[1]"))
    assert await caller([], ["one"]) == b"one"
    first = caller._conn
    killed = await client.execute_command("CLIENT", "KILL", "ID", await _client_id(caller))
    assert killed == 1
    with pytest.raises((RedisConnectionError, OSError)):
        await caller([], ["lost"])
    assert caller._conn is None
    assert await caller([], ["two"]) == b"two"
    assert caller._conn is not first
    await caller.close()


async def test_a_call_cut_short_leaves_no_reply_for_the_next(client) -> None:
    """Cancelled while Redis still works on it: its reply must not become the next call's."""
    caller = ScriptCaller(
        client,
        script("if ARGV[1] == 'slow' then for i = 1, 30000000 do end end return ARGV[1]"),
    )
    assert await caller([], ["warm"]) == b"warm"
    slow = asyncio.create_task(caller([], ["slow"]))
    await asyncio.sleep(0.02)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert caller._conn is None
    assert await caller([], ["next"]) == b"next"
    await caller.close()


async def test_calls_take_turns_on_the_connection(client) -> None:
    caller = ScriptCaller(client, script("return ARGV[1]"))
    replies = await asyncio.gather(*(caller([], [str(n)]) for n in range(50)))
    assert replies == [str(n).encode() for n in range(50)]
    await caller.close()


async def _client_id(caller: ScriptCaller) -> int:
    await caller._conn.send_command("CLIENT", "ID")
    return await caller._conn.read_response()
