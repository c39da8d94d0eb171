"""Shared fixtures: real PostgreSQL and Redis (embedded, or DATABASE_URL / REDIS_URL), the
migrations applied once to a fresh test database, and one tenant per test that needs one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
from litestar import Litestar

from channels.refill import HISTORY_COMPLETE
from config.settings import Settings
from domain.db import Database
from domain.schema import migrate
from server.app import create_app
from server.resources import Resources
from tests.factories import TenantFactory

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE = "recoup_test"
TEST_REDIS_DB = 15
SECRET = "test-secret-" + "x" * 40
TEST_CLIENT_IP = "127.0.0.9"


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query=f"db={db}"))
    return urlunsplit(parts._replace(path=f"/{db}"))


@pytest.fixture(scope="session")
def server_urls() -> Iterator[tuple[str, str]]:
    """Owner URL of a fresh test database and a Redis URL on its own db number."""
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    services = None
    if not database_url or not redis_url:
        from server.embedded import EmbeddedServices

        services = EmbeddedServices(ROOT / ".recoup" / "test", database=TEST_DATABASE)
        started_db, started_redis = services.start(
            need_postgres=not database_url, need_redis=not redis_url
        )
        database_url = database_url or started_db
        redis_url = redis_url or started_redis
    assert database_url
    assert redis_url
    try:
        yield _with_database(database_url, TEST_DATABASE), _with_redis_db(redis_url, TEST_REDIS_DB)
    finally:
        if services is not None:
            services.stop()


async def _fresh_database(url: str) -> None:
    admin = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database_url(server_urls: tuple[str, str]) -> str:
    url = server_urls[0]
    await _fresh_database(url)
    await migrate(url)
    return url


@pytest.fixture(scope="session")
async def redis_url(server_urls: tuple[str, str]) -> str:
    client = aioredis.Redis.from_url(server_urls[1])
    await client.flushdb()
    # Nothing to refill: the history of an empty outbox is whole.
    await client.set(HISTORY_COMPLETE, "1")
    await client.aclose()
    return server_urls[1]


@pytest.fixture(scope="session")
async def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A Redis Cluster of three primaries (``tests/redis_cluster.py``), its history whole."""
    from channels.redis_backend import RedisBackend
    from tests.redis_cluster import RedisClusterNodes, available

    missing = available()
    if missing:
        pytest.fail(missing)
    nodes = RedisClusterNodes(tmp_path_factory.mktemp("redis-cluster"))
    try:
        nodes.start()
        backend = RedisBackend(nodes.url)
        await backend.mark_complete()
        await backend.stop()
        yield nodes.url
    finally:
        nodes.stop()


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        env="test",
        imports_dir=tmp_path_factory.mktemp("imports"),
        secret_key=SECRET,
        database_url=database_url,
        redis_url=redis_url,
        login_limit_per_ip=100_000,
        login_limit_per_email=1000,
        # Every test's debtor is at 127.0.0.1: a session's worth of payment pages would
        # pass the per-address limits meant for one person (test_pay_page_limits.py has
        # its own, low ones).
        pay_checkout_limit_per_ip=100_000,
        pay_ticket_limit_per_ip=100_000,
        pay_dispute_limit_per_ip=100_000,
        log_json=True,
        log_level="WARNING",
    )


@pytest.fixture(scope="session")
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    opened = await Resources.open(settings, application_name="recoup-tests")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="session")
def db(resources: Resources) -> Database:
    return resources.db


def asgi_client(app: Litestar) -> httpx.AsyncClient:
    """An HTTP client calling the app in this event loop (the pools live in this loop)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(TEST_CLIENT_IP, 40000)),
        base_url="http://testserver",
    )


@pytest.fixture(scope="session")
async def client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(settings, resources=resources)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
async def tenants(db: Database) -> TenantFactory:
    return await TenantFactory.create(db, SECRET)


@pytest.fixture(scope="session")
async def demo(db: Database) -> None:
    """The demo tenant, as ``recoup dev`` seeds it."""
    from domain.demo import seed_demo

    await seed_demo(db)


@pytest.fixture
async def tenant(tenants: TenantFactory):  # type: ignore[no-untyped-def]
    """A fresh tenant with one user of each role and a few accounts."""
    return await tenants.new()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recoup_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a `recoup` subprocess needs to work on the test servers."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "SECRET_KEY": SECRET,
        "RECOUP_ENV": "test",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


RECOUP = [sys.executable, "-m", "server.cli"]


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[str]:
    """``recoup web`` in its own process on a free port: the real HTTP server."""
    port = _free_port()
    env = recoup_env(
        settings,
        PORT=str(port),
        HOST="127.0.0.1",
        LOGIN_LIMIT_PER_IP="100000",
        LOGIN_LIMIT_PER_EMAIL="1000",
        PAY_CHECKOUT_LIMIT_PER_IP="100000",
        PAY_TICKET_LIMIT_PER_IP="100000",
        PAY_DISPUTE_LIMIT_PER_IP="100000",
        # The webhook screen's test adds a receiver on loopback, as in development.
        WEBHOOKS_ALLOW_LOCAL="true",
    )
    # A file, not a pipe nobody reads: a chatty server would block on a full pipe.
    log_path = ROOT / ".recoup" / "test-live-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [*RECOUP, "web"],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = log_path.read_text(errors="replace")
            raise RuntimeError(f"recoup web did not start:\n{output[-3000:]}")
        time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def start_relay(settings: Settings) -> subprocess.Popen[bytes]:
    """A ``recoup relay`` on the test servers, logging to one file that all of them share
    (kept for when an event does not come)."""
    log = ROOT / ".recoup" / "test-relay.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [*RECOUP, "relay"],
            cwd=ROOT,
            env=recoup_env(settings, LOG_LEVEL="INFO"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


# Where the relays' state is read from when a test that needed them fails.
_relay_database: list[str] = []


@pytest.fixture(scope="session")
def relay(settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``recoup relay`` processes (a list, so that a test can kill one and add another)."""
    _relay_database.append(settings.database_url or "")
    processes = [start_relay(settings)]
    try:
        yield processes
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives; an address in ``refuse``
    gets that reply instead (``"550 5.1.1 no such mailbox"``)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}
        self.port = _free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        message = BytesParser(policy=email_policy.default).parsebytes(envelope.content)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def worker(
    settings: Settings, live_server: str, smtp_sink: SmtpSink
) -> Iterator[subprocess.Popen[bytes]]:
    """``recoup worker``, calling back the live server where a job does (PUBLIC_URL),
    sending e-mail to the test's SMTP server and webhooks to receivers on loopback."""
    log = (ROOT / ".recoup" / "test-worker.log").open("wb")
    process = subprocess.Popen(
        [*RECOUP, "worker"],
        cwd=ROOT,
        env=recoup_env(
            settings,
            PUBLIC_URL=live_server,
            LOG_LEVEL="INFO",
            SMTP_URL=smtp_sink.url,
            # Webhook receivers in the tests listen on loopback.
            WEBHOOKS_ALLOW_LOCAL="true",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def _relay_state(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        backlog = await conn.fetchrow(
            """SELECT count(*) AS unpublished, min(id) AS oldest_id,
              round(extract(epoch FROM now() - min(occurred_at))::numeric, 1) AS oldest_seconds
            FROM outbox WHERE published_at IS NULL"""
        )
        sessions = await conn.fetch(
            """SELECT pid, state, wait_event_type, wait_event,
              round(extract(epoch FROM now() - query_start)::numeric, 1) AS seconds,
              left(query, 160) AS query
            FROM pg_stat_activity WHERE application_name = 'recoup-relay'
              AND datname = current_database()"""
        )
    finally:
        await conn.close()
    lines = [f"outbox: {dict(backlog)}"] + [f"relay session: {dict(r)}" for r in sessions]
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """A failed test that needed the relays says what state they were in: the outbox's
    backlog, their database sessions and the last lines of their log."""
    report = yield
    if report.when == "call" and report.failed and "relay" in getattr(item, "fixturenames", ()):
        import asyncio

        try:
            state = asyncio.run(asyncio.wait_for(_relay_state(_relay_database[-1]), 10))
        except Exception as exc:  # the report says so; it never hides the test's own failure
            state = f"could not be read: {exc!r}"
        log = ROOT / ".recoup" / "test-relay.log"
        tail = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
        report.sections.append(("the relays", state + "\n" + "\n".join(tail)))
    return report
