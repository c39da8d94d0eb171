"""Machines on this host for the scale-out tests: each a network namespace with an address
of its own on a bridge, as two servers on one network (iproute2; root).

The host keeps the bridge's address: the shared servers (PostgreSQL's Unix socket is a
file, which every namespace sees; the Redis Cluster; nginx) live there. A machine is lost
by killing every process in its namespace and taking its link down; it comes back when the
link does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
from collections.abc import Iterator

_CLONE_NEWNET = 0x40000000


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _free_subnet() -> int:
    """The first 10.213.N.0/24 that no interface of this host has an address in."""
    taken = _ip("-o", "-4", "addr", "show", check=False).stdout
    for n in range(100, 250):
        if f" 10.213.{n}." not in taken:
            return n
    raise RuntimeError("no free 10.213.N.0/24 subnet left for the test machines")


def available() -> str | None:
    """Why no machines can be made here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    try:
        _ip("netns", "list")
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"iproute2's `ip netns` is not usable: {exc}"
    return None


class Machines:
    def __init__(self, count: int = 2) -> None:
        # Names and a subnet of this run's own (two runs on one host keep apart, and a
        # run killed before its end leaves no subnet that a later one would reuse).
        tag = os.getpid() % 10_000
        self.subnet = _free_subnet()
        self.bridge = f"rcb{tag}"
        self.host = f"10.213.{self.subnet}.1"
        self.names = [f"recoup-{tag}-m{n + 1}" for n in range(count)]
        self.addresses = {
            name: f"10.213.{self.subnet}.{11 + n}" for n, name in enumerate(self.names)
        }
        self._links = {name: f"rcv{tag}m{n + 1}" for n, name in enumerate(self.names)}

    def create(self) -> None:
        self.destroy()  # what a run killed before its end left behind
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.host}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for name in self.names:
            link = self._links[name]
            _ip("netns", "add", name)
            _ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("link", "set", link, "master", self.bridge)
            _ip("link", "set", link, "up")
            _ip("-n", name, "addr", "add", f"{self.addresses[name]}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")

    def destroy(self) -> None:
        for name in self.names:
            self.kill_all(name)
            _ip("netns", "del", name, check=False)
        _ip("link", "del", self.bridge, check=False)

    def command(self, name: str, argv: list[str]) -> list[str]:
        """``argv`` run on machine ``name``."""
        return ["ip", "netns", "exec", name, *argv]

    def pids(self, name: str) -> list[int]:
        done = _ip("netns", "pids", name, check=False)
        return [int(p) for p in done.stdout.split()] if done.returncode == 0 else []

    def kill_all(self, name: str) -> None:
        for pid in self.pids(name):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def cut(self, name: str) -> None:
        """The machine's network cable pulled (its end of the link, on the host)."""
        _ip("link", "set", self._links[name], "down")

    def plug(self, name: str) -> None:
        _ip("link", "set", self._links[name], "up")

    @contextlib.contextmanager
    def inside(self, name: str) -> Iterator[None]:
        """This thread in machine ``name``'s network while the block runs (sockets made
        then stay there): for test servers a machine reaches on its own loopback."""
        libc = ctypes.CDLL(None, use_errno=True)
        with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{name}") as there:
            if libc.setns(there.fileno(), _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {name}")
            try:
                yield
            finally:
                if libc.setns(home.fileno(), _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back home")

    def listen(self, name: str, port: int) -> socket.socket:
        """A listening TCP socket on 127.0.0.1:``port`` of machine ``name``."""
        with self.inside(name):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(128)
            sock.setblocking(False)
        return sock
