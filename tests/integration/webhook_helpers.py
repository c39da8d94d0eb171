"""A webhook receiver on this machine: a small HTTP server in the test's event loop that
records each request and answers from a script."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from domain.actor import system_actor
from domain.db import Database
from domain.webhooks import queries
from domain.webhooks.delivery import Sender
from domain.webhooks.schemas import WebhookEndpointCreate, WebhookSecret
from domain.webhooks.service import WebhookEndpointService
from domain.webhooks.signing import SecretBox
from tests.conftest import SECRET

BOX = SecretBox(SECRET)
# The tests' events happen tomorrow: a worker of the test session (running on the real clock)
# finds none of their deliveries due, and leaves them to the test's own sender.
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
TYPE = "account.updated"
HANG = 3.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    """Answers each request with the next ``(status, headers)`` of ``script`` (the last one
    once the script is over); status 0: answers nothing for ``HANG`` seconds, or until
    ``release`` is set if there is one (the sender is held mid-request)."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=lambda: [(200, {})])
    requests: list[Received] = field(default_factory=list)
    server: asyncio.Server | None = None
    release: asyncio.Event | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks"

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: Any) -> None:
        assert self.server is not None
        if self.release is not None:
            self.release.set()
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # a connection that sent nothing (an address probe)
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {}
            for line in lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Received(headers, body))
            status, extra = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
            if status == 0:
                if self.release is not None:
                    await self.release.wait()
                else:
                    await asyncio.sleep(HANG)
                return
            reply = f"status {status}".encode()
            out = [f"HTTP/1.1 {status} X", f"content-length: {len(reply)}", "connection: close"]
            out += [f"{k}: {v}" for k, v in extra.items()]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + reply)
            await writer.drain()
        finally:
            writer.close()


async def add_endpoint(
    db: Database, tenant_id: int, url: str, *, event_types: list[str] | None = None
) -> WebhookSecret:
    """(Of the tests' event type only, by default.)"""
    """An endpoint saved as a development deployment allows (loopback, plain http)."""
    async with db.tenant(tenant_id) as conn:
        service = WebhookEndpointService(conn, system_actor(tenant_id), box=BOX, allow_local=True)
        return await service.create(
            WebhookEndpointCreate(url=url, event_types=event_types or [TYPE])
        )


async def stage_events(db: Database, tenant_id: int, type: str) -> int:
    """What the relay does with the tenant's events of ``type``: a delivery per endpoint."""
    async with db.system() as conn:
        ids = await conn.fetch(
            "SELECT id FROM outbox WHERE tenant_id = $1 AND type = $2 ORDER BY id",
            tenant_id,
            type,
        )
        await queries.stage(conn, [r["id"] for r in ids])
        return await conn.fetchval(
            "SELECT count(*) FROM webhook_deliveries WHERE tenant_id = $1 AND event_type = $2",
            tenant_id,
            type,
        )


def sender(db: Database, now: dt.datetime, *, allow_local: bool = True) -> Sender:
    return Sender(db, BOX, allow_local=allow_local, clock=lambda: now, spread=lambda: 1.0)


async def deliveries(db: Database, tenant_id: int) -> list[dict[str, Any]]:
    async with db.tenant(tenant_id) as conn:
        rows = await conn.fetch(
            "SELECT * FROM webhook_deliveries WHERE event_type = $1 ORDER BY id", TYPE
        )
    return [dict(r) for r in rows]


async def attempts(db: Database, tenant_id: int, delivery_id: int) -> list[dict[str, Any]]:
    async with db.tenant(tenant_id) as conn:
        rows = await conn.fetch(
            "SELECT * FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id", delivery_id
        )
    return [dict(r) for r in rows]


async def emit(
    db: Database, tenant_id: int, type: str, data: dict[str, Any], at: dt.datetime = T0
) -> str:
    """An event in the tenant's outbox at ``at``, as any change writes one; its id."""
    from domain.outbox.service import ChangeRecorder

    async with db.tenant(tenant_id) as conn:
        recorder = ChangeRecorder(conn, system_actor(tenant_id), lambda: at)
        event = await recorder.event(type, [], data)
    return str(event.id)
