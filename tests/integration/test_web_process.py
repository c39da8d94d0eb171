"""What only a real ``recoup web`` shows: its log lines (ours and uvicorn's) and which
forwarded headers uvicorn believes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from config.settings import Settings
from server.resources import Resources
from tests.conftest import ROOT, _free_port, recoup_env
from tests.factories import SeededTenant
from tests.helpers import eventually
from tests.realtime import start_web, stop, ticket

LOG = ROOT / ".recoup" / "test-web-process.log"
PROXY_LOG = ROOT / ".recoup" / "test-web-proxy.log"
LOGIN = "/api/v1/auth/login"


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = recoup_env(
        settings,
        HOST="127.0.0.1",
        LOG_LEVEL="INFO",
        LOG_JSON="true",
        LOGIN_LIMIT_PER_IP="3",
        LOGIN_LIMIT_PER_EMAIL="1000",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    if "FORWARDED_ALLOW_IPS" not in extra:
        env.pop("FORWARDED_ALLOW_IPS", None)
    return env


@pytest.fixture(scope="module")
async def web(settings: Settings) -> AsyncIterator[str]:
    """``recoup web`` with the default proxy settings, logging at INFO to LOG."""
    port = _free_port()
    process = await start_web(_env(settings), port, log=LOG)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.fixture(scope="module")
async def behind_proxy(settings: Settings) -> AsyncIterator[str]:
    """``recoup web`` trusting forwarded headers from 127.0.0.2 only."""
    port = _free_port()
    process = await start_web(_env(settings, FORWARDED_ALLOW_IPS="127.0.0.2"), port, log=PROXY_LOG)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def log_lines(path: Path = LOG) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            lines.append({"event": raw})
    return lines


async def request_logged(request_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def logged() -> bool:
        found[:] = [
            line
            for line in log_lines()
            if line.get("request_id") == request_id and line.get("event") == "request"
        ]
        return bool(found)

    await eventually(logged, within=5)
    return found[0]


async def test_a_401_from_the_auth_middleware_is_logged_with_its_status(web: str) -> None:
    request_id = f"t401-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=web) as http:
        response = await http.get("/api/v1/accounts", headers={"X-Request-Id": request_id})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == request_id
    assert response.headers["x-frame-options"] == "DENY"
    line = await request_logged(request_id)
    assert line["status"] == 401
    assert line["level"] == "info"
    assert not [
        other
        for other in log_lines()
        if other.get("request_id") == request_id and other.get("level") in ("error", "critical")
    ]


async def test_payment_link_tokens_stay_out_of_the_log(
    web: str, client, tenant: SeededTenant
) -> None:
    created = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payment-links",
        json={},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    token = created.json()["url"].split("/pay/", 1)[1]
    ids = []
    async with httpx.AsyncClient(base_url=web) as http:
        for path in (f"/pay/{token}", f"/pay/{token}/summary", f"/pay/{token}/nothing-here"):
            ids.append(f"tpay-{uuid.uuid4().hex}")
            await http.get(path, headers={"X-Request-Id": ids[-1]})
            await http.get(f"/optout/{token}", headers={"X-Request-Id": ids[-1] + "o"})
    paths = [(await request_logged(request_id))["path"] for request_id in ids]
    assert paths[1] == "/pay/[redacted]/summary"
    assert token not in LOG.read_text()


async def test_the_socket_ticket_stays_out_of_the_log(
    web: str, client, tenant: SeededTenant
) -> None:
    secret = await ticket(client, tenant.collector)
    url = web.replace("http://", "ws://") + f"/ws?ticket={secret}"
    async with connect(url) as socket:
        await socket.send(
            json.dumps({"op": "subscribe", "channel": f"agent:{tenant.collector.id}"})
        )
        await socket.recv()

    def accepted() -> bool:
        return any('"WebSocket /ws?ticket=' in str(line.get("event")) for line in log_lines())

    await eventually(accepted, within=5)
    assert secret not in LOG.read_text()


async def attempts(http: httpx.AsyncClient, forwarded_for: list[str]) -> list[int]:
    statuses = []
    for address in forwarded_for:
        response = await http.post(
            LOGIN,
            json={"email": f"{uuid.uuid4().hex}@nowhere.test", "password": "wrong password"},
            headers={"X-Forwarded-For": address},
        )
        statuses.append(response.status_code)
    return statuses


async def test_forwarded_for_from_an_unconfigured_peer_is_ignored(
    web: str, resources: Resources
) -> None:
    await resources.redis.delete("recoup:login:ip:127.0.0.1")
    rotating = [f"203.0.113.{n}" for n in range(1, 6)]
    async with httpx.AsyncClient(base_url=web) as http:
        statuses = await attempts(http, rotating)
    assert statuses == [401, 401, 401, 429, 429]
    await resources.redis.delete("recoup:login:ip:127.0.0.1")


async def test_forwarded_for_from_a_configured_proxy_names_the_client(
    behind_proxy: str, resources: Resources
) -> None:
    client_address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    other_address = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    for address in (client_address, other_address, "127.0.0.1"):
        await resources.redis.delete(f"recoup:login:ip:{address}")
    proxy = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=behind_proxy, transport=proxy) as http:
        assert await attempts(http, [client_address] * 4) == [401, 401, 401, 429]
        # Another client behind the same proxy has its own count.
        assert await attempts(http, [other_address]) == [401]
    # A peer that is not the proxy cannot borrow an address.
    async with httpx.AsyncClient(base_url=behind_proxy) as http:
        assert await attempts(http, [other_address] * 2) == [401, 401]
    assert (await resources.redis.get(f"recoup:login:ip:{other_address}")) == b"1"
    for address in (client_address, other_address, "127.0.0.1"):
        await resources.redis.delete(f"recoup:login:ip:{address}")
