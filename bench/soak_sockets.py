"""The idle sockets of `soak.py`, in a process of their own (pinned by the caller).

Each socket does what a browser tab does when nothing happens on its screen: it takes a
one-time ticket, opens `/ws`, subscribes to one real channel (the wallboard, an account's,
an agent's) and answers pings. The tickets are the demo supervisor's: one sign-in and one
`POST /api/v1/realtime/ticket`, whose ticket's identity (with its session) is then written
into Redis again under each new ticket, as the route would write it (5,000 sign-ins would
only measure Argon2; an identity without a session is closed by the socket's periodic
access check). When the server closes it or
goes away (a web process killed), it waits 1-5 s (doubling up to 15 s while connecting
fails) and opens again with a new ticket. Every 5 s it prints one JSON line of counts.

    python bench/soak_sockets.py PLAN.json     # {host, port, redis_url, actor, channels}
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from wsclient import open_client  # noqa: E402

TICKET_TTL = 60
OPENING_AT_ONCE = 100


class Counts:
    def __init__(self) -> None:
        self.open = 0  # sockets open and subscribed now
        self.connects = 0  # successful opens, the first ones included
        self.drops = 0  # open sockets that were closed under us
        self.failures = 0  # attempts that did not open (no ticket, refused, timed out)
        self.events = 0  # event frames heard
        self.errors = 0  # error frames (unavailable, forbidden)
        self.codes: dict[str, int] = {}  # close codes of the drops

    def line(self) -> str:
        return json.dumps({"at": time.time(), **self.__dict__})


async def run(plan: dict) -> None:
    import redis.asyncio as aioredis

    from domain.auth.tokens import digest

    counts = Counts()
    redis = aioredis.Redis.from_url(plan["redis_url"])
    actor = await signed_in(plan, redis)
    gate = asyncio.Semaphore(OPENING_AT_ONCE)
    host, port = plan["host"], plan["port"]

    async def ticket() -> str:
        token = uuid.uuid4().hex
        await redis.set(f"recoup:ws-ticket:{digest(token)}", actor, ex=TICKET_TTL)
        return token

    def on_text(payload: bytes) -> None:
        if payload.startswith(b'{"op":"event"'):
            counts.events += 1
        elif payload.startswith(b'{"op":"error"'):
            counts.errors += 1

    async def keep(channel: str) -> None:
        backoff = 1.0
        subscribe = json.dumps({"op": "subscribe", "channel": channel})
        while True:
            try:
                async with gate:
                    token = await ticket()
                    client = await asyncio.wait_for(
                        open_client(host, port, f"/ws?ticket={token}", on_text), 15
                    )
            except Exception:
                counts.failures += 1
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, 15.0)
                continue
            backoff = 1.0
            client.send_text(subscribe)
            counts.connects += 1
            counts.open += 1
            code = await client.closed
            counts.open -= 1
            counts.drops += 1
            counts.codes[str(code)] = counts.codes.get(str(code), 0) + 1
            await asyncio.sleep(random.uniform(1.0, 5.0))

    keepers = [asyncio.create_task(keep(c)) for c in plan["channels"]]
    try:
        while True:
            print(counts.line(), flush=True)
            await asyncio.sleep(5.0)
    finally:
        for keeper in keepers:
            keeper.cancel()


async def write_plan(
    path: Path, database_url: str, redis_url: str, port: int, sockets: int, wallboard: float
) -> str:
    """The plan of ``sockets`` sockets of the demo tenant's supervisor: a share on the
    wallboard, a tenth of the rest on agents' channels, the others on accounts' channels
    (chosen at random from the book); written to ``path``, described in the answer."""
    import asyncpg

    from domain.demo import DEMO_PASSWORD

    conn = await asyncpg.connect(database_url)
    try:
        sup = await conn.fetchrow(
            "SELECT u.id, u.tenant_id, u.email FROM users u JOIN tenants t ON t.id = u.tenant_id "
            "WHERE t.slug = 'demo' AND u.role = 'supervisor' ORDER BY u.id LIMIT 1"
        )
        tenant = sup["tenant_id"]
        accounts = [
            r["id"]
            for r in await conn.fetch("SELECT id FROM accounts WHERE tenant_id = $1", tenant)
        ]
        agents = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM users WHERE tenant_id = $1 AND role = 'collector'", tenant
            )
        ]
    finally:
        await conn.close()
    rng = random.Random(7)
    wallboards = int(sockets * wallboard)
    on_agents = min(len(agents), (sockets - wallboards) // 10)
    channels = ["wallboard"] * wallboards + [f"agent:{a}" for a in agents[:on_agents]]
    channels += [f"account:{rng.choice(accounts)}" for _ in range(sockets - len(channels))]
    plan = {
        "host": "127.0.0.1",
        "port": port,
        "base_url": f"http://127.0.0.1:{port}",
        "login": {"email": sup["email"], "password": DEMO_PASSWORD},
        "redis_url": redis_url,
        "channels": channels,
    }
    await asyncio.to_thread(path.write_text, json.dumps(plan))
    return (
        f"{wallboards} on the wallboard, {on_agents} on agents' channels, "
        f"{len(channels) - wallboards - on_agents} on accounts' channels"
    )


async def signed_in(plan: dict, redis: Any) -> bytes:
    """The supervisor's identity as a ticket of theirs holds it, session and all."""
    import httpx

    from domain.auth.tokens import digest

    async with httpx.AsyncClient(base_url=plan["base_url"], timeout=30) as http:
        login = await http.post("/api/v1/auth/login", json=plan["login"])
        login.raise_for_status()
        token = login.json()["access_token"]
        answer = await http.post(
            "/api/v1/realtime/ticket", headers={"Authorization": f"Bearer {token}"}
        )
        answer.raise_for_status()
    actor = await redis.get(f"recoup:ws-ticket:{digest(answer.json()['ticket'])}")
    if not actor:
        raise RuntimeError("the ticket was not in Redis")
    return actor


def main() -> None:
    import uvloop

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    plan = json.loads(Path(sys.argv[1]).read_text())
    uvloop.run(run(plan))


if __name__ == "__main__":
    main()
