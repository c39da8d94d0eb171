"""`recoup dev` (what `make run` starts) over the real processes: each one killed with
SIGKILL comes back and says so, the app keeps working, and SIGTERM stops it all.

The run has its own database and Redis number, so that its two relays are the only ones
and the demo tenant is its own."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from config.settings import Settings
from tests.conftest import RECOUP, ROOT, _free_port, _with_database, _with_redis_db, recoup_env
from tests.realtime import events, subscribe

LOG = ROOT / ".recoup" / "test-dev-run.log"
DATABASE = "recoup_dev_run_test"
REDIS_DB = 14
KINDS = ("web", "worker", "scheduler", "relay.1", "relay.2")
TICKETS: list[str] = []  # every socket ticket used: none may be in the log

pytestmark = pytest.mark.timeout(400)


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self, name: str) -> list[int]:
        return [
            int(p) for p in re.findall(rf"started {re.escape(name)} \(pid (\d+)\)", self.text())
        ]

    def worker_children(self) -> list[int]:
        return [
            int(p) for p in re.findall(r"Started process worker-\d+ with pid (\d+)", self.text())
        ]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def until(condition, within: float, what: str):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def run(settings: Settings) -> AsyncIterator[Run]:
    database_url = _with_database(settings.database_url or "", DATABASE)
    redis_url = _with_redis_db(settings.redis_url or "", REDIS_DB)
    admin = await asyncpg.connect(_with_database(database_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await admin.close()
    flush = aioredis.Redis.from_url(redis_url)
    await flush.flushdb()
    await flush.aclose()
    port = _free_port()
    env = recoup_env(
        settings,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    with LOG.open("wb") as out:
        process = subprocess.Popen(
            [*RECOUP, "dev"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = Run(process, f"http://127.0.0.1:{port}", LOG)
    try:
        await until(lambda: "Recoup is running at" in started.text(), 240, "the run is ready")
        await until(lambda: "relay active" in started.text(), 30, "a relay is active")
        yield started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


async def login(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    answer = await http.post(
        "/api/v1/auth/login", json={"email": email, "password": "demo-password"}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def open_socket(
    http: httpx.AsyncClient, base: str, headers: dict[str, str]
) -> ClientConnection:
    ticket = await http.post("/api/v1/realtime/ticket", headers=headers)
    assert ticket.status_code == 200, ticket.text
    TICKETS.append(ticket.json()["ticket"])
    return await connect(base.replace("http://", "ws://") + f"/ws?ticket={TICKETS[-1]}")


async def kill_and_see_it_back(run: Run, name: str) -> int:
    """SIGKILL the newest ``name``; wait for the log line and its new process; the new pid."""
    old = run.pids(name)[-1]
    os.kill(old, signal.SIGKILL)
    said = re.compile(
        rf"supervisor +\| {re.escape(name)} \(pid {old}\) was killed by SIGKILL after [\d.]+ s; "
        r"restarting in [\d.]+ s"
    )
    await until(lambda: said.search(run.text()), 15, f"{name}'s death is logged")
    new = await until(lambda: run.pids(name)[-1] != old and run.pids(name)[-1], 15, f"{name} back")
    assert alive(new)
    return new


async def healthy(base: str) -> bool:
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as http:
            return (await http.get("/health/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_every_process_kind_comes_back_after_sigkill(run: Run) -> None:
    async with httpx.AsyncClient(base_url=run.base, timeout=10) as http:
        collector = await login(http, "collector1@demo.test")
        before = await open_socket(http, run.base, collector)

        # The web process: its sockets drop, it answers again, a socket opens again.
        await kill_and_see_it_back(run, "web")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(before.recv(), 10)
        await until(lambda: healthy(run.base), 60, "the web answers /health/ready again")
        admin = await login(http, "admin@demo.test")
        socket = await open_socket(http, run.base, collector)
        await socket.close()

        # The worker takes its children with it; the scheduler comes back.
        children = run.worker_children()
        assert children
        assert alive(children[-1])
        await kill_and_see_it_back(run, "worker")
        await until(lambda: not any(alive(pid) for pid in children), 10, "old workers gone")
        await kill_and_see_it_back(run, "scheduler")

        # Both relays, one after the other: the events of a payment made after still arrive.
        account = (await http.get("/api/v1/accounts", headers=admin)).json()["items"][0]
        socket = await open_socket(http, run.base, admin)
        answer = await subscribe(socket, f"account:{account['id']}")
        assert answer["op"] == "subscribed", answer
        for name in ("relay.1", "relay.2"):
            await kill_and_see_it_back(run, name)
        paid = await http.post(
            f"/api/v1/accounts/{account['id']}/payments",
            json={"amount": "1.00", "currency": account["currency"], "method": "card"},
            headers={**admin, "Idempotency-Key": f"key-{uuid.uuid4()}"},
        )
        assert paid.status_code == 201, paid.text
        received = await events(socket, 1, within=30)
        assert received[0]["type"].startswith(("payment.", "account.")), received
        await socket.close()
        # The active one was killed at least once: another took over.
        await until(lambda: run.text().count("relay active") >= 2, 10, "a relay took over")

    for name in KINDS:
        assert len(run.pids(name)) == 2, (name, run.pids(name))
    assert "Traceback" not in run.text()
    # The readable log of `make run` writes each socket's address without its ticket.
    assert '"WebSocket /ws?ticket=[redacted]" [accepted]' in run.text()
    assert TICKETS
    assert not [ticket for ticket in TICKETS if ticket in run.text()]


async def test_sigterm_stops_every_process(run: Run) -> None:
    pids = [pid for name in KINDS for pid in run.pids(name)] + run.worker_children()
    assert run.process.poll() is None
    os.kill(run.process.pid, signal.SIGTERM)
    await until(lambda: run.process.poll() is not None, 40, "the run ends")
    assert run.process.returncode == 0
    assert "every process stopped" in run.text()
    assert "restarting" not in run.text().split("stopping every process on SIGTERM", 1)[1]
    left = [pid for pid in pids if alive(pid)]
    assert not left, left
