"""Real `recoup worker` processes on a stream of jobs of their own (JOBS_QUEUE).

- A worker killed (SIGKILL) in the middle of a job: another worker runs it again within
  30 seconds, once, although no other job is sent (the reclaim runs on a timer).
- Redis goes away under a worker: the worker waits without a traceback or an exit, says so
  in one line, says in one more that Redis is back, and runs jobs again.

The job is the sandbox provider's webhook call (``payments.deliver_sandbox_webhook``),
pointed at a receiver here that holds the first call open: the job blocks on it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from config.settings import Settings
from tasks.broker import make_broker
from tasks.payments import deliver_sandbox_webhook
from tasks.webhooks import RETRY_SECONDS
from tests.conftest import RECOUP, ROOT
from tests.job_processes import JobProcesses
from tests.proxy import redis_proxy


class Receiver:
    """An HTTP server that records each request's body; it leaves the first ``hold``
    requests without an answer (the job that sent them blocks), and answers 200 after."""

    def __init__(self, hold: int = 0) -> None:
        self.hold = hold
        self.bodies: list[tuple[float, bytes]] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.bodies.append((time.monotonic(), body))
                if len(self.bodies) <= self.hold:
                    await asyncio.sleep(3600)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.transport.abort()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def workers_for(settings: Settings, receiver: Receiver, **env: str) -> JobProcesses:
    return JobProcesses(
        settings,
        "job-reclaim",
        PUBLIC_URL=f"http://127.0.0.1:{receiver.port}",
        LOG_LEVEL="INFO",
        LOG_JSON="true",
        WORKER_PROCESSES="1",
        **env,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    held = Receiver(hold=1)
    await held.start()
    yield held
    await held.stop()


async def kick(redis_url: str, queue: str, body: str) -> None:
    broker = make_broker(redis_url, queue)
    await broker.startup()
    try:
        await deliver_sandbox_webhook.kicker().with_broker(broker).kiq(body)
    finally:
        await broker.shutdown()


async def until(condition, within: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(0.1)


async def test_a_killed_workers_job_runs_again_within_30_seconds_once(
    settings: Settings, receiver: Receiver
) -> None:
    workers = workers_for(settings, receiver)
    try:
        first = workers.start()
        body = json.dumps({"id": f"evt_{uuid.uuid4().hex}", "type": "test.blocking"})
        await kick(settings.redis_url or "", workers.queue, body)
        await until(lambda: len(receiver.bodies) == 1, 30, "the job started")
        workers.kill(first)  # in the middle of the job: it is never acknowledged
        killed_at = time.monotonic()
        workers.start()
        await until(lambda: len(receiver.bodies) == 2, 30, "the job ran again")
        assert receiver.bodies[1][1] == body.encode()
        assert receiver.bodies[1][0] - killed_at < 30
        await asyncio.sleep(8)  # past another claim or two: it ran once, and was done
        assert len(receiver.bodies) == 2
    finally:
        workers.stop()
    text = workers.log_path.read_text(errors="replace")
    assert "Traceback" not in text
    assert "job reclaimed from a dead worker" in text


async def test_a_worker_waits_quietly_while_redis_is_away(settings: Settings) -> None:
    receiver = Receiver()
    await receiver.start()
    proxy, redis_url = redis_proxy(settings.redis_url or "")
    await proxy.start()
    workers = workers_for(settings, receiver, REDIS_URL=redis_url)
    try:
        worker = workers.start()
        await until(
            lambda: (
                any("Listening started" in str(line.get("event")) for line in workers.lines())
                or len(workers.lines()) > 3
            ),
            30,
            "the worker started",
        )
        await asyncio.sleep(2)
        await proxy.cut()
        await asyncio.sleep(10)  # five times the crash loop's period, before
        assert worker.poll() is None, "the worker exited"
        await proxy.restore()
        await until(
            lambda: any(
                line.get("event") == "jobs: Redis available again" for line in workers.lines()
            ),
            15,
            "the worker said Redis is back",
        )
        await kick(settings.redis_url or "", workers.queue, json.dumps({"id": "evt_after"}))
        await until(lambda: len(receiver.bodies) == 1, 15, "a job ran after the outage")
        assert worker.poll() is None
    finally:
        workers.stop()
        await proxy.cut()
        await receiver.stop()
    lines = workers.lines()
    text = workers.log_path.read_text(errors="replace")
    assert "Traceback" not in text
    events = [line.get("event") for line in lines]
    assert events.count("jobs: Redis unavailable; waiting for it") == 1, text[-3000:]
    assert events.count("jobs: Redis available again") == 1


async def test_the_scheduler_waits_quietly_while_redis_is_away(settings: Settings) -> None:
    receiver = Receiver()  # not called: the scheduler only kicks
    await receiver.start()
    proxy, redis_url = redis_proxy(settings.redis_url or "")
    await proxy.start()
    workers = workers_for(settings, receiver, REDIS_URL=redis_url)
    scheduler = subprocess.Popen(
        [*RECOUP, "scheduler"],
        cwd=ROOT,
        env=workers.env,
        stdout=workers.log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    workers.running.append(scheduler)
    try:
        await until(
            lambda: any(line.get("event") == "Startup completed." for line in workers.lines()),
            30,
            "the scheduler started",
        )
        await proxy.cut()
        await asyncio.sleep(3 * RETRY_SECONDS + 1)  # ticks of webhooks.retry, kicked meanwhile
        assert scheduler.poll() is None, "the scheduler exited"
        await proxy.restore()
        await until(
            lambda: any(
                line.get("event") == "jobs: Redis available again" for line in workers.lines()
            ),
            3 * RETRY_SECONDS + 5,
            "the scheduler said Redis is back",
        )
    finally:
        workers.stop()
        await proxy.cut()
        await receiver.stop()
    text = workers.log_path.read_text(errors="replace")
    assert "Traceback" not in text
    events = [line.get("event") for line in workers.lines()]
    assert events.count("jobs: Redis unavailable; waiting for it") == 1, text[-3000:]
    [back] = [
        line for line in workers.lines() if line.get("event") == "jobs: Redis available again"
    ]
    assert back["kicks_dropped"] >= 1


@pytest.fixture(params=["redis", "cluster"])
def any_redis_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")


async def test_a_jobs_stream_that_is_not_a_stream_is_said_at_start(any_redis_url: str) -> None:
    """Its consumer group already there is fine (a second start); a key of another type
    under the stream's name is an error at start, not a worker fetching nothing forever."""
    import redis.asyncio as aioredis
    from redis.exceptions import ResponseError

    from channels.redis_layout import connect_redis

    url = any_redis_url
    queue = f"recoup:jobs-test-{uuid.uuid4().hex}"
    for _ in range(2):  # the group made, then found there
        broker = make_broker(url, queue)
        await broker.startup()
        await broker.shutdown()
    client: aioredis.Redis = connect_redis(url)  # type: ignore[assignment]
    try:
        await client.set(f"{queue}-string", "not a stream")
        broker = make_broker(url, f"{queue}-string")
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await broker.startup()
        await broker.shutdown()
        await client.delete(queue, f"{queue}-string")
    finally:
        await client.aclose()
