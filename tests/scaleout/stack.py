"""Recoup on two machines (``machines.py``): a web process, a worker and a relay on each (the
scheduler on the second), one PostgreSQL, a Redis Cluster of three primaries carrying the
channels on sharded pub/sub and the jobs' stream, and nginx in front with the configuration
of ``docs/deploy.md``.

It is the fault suite's stack (``tests/faults/stack.py``) spread out, so the fault suite's
ledger runs on it unchanged: every client, request and socket goes through nginx.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
from pathlib import Path

import asyncpg
import httpx
from aiosmtpd.smtp import SMTP

from server.embedded import EmbeddedPostgres
from server.supervise import Program
from tests.conftest import RECOUP, ROOT, SmtpSink, _free_port
from tests.faults.stack import Stack, WebhookReceiver, _alive, until
from tests.redis_cluster import RedisClusterNodes
from tests.scaleout.machines import Machines

DATABASE = "recoup_scaleout"
NGINX = "/usr/sbin/nginx"
DOC = ROOT / "docs" / "deploy.md"
WEB_PORT = 8000  # the same on every machine, as in production


def nginx_available() -> str | None:
    if not Path(NGINX).exists():
        return f"{NGINX} is missing (Debian's nginx; `make browser` installs it)"
    return None


def documented_nginx() -> str:
    """The nginx configuration of docs/deploy.md (the block naming its file)."""
    for block in re.findall(r"```nginx\n(.*?)```", DOC.read_text(), re.S):
        if block.startswith("# /etc/nginx/conf.d/recoup.conf\n"):
            return block
    raise AssertionError("docs/deploy.md has no /etc/nginx/conf.d/recoup.conf block")


def nginx_conf(root: Path, port: int, webs: list[str]) -> str:
    """The documented site with this run's web machines and port, in a whole nginx.conf
    whose files all live under ``root``."""
    site = documented_nginx()
    servers = re.findall(r"^\s*server 10\.0\.0\.\d+:8000 .*;$", site, re.M)
    assert len(servers) == 2, servers
    for line, web in zip(servers, webs, strict=True):
        site = site.replace(line, line.replace(re.search(r"10\.0\.0\.\d+:8000", line)[0], web))
    site = re.sub(r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{port};", site, flags=re.M)
    temp = root / "nginx"
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {temp}/nginx.pid;\n"
        f"error_log {temp}/error.log warn;\nevents {{ worker_connections 4096; }}\n"
        f"http {{\n  access_log off;\n"
        + "".join(f"  {kind}_temp_path {temp}/{kind};\n" for kind in _TEMP)
        + site
        + "}\n"
    )


_TEMP = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class Smtp:
    """An SMTP sink reachable on each machine's own loopback (the workers send there)."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.servers: list[asyncio.Server] = []

    async def start(self, machines: Machines) -> None:
        loop = asyncio.get_running_loop()
        for name in machines.names:
            sock = machines.listen(name, self.sink.port)
            self.servers.append(await loop.create_server(lambda: SMTP(self.sink), sock=sock))

    def close(self) -> None:
        for server in self.servers:
            server.close()


class Hooks(WebhookReceiver):
    """The fault suite's webhook receiver, on each machine's loopback (the address the
    deployment's WEBHOOKS_ALLOW_LOCAL admits)."""

    def __init__(self) -> None:
        super().__init__()
        self.port = _free_port()
        self._servers: list[asyncio.Server] = []

    async def start_on(self, machines: Machines) -> None:
        for name in machines.names:
            sock = machines.listen(name, self.port)
            self._servers.append(await asyncio.start_server(self._serve, sock=sock))

    async def close(self) -> None:
        for server in self._servers:
            server.close()


class ScaleOutStack(Stack):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.machines = Machines(2)
        self.postgres = EmbeddedPostgres(root / "postgres")
        self.cluster: RedisClusterNodes | None = None
        self.hooks = Hooks()
        self.nginx_port = _free_port()
        self.nginx: subprocess.Popen[bytes] | None = None
        self._mail: Smtp | None = None
        m1, m2 = self.machines.names
        self.placement = {
            m1: ("web.1", "worker.1", "relay.1"),
            m2: ("web.2", "worker.2", "relay.2", "scheduler"),
        }

    @property
    def m1(self) -> str:
        return self.machines.names[0]

    @property
    def m2(self) -> str:
        return self.machines.names[1]

    def url(self, web: str) -> str:
        """A web process straight, on its machine's address."""
        machine = self.m1 if web == "web.1" else self.m2
        return f"http://{self.machines.addresses[machine]}:{WEB_PORT}"

    @property
    def front(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def urls(self) -> list[str]:
        """What clients use: nginx."""
        return [self.front]

    async def start(self) -> None:
        await asyncio.to_thread(self.machines.create)
        await asyncio.to_thread(self.postgres.start)
        admin = await asyncpg.connect(self.postgres.uri("postgres"))
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
        await admin.close()
        self.database_url = self.postgres.uri(DATABASE)
        self.cluster = RedisClusterNodes(self.root / "redis-cluster", host=self.machines.host)
        await asyncio.to_thread(self.cluster.start)
        from channels.redis_backend import RedisBackend

        backend = RedisBackend(self.cluster.url)
        await backend.mark_complete()  # a new cluster: nothing to refill
        await backend.stop()
        self._mail = Smtp(self.smtp)
        await self._mail.start(self.machines)
        await self.hooks.start_on(self.machines)
        env = self.environment(
            self.cluster.url,
            HOST="0.0.0.0",
            PORT=str(WEB_PORT),
            PUBLIC_URL=self.front,
            SMTP_URL=f"smtp://127.0.0.1:{self.smtp.port}",
            FORWARDED_ALLOW_IPS=self.machines.host,  # nginx, as the web machines see it
        )
        await self.migrate(env)
        programs = [
            Program(
                name,
                self.machines.command(machine, [*RECOUP, name.split(".")[0]]),
                env,
                str(ROOT),
            )
            for machine, names in self.placement.items()
            for name in names
        ]
        await self.run_programs(programs)
        self._start_nginx()
        await until(self._front_answers, 30, "nginx in front", every=0.1)

    def _start_nginx(self) -> None:
        temp = self.root / "nginx"
        temp.mkdir(exist_ok=True)
        for kind in _TEMP:
            (temp / kind).mkdir(exist_ok=True)
        webs = [f"{self.machines.addresses[m]}:{WEB_PORT}" for m in self.machines.names]
        conf = temp / "nginx.conf"
        conf.write_text(nginx_conf(self.root, self.nginx_port, webs))
        check = subprocess.run(
            [NGINX, "-t", "-p", str(temp), "-c", str(conf)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr
        self.nginx = subprocess.Popen(
            [NGINX, "-p", str(temp), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def _front_answers(self) -> bool:
        async with httpx.AsyncClient(timeout=2) as http:
            try:
                return (await http.get(f"{self.front}/health/ready")).status_code == 200
            except httpx.TransportError:
                return False

    def nginx_log(self) -> str:
        path = self.root / "nginx" / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- losing a machine ----------------------------------------------------------------

    async def lose(self, machine: str) -> None:
        """Every process of ``machine`` killed at once, then its cable pulled: what the
        supervisor starts again there can reach nothing until ``restore``. (The killed
        processes' connections close before the cable goes: a machine that vanishes with
        its connections open is noticed by the sockets' pings instead, 20 to 40 s.)"""
        pids = self.machines.pids(machine)
        self.machines.kill_all(machine)
        await until(lambda: not any(_alive(p) for p in pids), 10, f"{machine}'s processes gone")
        self.machines.cut(machine)

    def restore(self, machine: str) -> None:
        self.machines.plug(machine)

    async def stop(self) -> None:
        if self.nginx is not None:
            self.nginx.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.nginx.wait(10)
        await self.stop_programs()
        await self.hooks.close()
        if self._mail is not None:
            self._mail.close()
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.stop)
        with contextlib.suppress(subprocess.CalledProcessError):
            await asyncio.to_thread(self._pg_ctl, "-m", "fast", "stop")
        await asyncio.to_thread(self.machines.destroy)
