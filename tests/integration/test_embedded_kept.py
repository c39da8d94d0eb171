"""`make run`'s embedded PostgreSQL and Redis, killed with SIGKILL, are started again by the
supervisor with their data, and say so; servers the run did not start are left alone."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator

import asyncpg
import pytest
import redis.asyncio as aioredis

from server.embedded import EmbeddedServices
from server.supervise import Supervisor
from tests.faults.stack import stack_root

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def services() -> Iterator[EmbeddedServices]:
    root = stack_root("recoup-kept-")
    services = EmbeddedServices(root / "data")
    try:
        yield services
    finally:
        services.stop()
        shutil.rmtree(root, ignore_errors=True)


async def until(condition, within: float = 60, out: io.StringIO | None = None):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (value := condition()):
        if loop.time() > deadline:
            raise AssertionError(f"not in time:\n{out.getvalue() if out else ''}")
        await asyncio.sleep(0.05)
    return value


def ended_and_back(out: io.StringIO, name: str, pid: int) -> int | None:
    """The new pid once the supervisor said ``name`` (``pid``) ended and started it again."""
    text = out.getvalue()
    said = re.search(
        rf"supervisor +\| embedded {name} \(pid {pid}\) ended after [\d.]+ s; "
        r"restarting in 0\.1 s\n(?:.*\n)*?.*supervisor +\| started embedded "
        rf"{name} \(pid (\d+)\)",
        text,
    )
    return int(said.group(1)) if said else None


async def test_killed_embedded_servers_come_back_with_their_data(
    services: EmbeddedServices,
) -> None:
    database_url, redis_url = services.start()
    assert database_url
    assert redis_url
    postgres_url = services.postgres.uri("postgres")
    db = await asyncpg.connect(postgres_url)
    await db.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
    await db.close()
    redis = aioredis.Redis.from_url(redis_url)
    await redis.set("kept", "yes")
    await redis.aclose()

    out = io.StringIO()
    supervisor = Supervisor([], servers=services.kept(), backoff=0.1, out=out)
    assert [s.name for s in supervisor.servers] == ["embedded postgres", "embedded redis"]
    running = asyncio.create_task(supervisor.run(handle_signals=False))
    await until(lambda: out.getvalue().count("keeping embedded") == 2, out=out)
    try:
        for name, server in (("redis", services.redis), ("postgres", services.postgres)):
            old = server.pid()
            assert old is not None
            os.kill(old, signal.SIGKILL)
            new = await until(lambda n=name, o=old: ended_and_back(out, n, o), out=out)
            assert new != old, out.getvalue()
            assert server.pid() == new

        db = await asyncpg.connect(postgres_url)
        assert await db.fetchval("SELECT n FROM kept") == 42
        await db.close()
        redis = aioredis.Redis.from_url(redis_url)
        assert await redis.get("kept") == b"yes"
        await redis.aclose()
    finally:
        supervisor.stop()
        await asyncio.wait_for(running, 30)
    # Stopping the set leaves the servers to whoever started them.
    assert services.postgres.running()
    assert services.redis.running()
    assert "could not start" not in out.getvalue()


async def test_servers_the_run_did_not_start_are_not_kept(services: EmbeddedServices) -> None:
    services.start()
    again = EmbeddedServices(services.data_dir)
    again.start()  # attaches to the running servers
    assert again.kept() == []
    assert [s.name for s in services.kept()] == ["embedded postgres", "embedded redis"]


async def test_a_server_that_cannot_start_is_tried_again_with_backoff() -> None:
    from server.supervise import Server

    attempts: list[float] = []

    def start() -> None:
        attempts.append(time.monotonic())
        raise RuntimeError("the data directory is not writable\nmore detail")

    out = io.StringIO()
    supervisor = Supervisor(
        [], servers=[Server("embedded redis", lambda: None, start)], backoff=0.05, out=out
    )
    running = asyncio.create_task(supervisor.run(handle_signals=False))
    await until(lambda: len(attempts) >= 4, within=20)
    supervisor.stop()
    await asyncio.wait_for(running, 15)
    assert "embedded redis is not running; starting it in 0.05 s" in out.getvalue()
    said = re.findall(r"could not start embedded redis: (.*)", out.getvalue())
    assert said[:3] == ["the data directory is not writable"] * 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert [round(gap, 2) >= least for gap, least in zip(gaps, (0.1, 0.2, 0.4), strict=False)] == [
        True
    ] * 3, gaps  # doubling
