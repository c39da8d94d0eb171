"""PostgreSQL or Redis goes away under a running `recoup web`: every path answers 503 with
``Retry-After`` and a problem naming the dependency, the log says so once (not once per
request, and without a traceback), and when the dependency is back the same process serves
again, unrestarted.

The web process reaches the test servers through proxies that the test cuts (as a stopped
server refuses and breaks connections), so no other test's servers go down.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from domain.payments.links import link_token
from tests.conftest import RECOUP, ROOT, SECRET, _free_port, recoup_env
from tests.factories import SeededTenant, TenantFactory
from tests.proxy import CuttableProxy, postgres_proxy, redis_proxy
from tests.realtime import stop, ticket

PROBLEM_JSON = "application/problem+json"


@dataclass
class Web:
    url: str
    client: httpx.AsyncClient
    database: CuttableProxy
    redis: CuttableProxy
    log: Path
    tenant: SeededTenant

    def lines(self) -> list[dict]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"event": line, "raw": True})
        return out

    def mark(self) -> int:
        return len(self.lines())

    def since(self, mark: int) -> list[dict]:
        return self.lines()[mark:]


@pytest.fixture(scope="module")
async def web(settings, tenants: TenantFactory) -> AsyncIterator[Web]:
    database, database_url = postgres_proxy(settings.database_url)
    redis, redis_url = redis_proxy(settings.redis_url)
    await database.start()
    await redis.start()
    port = _free_port()
    log = ROOT / ".recoup" / "test-outage-web.log"
    process = subprocess.Popen(
        [*RECOUP, "web"],
        cwd=ROOT,
        env=recoup_env(
            settings,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            PORT=str(port),
            HOST="127.0.0.1",
            LOG_LEVEL="INFO",
            LOG_JSON="true",
        ),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=20) as client:
            for _ in range(300):
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(log.read_text(errors="replace")[-3000:])
            tenant = await tenants.new()
            yield Web(url, client, database, redis, log, tenant)
    finally:
        stop(process)
        await database.cut()
        await redis.cut()


def assert_unavailable(response: httpx.Response, dependency: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["type"] == "urn:recoup:problem:dependency-unavailable"
    assert body["status"] == 503
    assert body["dependency"] == dependency
    assert body["retry_after"] == 5
    assert body["instance"] == response.request.url.path


async def ws_close_code(url: str) -> int:
    async with connect(url) as ws:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code is not None
        return ws.close_code


async def back_within(web: Web, seconds: float) -> None:
    for _ in range(int(seconds * 10)):
        if (await web.client.get("/health/ready")).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not ready again")


async def outage_over(web: Web, mark: int) -> list[dict]:
    """The log lines since ``mark``, once the outage's end is logged (probed each second)."""
    for _ in range(50):
        lines = web.since(mark)
        if any(line.get("event") == "dependency available again" for line in lines):
            return lines
        await asyncio.sleep(0.1)
    return web.since(mark)


def assert_one_outage(lines: list[dict], dependency: str) -> None:
    text = "\n".join(json.dumps(line) for line in lines)
    assert "Traceback" not in text
    assert not [line for line in lines if line.get("event") == "unhandled error"]
    down = [line for line in lines if line.get("event") == "dependency unavailable"]
    back = [line for line in lines if line.get("event") == "dependency available again"]
    assert [line["dependency"] for line in down] == [dependency], down
    assert [line["dependency"] for line in back] == [dependency], back
    # Nothing warned once per request: not the requests' own lines (an outage's 503 is
    # logged at INFO), nor anything else (the channels' pub/sub says once that it lost its
    # connection, and once more if it loses it again on the way back).
    warnings = [line for line in lines if line.get("level") in ("warning", "error")]
    assert not [line for line in warnings if line.get("logger") == "recoup.http"], warnings
    repeated = Counter(line.get("event") for line in warnings)
    assert max(repeated.values()) <= 2, warnings


async def test_database_outage_answers_503_once_logged_and_recovers(web: Web) -> None:
    admin = web.tenant.admin
    assert (await web.client.get("/api/v1/accounts", headers=admin.headers)).status_code == 200
    # A collector's account channel is checked against the database when subscribed.
    early_ticket = await ticket(web.client, web.tenant.collector)
    pay = f"/pay/{link_token(SECRET, web.tenant.id, 1)}"
    mark = web.mark()

    await web.database.cut()
    for _ in range(5):
        assert_unavailable(
            await web.client.get("/api/v1/accounts", headers=admin.headers), "database"
        )
    account = web.tenant.accounts[0]
    assert_unavailable(
        await web.client.patch(
            f"/api/v1/accounts/{account.id}", json={"creditor": "X"}, headers=admin.headers
        ),
        "database",
    )
    login = await web.client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": admin.password}
    )
    assert_unavailable(login, "database")
    assert_unavailable(
        await web.client.post("/api/v1/realtime/ticket", headers=admin.headers), "database"
    )
    assert_unavailable(await web.client.get(f"{pay}/summary"), "database")
    page = await web.client.get(pay)
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert page.headers["content-type"].startswith("text/html")
    health = await web.client.get("/health/ready")
    assert health.status_code == 503
    assert health.headers["retry-after"] == "5"
    assert health.json()["down"] == ["database"]
    assert health.json()["checks"]["redis"] == "ok"
    # A socket whose ticket was taken before: it opens (tickets live in Redis), and what
    # needs the database answers "unavailable" without closing it.
    async with connect(f"{web.url.replace('http', 'ws')}/ws?ticket={early_ticket}") as ws:
        await ws.send(json.dumps({"op": "subscribe", "channel": f"account:{account.id}"}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert answer["op"] == "error"
        assert answer["code"] == "unavailable"

    await web.database.restore()
    await back_within(web, 5)
    assert (await web.client.get("/api/v1/accounts", headers=admin.headers)).status_code == 200
    assert (await web.client.get(pay)).status_code in (200, 404, 410)
    assert_one_outage(await outage_over(web, mark), "database")


async def test_redis_outage_answers_503_once_logged_and_recovers(web: Web) -> None:
    admin = web.tenant.admin
    mark = web.mark()

    await web.redis.cut()
    for _ in range(5):
        assert_unavailable(
            await web.client.post("/api/v1/realtime/ticket", headers=admin.headers), "redis"
        )
    ws_url = f"{web.url.replace('http', 'ws')}/ws?ticket=anything"
    assert await ws_close_code(ws_url) == 1013  # try again later
    assert await ws_close_code(ws_url) == 1013
    # Signing in goes on without its rate limit; REST that needs only the database works.
    login = await web.client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": admin.password}
    )
    assert login.status_code == 200, login.text
    assert (await web.client.get("/api/v1/accounts", headers=admin.headers)).status_code == 200
    health = await web.client.get("/health/ready")
    assert health.status_code == 503
    assert health.json()["down"] == ["redis"]
    assert health.headers["retry-after"] == "5"

    await web.redis.restore()
    await back_within(web, 5)
    token = await ticket(web.client, admin)
    async with connect(f"{web.url.replace('http', 'ws')}/ws?ticket={token}") as ws:
        channel = f"account:{web.tenant.accounts[0].id}"
        for _ in range(20):  # the pub/sub connection may still be on its way back
            await ws.send(json.dumps({"op": "subscribe", "channel": channel}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if answer.get("code") != "unavailable":
                break
            await asyncio.sleep(0.25)
        assert answer["op"] == "subscribed", answer
    assert_one_outage(await outage_over(web, mark), "redis")
