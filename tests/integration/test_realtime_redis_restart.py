"""Redis goes away and comes back while sockets are subscribed: nothing committed is lost.

Runs a private stack (its own database, Redis, web and relay processes), so that restarting
Redis here disturbs no other test.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from channels import names
from channels.redis_backend import history_key
from channels.refill import HISTORY_COMPLETE
from domain.db import Database
from domain.interactions.schemas import InteractionCreate
from domain.interactions.service import InteractionService
from server.embedded import EmbeddedRedis
from tests.conftest import RECOUP, ROOT, SECRET, _free_port, _with_database, recoup_env
from tests.factories import SeededTenant, TenantFactory
from tests.realtime import frame, open_socket, stop, subscribe

DATABASE = "recoup_test_restart"


@dataclass
class Stack:
    url: str
    redis: EmbeddedRedis
    db: Database
    tenant: SeededTenant
    client: httpx.AsyncClient


@pytest.fixture(scope="module")
async def stack(settings, tmp_path_factory) -> AsyncIterator[Stack]:
    admin = await asyncpg.connect(_with_database(settings.database_url, "postgres"))
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    await admin.close()
    database_url = _with_database(settings.database_url, DATABASE)
    redis = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    redis_url = redis.start()
    env = recoup_env(settings, DATABASE_URL=database_url, REDIS_URL=redis_url)
    # Piccolo binds its tables to the first database a process migrates: use a process.
    subprocess.run([*RECOUP, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = _free_port()
    web = subprocess.Popen(
        [*RECOUP, "web"],
        cwd=ROOT,
        env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    relay = subprocess.Popen(
        [*RECOUP, "relay"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    db = await Database(database_url, min_size=1, max_size=4).open()
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(200):
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            tenant = await (await TenantFactory.create(db, SECRET)).new()
            yield Stack(url=url, redis=redis, db=db, tenant=tenant, client=client)
    finally:
        for process in (web, relay):
            stop(process)
        await db.close()
        redis.stop()


async def log_note(stack: Stack, account_id: int, n: int) -> None:
    async with stack.db.tenant(stack.tenant.id) as conn:
        await InteractionService(conn, stack.tenant.admin.actor).log(
            account_id, InteractionCreate(channel="note", notes=f"note {n}")
        )


async def test_no_event_committed_while_redis_is_down_is_lost(stack: Stack) -> None:
    tenant, account = stack.tenant, stack.tenant.accounts[0]
    channel = names.account(account.id)
    ws = await open_socket(stack.client, stack.url, tenant.admin)
    await subscribe(ws, channel)
    seen: dict[str, dict] = {}

    async def take(count: int, within: float) -> None:
        while sum(1 for e in seen.values() if e["type"] == "interaction.logged") < count:
            event = await frame(ws, within)
            if event["op"] == "event":
                seen[event["id"]] = event

    for n in range(3):
        await log_note(stack, account.id, n)
    await take(3, 5)
    last_pos = max(seen.values(), key=lambda e: tuple(map(int, e["pos"].split("-"))))["pos"]

    stack.redis.stop()
    for n in range(3, 23):  # committed while Redis is down: they wait in the outbox
        await log_note(stack, account.id, n)
    patched = await stack.client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "Outage Bank"},
        headers=tenant.admin.headers,
    )
    assert patched.status_code == 200  # REST keeps working
    stack.redis.start()

    try:
        await take(23, 30)  # the socket was restored and caught up
    except ConnectionClosed:
        # ...or closed for resume: come back with the last position seen.
        ws = await open_socket(stack.client, stack.url, tenant.admin)
        answer = await subscribe(ws, channel, since=last_pos)
        assert answer["recovered"] is True
        await take(23, 30)
    notes = sorted(
        int(e["data"]["notes"].split()[1])
        for e in seen.values()
        if e["type"] == "interaction.logged"
    )
    assert notes == list(range(23))
    while not any(e["type"] == "account.updated" for e in seen.values()):
        event = await frame(ws, 10)
        if event["op"] == "event":
            seen[event["id"]] = event
    await ws.close()


async def notes_on(ws, count: int, within: float = 10.0) -> list[dict]:  # type: ignore[type-arg]
    """Every frame up to the ``count``-th interaction event (asserting none is a resync)."""
    received: list[dict] = []  # type: ignore[type-arg]
    while sum(1 for f in received if f.get("type") == "interaction.logged") < count:
        received.append(await frame(ws, within))
        assert received[-1]["op"] == "event", received[-1]
    return received


def in_order(frames: list[dict]) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    return [tuple(map(int, f["pos"].split("-"))) for f in frames]  # type: ignore[misc]


async def test_history_lost_with_redis_is_refilled_from_the_outbox(stack: Stack) -> None:
    tenant, account = stack.tenant, stack.tenant.accounts[1]
    channel = names.account(account.id)
    live = await open_socket(stack.client, stack.url, tenant.admin)
    await subscribe(live, channel)
    for n in range(4):
        await log_note(stack, account.id, n)
    before = await notes_on(live, 4)
    # A client that saw only the first event, then dropped off.
    held, missed = before[0]["pos"], before[1:]

    redis = aioredis.Redis.from_url(stack.redis.url())
    try:
        await redis.flushall()
        assert not await redis.exists(HISTORY_COMPLETE)
        # Resuming at once: the answer waits for the refill, and replays what was missed
        # under the positions the client knows.
        back = await open_socket(stack.client, stack.url, tenant.admin)
        answer = await subscribe(back, channel, since=held, within=10)
        assert answer["recovered"] is True
        replayed = [await frame(back) for _ in missed]
        assert [f["id"] for f in replayed] == [f["id"] for f in missed]
        assert [f["pos"] for f in replayed] == [f["pos"] for f in missed]
        assert await redis.exists(HISTORY_COMPLETE)
        [(newest, _)] = await redis.xrevrange(
            history_key(names.scoped(tenant.id, channel)), count=1
        )
        assert newest.decode() == before[-1]["pos"]

        for n in range(4, 6):  # published after the refill, on the same history
            await log_note(stack, account.id, n)
        after_live, after_back = await notes_on(live, 2), await notes_on(back, 2)
        assert [f["id"] for f in after_live] == [f["id"] for f in after_back]
        received = replayed + after_back
        assert len({f["id"] for f in received}) == len(received)  # each once
        assert in_order(received) == sorted(in_order(received))
        notes = [int(f["data"]["notes"].split()[1]) for f in received if "notes" in f["data"]]
        assert notes == [1, 2, 3, 4, 5]

        # Later the same position still resumes, with everything since, once, in order.
        third = await open_socket(stack.client, stack.url, tenant.admin)
        answer = await subscribe(third, channel, since=held)
        assert answer["recovered"] is True
        assert [(await frame(third))["id"] for _ in received] == [f["id"] for f in received]
        for ws in (live, back, third):
            await ws.close()
    finally:
        await redis.aclose()


async def test_history_lost_twice_in_a_row_is_refilled_again(stack: Stack) -> None:
    tenant, account = stack.tenant, stack.tenant.accounts[2]
    channel = names.account(account.id)
    live = await open_socket(stack.client, stack.url, tenant.admin)
    await subscribe(live, channel)
    await log_note(stack, account.id, 0)
    held = (await notes_on(live, 1))[-1]["pos"]
    redis = aioredis.Redis.from_url(stack.redis.url())
    try:
        for n in (1, 2):
            await redis.flushall()
            await log_note(stack, account.id, n)  # published once the history is back
            [event] = [f for f in await notes_on(live, 1) if f["type"] == "interaction.logged"]
            assert event["data"]["notes"] == f"note {n}"
        back = await open_socket(stack.client, stack.url, tenant.admin)
        answer = await subscribe(back, channel, since=held)
        assert answer["recovered"] is True
        replayed = await notes_on(back, 2)
        notes = [f["data"]["notes"] for f in replayed if f["type"] == "interaction.logged"]
        assert notes == ["note 1", "note 2"]
        await live.close()
        await back.close()
    finally:
        await redis.aclose()
