"""A private Recoup for the fault scenarios: its own PostgreSQL cluster (the embedded one,
in a directory of its own, so that stopping it disturbs no other test), its own Redis, and
two web, two worker and two relay processes and the scheduler, kept running by the
supervisor of ``recoup dev`` (server/supervise.py), which starts again whatever is killed.

The second web process reaches Redis through a proxy the test can stall (a partition), the
workers send e-mail to an SMTP sink and webhooks to a receiver here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
from aiosmtpd.controller import Controller

from domain.db import Database
from server.embedded import EmbeddedPostgres, EmbeddedRedis
from server.supervise import Program, Supervisor
from tests.conftest import RECOUP, ROOT, SECRET, SmtpSink, _free_port
from tests.factories import SeededTenant, TenantFactory

DATABASE = "recoup_faults"
WEBS = ("web.1", "web.2")
PROGRAMS = (*WEBS, "worker.1", "worker.2", "relay.1", "relay.2", "scheduler")


async def until(condition, within: float, what: str, every: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``condition`` (a function, sync or async) until it returns something true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {within:g} s")
        await asyncio.sleep(every)


class StallingProxy:
    """TCP in front of a Unix socket; ``stall`` stops moving bytes both ways (connections
    stay open and new ones are accepted, as behind a partition that drops packets) until
    ``heal``."""

    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.port = _free_port()
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    def stall(self) -> None:
        self.flowing.clear()

    def heal(self) -> None:
        self.flowing.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._links):
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self.flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._links -= {writer, up_writer}
            for w in (writer, up_writer):
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


class WebhookReceiver:
    """An HTTP server that answers 200 to every request and counts each ``webhook-id``."""

    def __init__(self) -> None:
        self.ids: Counter[str] = Counter()
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                headers = {}
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                if "webhook-id" in headers:
                    self.ids[headers["webhook-id"]] += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            writer.transport.abort()


class Stack:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = EmbeddedPostgres(root / "postgres")
        self.redis = EmbeddedRedis(root / "redis")
        self.smtp = SmtpSink()
        self.hooks = WebhookReceiver()
        self.ports = {name: _free_port() for name in WEBS}
        self.log_path = root / "processes.log"
        self.database_url = ""
        self.proxy: StallingProxy | None = None
        self.supervisor: Supervisor | None = None
        self.db: Database | None = None
        self.tenants: TenantFactory | None = None
        self._run: asyncio.Task[None] | None = None
        self._smtp: Controller | None = None

    def url(self, web: str) -> str:
        return f"http://127.0.0.1:{self.ports[web]}"

    @property
    def urls(self) -> list[str]:
        return [self.url(web) for web in WEBS]

    async def start(self) -> None:
        await asyncio.to_thread(self.postgres.start)
        admin = await asyncpg.connect(self.postgres.uri("postgres"))
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
        await admin.close()
        self.database_url = self.postgres.uri(DATABASE)
        redis_url = await asyncio.to_thread(self.redis.start)
        self.proxy = StallingProxy(str(self.redis.socket_path))
        await self.proxy.start()
        self._smtp = Controller(self.smtp, hostname="127.0.0.1", port=self.smtp.port)
        self._smtp.start()
        await self.hooks.start()
        env = self.environment(
            redis_url, HOST="127.0.0.1", PUBLIC_URL=self.url("web.1"), SMTP_URL=self.smtp.url
        )
        await self.migrate(env)
        own = {
            "web.1": {"PORT": str(self.ports["web.1"])},
            # The partition scenario stalls this one's way to Redis.
            "web.2": {
                "PORT": str(self.ports["web.2"]),
                "REDIS_URL": f"redis://127.0.0.1:{self.proxy.port}/0",
            },
        }
        programs = [
            Program(name, [*RECOUP, name.split(".")[0]], {**env, **own.get(name, {})}, str(ROOT))
            for name in PROGRAMS
        ]
        await self.run_programs(programs)

    def environment(self, redis_url: str, **own: str) -> dict[str, str]:
        """What every program of the stack runs with, and ``own``."""
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": SECRET,
            "RECOUP_ENV": "test",
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "true",
            "PYTHONUNBUFFERED": "1",
            "WEBHOOKS_ALLOW_LOCAL": "true",
            "WORKER_PROCESSES": "1",
            "LOGIN_LIMIT_PER_IP": "100000",
            # The dropped sockets of a scenario are a few users' thousands.
            "WS_SOCKETS_PER_IDENTITY": "1000000",
            **own,
        }

    async def migrate(self, env: dict[str, str]) -> None:
        # Piccolo binds its tables to the first database a process migrates: a process.
        await asyncio.to_thread(
            subprocess.run,
            [*RECOUP, "migrate"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )

    async def run_programs(self, programs: list[Program]) -> None:
        """Start ``programs`` under the supervisor; return once both web processes answer."""
        self.supervisor = Supervisor(
            programs, backoff=0.2, backoff_max=1.0, out=self.log_path.open("a")
        )
        self._run = asyncio.create_task(self.supervisor.run(handle_signals=False))
        self.db = await Database(self.database_url, min_size=1, max_size=4).open()
        self.tenants = await TenantFactory.create(self.db, SECRET)
        for web in WEBS:
            await self.ready(web, within=90)

    async def ready(self, web: str, within: float = 60) -> None:
        async def answers() -> bool:
            async with httpx.AsyncClient(timeout=2) as http:
                try:
                    response = await http.get(f"{self.url(web)}/health/ready")
                except httpx.TransportError:
                    return False
                return response.status_code == 200

        await until(answers, within, f"{web} ready", every=0.1)

    async def tenant(self, accounts: int) -> SeededTenant:
        assert self.tenants is not None
        made = await self.tenants.new()
        for _ in range(accounts - len(made.accounts)):
            await made.account()
        return made

    # -- faults --------------------------------------------------------------------------

    def pid(self, name: str) -> int | None:
        assert self.supervisor is not None
        return self.supervisor.pid(name)

    async def kill(self, name: str) -> None:
        """SIGKILL the program's whole group (a worker's children too); return once the
        supervisor has started it again."""
        old = await until(lambda: self.pid(name), 30, f"{name} running")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(old, signal.SIGKILL)
        await until(lambda: self.pid(name) not in (None, old), 30, f"{name} restarted")
        if name in WEBS:
            await self.ready(name)

    async def kill_redis(self, *, keep_data: bool) -> None:
        pid = int(self.redis.pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
        await until(lambda: not _alive(pid), 10, "redis gone")
        if not keep_data:
            for entry in self.redis.dir.iterdir():
                if entry.name != "redis.log":
                    if entry.is_dir():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
        self.redis.started_here = False

    async def start_redis(self) -> None:
        await asyncio.to_thread(self.redis.start)

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl = Path(__import__("pgserver").__file__).parent / "pginstall" / "bin" / "pg_ctl"
        subprocess.run(
            [str(pg_ctl), "-D", str(self.postgres.pgdata), "-w", *args],
            check=True,
            capture_output=True,
            user="pgserver" if os.geteuid() == 0 else None,  # as pgserver runs it
            timeout=60,
        )

    async def stop_postgres(self, mode: str) -> None:
        await asyncio.to_thread(self._pg_ctl, "-m", mode, "stop")

    async def start_postgres(self) -> None:
        # As pgserver starts it (pgserver itself keeps its first server object per process,
        # so it cannot start the same one again): on the Unix socket in the data directory.
        pgdata = str(self.postgres.pgdata)
        start = ("-o", '-h ""', "-o", f"-k {pgdata}", "-l", f"{pgdata}/log", "start")
        await asyncio.to_thread(self._pg_ctl, *start)

    # -- the end -------------------------------------------------------------------------

    def processes_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop_programs(self) -> None:
        """Stop the supervised programs and close the test's own pool."""
        if self.supervisor is not None and self._run is not None:
            self.supervisor.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._run, 60)
        if self.db is not None:
            with contextlib.suppress(Exception):
                await self.db.close()

    async def stop(self) -> None:
        await self.stop_programs()
        if self.proxy is not None:
            await self.proxy.close()
        await self.hooks.close()
        if self._smtp is not None:
            self._smtp.stop()
        self.redis.started_here = True
        await asyncio.to_thread(self.redis.stop)
        with contextlib.suppress(subprocess.CalledProcessError):
            await asyncio.to_thread(self._pg_ctl, "-m", "fast", "stop")


def stack_root(prefix: str) -> Path:
    """A directory for a private stack: under /tmp, readable on the way down (as root,
    pgserver runs PostgreSQL as its own user). pgserver's lock files go to the process's
    runtime directory, which the first embedded PostgreSQL of the process sets: the one the
    other tests' servers use, not this stack's (removed after it)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)
    runtime = ROOT / ".recoup" / "test" / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    return root


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (the daemon's parent is gone, so init reaps it soon) counts as gone.
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return False


def elapsed(since: float) -> float:
    return time.monotonic() - since
