"""A Redis Cluster of three primaries for the tests, from Debian's ``redis-server`` (7: the
sharded pub/sub the channels use on a cluster needs it; the embedded Redis is 6).

Each node runs in a directory of its own; the slots are split in three with
``CLUSTER ADDSLOTSRANGE`` and the nodes introduced with ``CLUSTER MEET``, as
``redis-cli --cluster create`` does.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.conftest import _free_port

REDIS_SERVER = "/usr/bin/redis-server"
SLOTS = 16384


def available() -> str | None:
    """Why no cluster can be started here (None: it can)."""
    if not Path(REDIS_SERVER).exists():
        return f"{REDIS_SERVER} is missing (Debian's redis-server; `make browser` installs it)"
    version = subprocess.run(
        [REDIS_SERVER, "--version"], capture_output=True, text=True, check=False
    ).stdout
    major = version.partition("v=")[2].split(".")[0]
    if not major.isdigit() or int(major) < 7:
        return f"sharded pub/sub needs Redis 7; {REDIS_SERVER} is {version.strip()}"
    return None


class RedisClusterNodes:
    def __init__(self, root: Path, *, host: str = "127.0.0.1", nodes: int = 3) -> None:
        self.root = root
        self.host = host
        # Each node's client port and its cluster bus port (by default client port + 10,000,
        # which a free port from the kernel's range may leave past 65,535).
        self.ports = [_free_port() for _ in range(nodes)]
        self.bus_ports = [_free_port() for _ in range(nodes)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        """What ``REDIS_URL`` takes: any node, as a cluster."""
        return f"redis+cluster://{self.host}:{self.ports[0]}"

    def start(self) -> None:
        for port, bus in zip(self.ports, self.bus_ports, strict=True):
            self._start_node(port, bus)
        clients = [redis.Redis(host=self.host, port=p, socket_timeout=5) for p in self.ports]
        try:
            share = SLOTS // len(self.ports)
            for i, client in enumerate(clients):
                last = SLOTS - 1 if i == len(clients) - 1 else (i + 1) * share - 1
                client.execute_command("CLUSTER ADDSLOTSRANGE", i * share, last)
            for client in clients[1:]:
                client.execute_command("CLUSTER MEET", self.host, self.ports[0], self.bus_ports[0])
            deadline = time.monotonic() + 30
            while not all(_ok(c, len(self.ports)) for c in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the cluster did not form: {self.log()[-2000:]}")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()

    def _start_node(self, port: int, bus: int) -> None:
        folder = self.root / str(port)
        folder.mkdir(parents=True, exist_ok=True)
        self.processes[port] = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(port),
                "--cluster-port", str(bus),
                "--bind", self.host,
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-announce-ip", self.host,
                "--cluster-node-timeout", "2000",
                "--save", "",
                "--appendonly", "no",
                "--protected-mode", "no",
                "--logfile", "redis.log",
                "--dir", str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        client = redis.Redis(host=self.host, port=port, socket_timeout=1)
        try:
            while True:
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on {port} did not start: {self.log()}")
                time.sleep(0.02)
        finally:
            client.close()

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-1000:] for p in self.root.glob("*/redis.log")
        )

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        self.processes.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def _ok(client: redis.Redis, nodes: int) -> bool:
    info = client.cluster("INFO")  # parsed by redis-py into a dict
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == nodes
