"""What the ASVS tests share: signing in, making users, forging tokens, reading the table in
docs/security.md, and a browser-like client with its own cookies."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from config.settings import Settings
from server.app import create_app
from server.resources import Resources
from tests.conftest import ROOT, SECRET, asgi_client
from tests.factories import PASSWORD, SeededTenant

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"
USERS = "/api/v1/users"
COOKIE_SESSION = {"X-Recoup-Session": "cookie"}
SECURITY_DOC = ROOT / "docs" / "security.md"


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict:
    response = await client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


async def login_status(client: httpx.AsyncClient, email: str, password: str) -> int:
    return (await client.post(LOGIN, json={"email": email, "password": password})).status_code


def bearer(token: str | dict) -> dict[str, str]:
    """Headers for an access token (or the token pair that holds one)."""
    value = token["access_token"] if isinstance(token, dict) else token
    return {"Authorization": f"Bearer {value}"}


async def me(client: httpx.AsyncClient, token: str | dict) -> int:
    """What a request with this access token gets: 200 while it stands, 401 once it ended."""
    return (await client.get(ME, headers=bearer(token))).status_code


async def refresh(client: httpx.AsyncClient, tokens: dict) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})


async def new_user(
    client: httpx.AsyncClient, tenant: SeededTenant, password: str, **fields: Any
) -> httpx.Response:
    """An admin creates a user with ``password`` (a fresh e-mail unless given)."""
    body = {"email": f"u-{uuid.uuid4().hex[:10]}@{tenant.slug}.test", "name": "Ada Quill"}
    body.update(fields, password=password)
    return await client.post(USERS, json=body, headers=tenant.admin.headers)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})


def forge(
    claims: dict[str, Any],
    *,
    key: Any = SECRET,
    algorithm: str | None = "HS256",
    headers: dict[str, Any] | None = None,
    **changes: Any,
) -> str:
    """An access token with ``claims`` changed by ``changes`` (None removes a claim)."""
    payload = {k: v for k, v in {**claims, **changes}.items() if v is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def doc_section(heading: str) -> str:
    """The text of docs/security.md under ``heading`` (any level), up to the next heading
    of the same or a higher level."""
    text = SECURITY_DOC.read_text()
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, re.MULTILINE)
    assert match, f"docs/security.md has no section {heading!r}"
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def table_rows(section: str) -> list[list[str]]:
    """The body rows of the markdown tables in ``section`` (no header or rule lines)."""
    lines = section.splitlines()
    rule = re.compile(r"^\|[\s:|-]+\|$")
    rows = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or rule.match(line):
            continue
        if i + 1 < len(lines) and rule.match(lines[i + 1]):
            continue  # a header
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


@asynccontextmanager
async def browser(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar of its own, as one browser is."""
    async with asgi_client(create_app(settings, resources=resources)) as client:
        yield client


async def closed_with(ws: ClientConnection, within: float = 15.0) -> int:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def still_open(ws: ClientConnection) -> bool:
    """True when the socket answers a ping frame of ours."""
    await ws.send('{"op": "ping"}')
    try:
        while True:
            if '"pong"' in await asyncio.wait_for(ws.recv(), 5):
                return True
    except ConnectionClosed:
        return False
