"""A reconnect storm: N sockets dropped at once, each coming back as a browser tab does.

Two `recoup web` processes and a relay on one core, the load generator on the other: the
demo tenant's admin signs in once; every socket takes a one-time ticket through the real
route (`POST /api/v1/realtime/ticket`, with its session check), opens `/ws` on one of the
two web processes and subscribes to an account's channel (50 accounts, each with a note
in its history). Then every socket's connection is cut at the same moment (the network
under the sockets gone), and each reconnects at once: a new ticket, a new socket on either
process, the subscription again with `since`. Measured: the time until every socket has
been answered `recovered: true`, the CPU the web processes and the generator spent on it,
and the web processes' memory before the sockets, with them, and after the storm. Then a
note on every account must reach every socket (live delivery after the resume).

    .venv/bin/python bench/reconnect.py [--sockets 10000] [--processes 2]

The generator is lean (raw HTTP/1.1 for the tickets, `bench/wsclient.py` for the sockets),
so that the figure is the servers' rather than the client library's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fanout import (  # noqa: E402
    LOAD_CPU,
    SERVER_CPU,
    cpu_seconds,
    rss_bytes,
    start,
    stop_processes,
    wait_http,
)
from wsclient import open_client  # noqa: E402

ACCOUNTS = 50
IN_FLIGHT = 200  # reconnects under way at once per generator process


async def post_ticket(host: str, port: int, token: str) -> str:
    """A ticket through the route, on a connection of its own (as a tab's fetch may)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            (
                f"POST /api/v1/realtime/ticket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: Bearer {token}\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
        )
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    return json.loads(body)["ticket"]


class Tab:
    """One socket: its channel, its last position, what it was answered."""

    __slots__ = ("channel", "client", "events", "pos", "recovered", "subscribed")

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.client: Any = None
        self.pos: str | None = None
        self.subscribed: asyncio.Future[bool] | None = None
        self.recovered: bool | None = None
        self.events = 0

    def on_text(self, payload: bytes) -> None:
        frame = json.loads(payload)
        op = frame.get("op")
        if op == "event":
            self.events += 1
            self.pos = frame["pos"]
        elif op == "subscribed":
            self.pos = frame["pos"]
            self.recovered = frame["recovered"]
            if self.subscribed is not None and not self.subscribed.done():
                self.subscribed.set_result(frame["recovered"])
        elif op == "error" and self.subscribed is not None and not self.subscribed.done():
            self.subscribed.set_exception(RuntimeError(payload.decode()))


def generator(conn: Any, ports: list[int], token: str, channels: list[str]) -> None:
    import resource

    import uvloop

    os.sched_setaffinity(0, {LOAD_CPU})
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.install()
    asyncio.run(_generate(conn, ports, token, channels))


async def _generate(conn: Any, ports: list[int], token: str, channels: list[str]) -> None:
    tabs = [Tab(c) for c in channels]
    gate = asyncio.Semaphore(IN_FLIGHT)
    loop = asyncio.get_running_loop()
    failures: list[str] = []

    async def open_tab(n: int, tab: Tab) -> None:
        port = ports[n % len(ports)]
        for attempt in range(20):
            try:
                async with gate:
                    ticket = await post_ticket("127.0.0.1", port, token)
                    tab.client = await open_client(
                        "127.0.0.1", port, f"/ws?ticket={ticket}", tab.on_text
                    )
                    tab.subscribed = loop.create_future()
                    frame = {"op": "subscribe", "channel": tab.channel}
                    if tab.pos is not None:
                        frame["since"] = tab.pos
                    tab.client.send_text(json.dumps(frame))
                    await asyncio.wait_for(tab.subscribed, 60)
                return
            except Exception as exc:  # refused, timed out: as a tab, try again shortly
                if attempt == 19:
                    failures.append(f"{type(exc).__name__}: {exc}"[:200])
                port = ports[(n + attempt + 1) % len(ports)]
                await asyncio.sleep(0.2)

    await asyncio.gather(*(open_tab(n, t) for n, t in enumerate(tabs)))
    conn.send(("ready", len(tabs), failures[:3]))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "drop":
            started = time.perf_counter()
            cpu = time.process_time()
            for tab in tabs:
                if tab.client is not None and tab.client.transport is not None:
                    tab.client.transport.abort()
                tab.recovered = None
            await asyncio.gather(*(open_tab(n + 1, t) for n, t in enumerate(tabs)))
            conn.send(
                {
                    "seconds": time.perf_counter() - started,
                    "cpu": time.process_time() - cpu,
                    "recovered": sum(1 for t in tabs if t.recovered),
                    "not_recovered": sum(1 for t in tabs if t.recovered is False),
                    "failures": failures[:3],
                }
            )
        elif command == "events":
            conn.send([t.events for t in tabs])
        elif command == "stop":
            for tab in tabs:
                if tab.client is not None and tab.client.transport is not None:
                    tab.client.transport.close()
            conn.send("bye")
            return


async def sign_in(port: int) -> str:
    import httpx

    from domain.demo import DEMO_PASSWORD

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        answer = await http.post(
            "/api/v1/auth/login", json={"email": "admin@demo.test", "password": DEMO_PASSWORD}
        )
        answer.raise_for_status()
        return answer.json()["access_token"]


async def notes(port: int, token: str, accounts: list[int], text: str) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for account in accounts:
            answer = await http.post(
                f"/api/v1/accounts/{account}/interactions",
                json={"channel": "note", "notes": text},
                headers=headers,
            )
            answer.raise_for_status()


async def demo_accounts(database_url: str) -> list[int]:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT a.id FROM accounts a JOIN tenants t ON t.id = a.tenant_id "
            "WHERE t.slug = 'demo' ORDER BY a.id LIMIT $1",
            ACCOUNTS,
        )
    finally:
        await conn.close()
    return [r["id"] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    args = parser.parse_args()
    os.sched_setaffinity(0, {LOAD_CPU})

    from server.embedded import EmbeddedServices

    services = EmbeddedServices(ROOT / ".recoup" / "bench", database="recoup_bench")
    database_url, redis_url = services.start()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",
        "LOGIN_LIMIT_PER_IP": "1000000",
        "WS_SOCKETS_PER_IDENTITY": "1000000",  # every socket here is the demo admin's
    }
    recoup = [sys.executable, "-m", "server.cli"]
    subprocess.run([*recoup, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    ports = [18810, 18811]
    processes = []
    try:
        webs = [
            start([*recoup, "web"], {**env, "PORT": str(p)}, SERVER_CPU, f"web-{p}") for p in ports
        ]
        processes += webs
        processes.append(start([*recoup, "relay"], env, SERVER_CPU, "relay"))
        for port, web in zip(ports, webs, strict=True):
            wait_http(f"http://127.0.0.1:{port}/health/ready", web)
        token = asyncio.run(sign_in(ports[0]))
        accounts = asyncio.run(demo_accounts(database_url))
        asyncio.run(notes(ports[0], token, accounts, "before the storm"))
        time.sleep(1)  # the relay publishes them
        pids = [w.pid for w in webs]
        rss0 = sum(rss_bytes(p) for p in pids)
        channels = [f"account:{accounts[n % len(accounts)]}" for n in range(args.sockets)]
        ctx = mp.get_context("fork")
        pipes, procs = [], []
        for k in range(args.processes):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=generator,
                args=(theirs, ports, token, channels[k :: args.processes]),
                daemon=True,
            )
            proc.start()
            pipes.append(mine)
            procs.append(proc)
        for pipe in pipes:
            if not pipe.poll(600):
                raise RuntimeError("the generator did not get its sockets open")
            _, _, failures = pipe.recv()
            if failures:
                raise RuntimeError(f"sockets that did not open: {failures}")
        time.sleep(2)
        rss1 = sum(rss_bytes(p) for p in pids)
        cpu0 = sum(cpu_seconds(p) for p in pids)
        for pipe in pipes:
            pipe.send("drop")
        reports = [pipe.recv() for pipe in pipes]
        web_cpu = sum(cpu_seconds(p) for p in pids) - cpu0
        seconds = max(r["seconds"] for r in reports)
        recovered = sum(r["recovered"] for r in reports)
        time.sleep(5)
        rss2 = sum(rss_bytes(p) for p in pids)
        before = [e for pipe in pipes for e in _ask(pipe, "events")]
        asyncio.run(notes(ports[1], token, accounts, "after the storm"))
        deadline = time.monotonic() + 60
        while True:
            after = [e for pipe in pipes for e in _ask(pipe, "events")]
            heard = sum(1 for a, b in zip(after, before, strict=True) if a > b)
            if heard == args.sockets or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        for pipe in pipes:
            _ask(pipe, "stop")
        print(
            json.dumps(
                {
                    "sockets": args.sockets,
                    "resumed_recovered": recovered,
                    "not_recovered": sum(r["not_recovered"] for r in reports),
                    "failures": [f for r in reports for f in r["failures"]],
                    "all_resumed_in_s": round(seconds, 2),
                    "web_cpu_s": round(web_cpu, 2),
                    "web_cpu_ms_per_socket": round(1000 * web_cpu / args.sockets, 2),
                    "generator_cpu_s": round(sum(r["cpu"] for r in reports), 2),
                    "web_rss_mb": {
                        "before_sockets": round(rss0 / 2**20, 1),
                        "with_sockets": round(rss1 / 2**20, 1),
                        "after_storm": round(rss2 / 2**20, 1),
                    },
                    "heard_a_note_after_the_storm": heard,
                },
                indent=2,
            )
        )
    finally:
        stop_processes(processes)
        services.stop()


def _ask(pipe: Any, command: str) -> Any:
    pipe.send(command)
    return pipe.recv()


if __name__ == "__main__":
    main()
