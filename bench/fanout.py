"""Real-time fan-out: memory per socket, CPU per delivery, deliveries per second and latency.

Runs Recoup's web process (and, for comparison, the plain Litestar forwarder in
bench/plain_forwarder.py) pinned to one core; the load generator, Redis, PostgreSQL and
the relay share the other. The load generator is several processes of a minimal raw-frame
client (bench/wsclient.py). Prints one JSON document.

Scenarios:
- idle: N sockets connected and subscribed, nothing sent: server RSS per socket.
- fanout-direct: S sockets on one channel, events published straight into Redis (the same
  frames for both servers): server CPU per delivery and deliveries/s, ours against plain.
- fanout-domain: S sockets on `wallboard`, events written through the domain (outbox ->
  relay -> Redis -> socket): commit-to-socket latency.
- targeted: T sockets on T `account:{id}` channels, events through the domain at a fixed
  rate spread over them: commit-to-socket latency.

    .venv/bin/python bench/fanout.py                # everything, defaults from the issue
    .venv/bin/python bench/fanout.py --quick        # smaller, for a smoke run
    .venv/bin/python bench/fanout.py --idle-only    # memory per idle socket only (a minute)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from wsclient import open_client  # noqa: E402

SERVER_CPU, LOAD_CPU = 1, 0


# -- measurements of a process --------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


# -- the load generator: one process of many sockets ---------------------------------------


def generator(
    conn: Any, host: str, port: int, paths: list[str], subscriptions: list[str | None]
) -> None:
    """Open the sockets, subscribe, report ready; then count frames until told to stop."""
    import uvloop

    os.sched_setaffinity(0, {LOAD_CPU})
    uvloop.install()
    asyncio.run(_generate(conn, host, port, paths, subscriptions))


async def _generate(
    conn: Any, host: str, port: int, paths: list[str], subscriptions: list[str | None]
) -> None:
    import msgspec

    decode = msgspec.json.decode
    counts = [0] * len(paths)
    latencies: list[float] = []
    subscribed = asyncio.Event()
    pending = sum(1 for s in subscriptions if s)
    errors: list[str] = []

    def handler(index: int):  # type: ignore[no-untyped-def]
        def on_text(payload: bytes) -> None:
            nonlocal pending
            if payload.startswith(b'{"op":"event"'):
                counts[index] += 1
                latencies.append(time.time() - decode(payload)["data"]["sent"])
            elif payload.startswith(b'{"op":"subscribed"'):
                pending -= 1
                if pending == 0:
                    subscribed.set()
            elif payload.startswith(b'{"op":"error"'):
                errors.append(payload.decode())

        return on_text

    clients = []
    gate = asyncio.Semaphore(100)

    async def connect(index: int) -> None:
        async with gate:
            client = await open_client(host, port, paths[index], handler(index))
            if subscriptions[index]:
                client.send_text(json.dumps({"op": "subscribe", "channel": subscriptions[index]}))
            clients.append(client)

    await asyncio.gather(*(connect(i) for i in range(len(paths))))
    if pending:
        await asyncio.wait_for(subscribed.wait(), 120)
    loop = asyncio.get_running_loop()
    conn.send(("ready", len(clients), errors[:3]))
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "reset":
            counts[:] = [0] * len(counts)
            latencies.clear()
            conn.send("ok")
        elif command == "report":
            closed = sum(1 for c in clients if c.closed.done())
            codes = sorted({c.close_code for c in clients if c.close_code})
            conn.send({"counts": counts, "latencies": latencies, "closed": closed, "codes": codes})
        elif command == "stop":
            for c in clients:
                if c.transport is not None:
                    c.transport.close()
            conn.send("bye")
            return


class Load:
    """Several generator processes sharing the sockets of a scenario."""

    def __init__(
        self,
        host: str,
        port: int,
        paths: list[str],
        subscriptions: list[str | None],
        processes: int,
    ) -> None:
        ctx = mp.get_context("fork")
        self.pipes = []
        self.procs = []
        for k in range(processes):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=generator,
                args=(theirs, host, port, paths[k::processes], subscriptions[k::processes]),
                daemon=True,
            )
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)

    def wait_ready(self) -> int:
        total = 0
        for pipe in self.pipes:
            if not pipe.poll(300):
                raise RuntimeError("load generator did not get ready")
            _, count, errors = pipe.recv()
            if errors:
                raise RuntimeError(f"subscription errors: {errors}")
            total += count
        return total

    def ask(self, command: str) -> list[Any]:
        for pipe in self.pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in self.pipes]

    def report(self) -> dict[str, Any]:
        reports = self.ask("report")
        counts = [c for r in reports for c in r["counts"]]
        latencies = [x for r in reports for x in r["latencies"]]
        return {
            "counts": counts,
            "latencies": latencies,
            "closed": sum(r["closed"] for r in reports),
            "codes": sorted({c for r in reports for c in r["codes"]}),
        }

    def stop(self) -> None:
        self.ask("stop")
        for proc in self.procs:
            proc.join(10)


# -- servers ---------------------------------------------------------------------------------


LOGS = ROOT / ".recoup" / "bench" / "logs"


def start(command: list[str], env: dict[str, str], cpu: int, name: str) -> subprocess.Popen[bytes]:
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / f"{name}.log").open("wb") as log:
        return subprocess.Popen(
            ["taskset", "-c", str(cpu), *command],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    import urllib.request

    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"server exited ({process.returncode})") from None
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def server_pid(process: subprocess.Popen[bytes]) -> int:
    """taskset execs the command, so the pid is the server's own."""
    return process.pid


# -- the scenarios ---------------------------------------------------------------------------


async def mint_tickets(redis_url: str, actor: bytes, count: int) -> list[str]:
    """``count`` tickets for ``actor`` (as a ticket holds it), straight into Redis."""
    import redis.asyncio as aioredis

    from domain.auth.tokens import digest

    client = aioredis.Redis.from_url(redis_url)
    tokens = [uuid.uuid4().hex for _ in range(count)]
    async with client.pipeline(transaction=False) as pipe:
        for token in tokens:
            pipe.set(f"recoup:ws-ticket:{digest(token)}", actor, ex=600)
        await pipe.execute()
    await client.aclose()
    return [f"/ws?ticket={t}" for t in tokens]


def direct_frame(n: int) -> tuple[bytes, bytes]:
    """An event's tail (for Recoup's backend) and a whole frame (for the plain forwarder)."""
    from channels.protocol import encode_json, event_head, event_tail

    tail = event_tail(
        str(uuid.uuid4()), "wallboard.kpis", encode_json({"sent": time.time(), "n": n})
    )
    return tail, event_head("wallboard") + b"1-0" + tail


async def publish_direct(
    target: str, redis_url: str, channel: str, rate: float, seconds: float
) -> int:
    import redis.asyncio as aioredis

    from channels.backend import Publication
    from channels.redis_backend import RedisBackend

    backend = RedisBackend(redis_url) if target == "recoup" else None
    raw = aioredis.Redis.from_url(redis_url) if target == "plain" else None
    total = int(rate * seconds)
    started = time.monotonic()
    for n in range(total):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tail, whole = direct_frame(n)
        if backend is not None:
            await backend.publish([Publication(channel, tail)])
        else:
            assert raw is not None
            await raw.publish("plain", whole)
    if backend is not None:
        await backend.redis.aclose()
    if raw is not None:
        await raw.aclose()
    return total


async def publish_domain(
    database_url: str, tenant_id: int, channels: list[str], rate: float, seconds: float
) -> int:
    """Events written the way every change writes them: audit row + outbox, one transaction."""
    from domain.actor import system_actor
    from domain.db import Database
    from domain.outbox.service import ChangeRecorder

    db = await Database(database_url, min_size=2, max_size=4).open()
    actor = system_actor(tenant_id)
    total = int(rate * seconds)
    started = time.monotonic()
    for n in range(total):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        async with db.tenant(tenant_id) as conn:
            await ChangeRecorder(conn, actor).record(
                action="bench.tick",
                entity_type="bench",
                entity_id=n,
                before=None,
                after=None,
                event_type="wallboard.kpis",
                channels=[random.choice(channels)],
                data={"sent": time.time(), "n": n},
            )
    await db.close()
    return total


def summarize(
    name: str, load: Load, pid: int, run: Any, sockets: int, per_event: int | None = None
) -> dict[str, Any]:
    """Run a scenario and measure it; ``per_event`` is how many sockets each event reaches
    (all of them on a shared channel)."""
    load.ask("reset")
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    events = run()
    time.sleep(2.0)  # let the last frames arrive
    cpu = cpu_seconds(pid) - cpu0
    wall = time.monotonic() - wall0 - 2.0
    report = load.report()
    delivered = sum(report["counts"])
    lat = report["latencies"]
    return {
        "scenario": name,
        "sockets": sockets,
        "events": events,
        "deliveries": delivered,
        "lost": events * (per_event or sockets) - delivered,
        "deliveries_per_s": round(delivered / wall),
        "server_cpu_us_per_delivery": round(cpu / delivered * 1e6, 1) if delivered else None,
        "server_cpu_share": round(cpu / wall, 2),
        "latency_ms": {
            "p50": round(percentile(lat, 0.5) * 1000, 1),
            "p99": round(percentile(lat, 0.99) * 1000, 1),
            "max": round(max(lat) * 1000, 1) if lat else None,
        },
        "sockets_closed": report["closed"],
        "close_codes": report["codes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--sockets", type=int, default=5_000)
    parser.add_argument("--rates", default="4,6,8", help="events/s on the shared channel")
    parser.add_argument("--domain-rate", type=float, default=6)
    parser.add_argument("--targeted", type=int, default=2_000)
    parser.add_argument("--targeted-rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--idle-only", action="store_true", help="only memory per idle socket, every server"
    )
    args = parser.parse_args()
    if args.quick:
        args.idle, args.sockets, args.targeted, args.seconds = 1000, 500, 200, 4
    os.sched_setaffinity(0, {LOAD_CPU})

    from server.embedded import EmbeddedServices

    services = None
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        services = EmbeddedServices(ROOT / ".recoup" / "bench", database="recoup_bench")
        started = services.start()
        database_url, redis_url = database_url or started[0], redis_url or started[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url or "",
        "REDIS_URL": redis_url or "",
        "LOG_LEVEL": "WARNING",
        "WS_MAX_SUBSCRIPTIONS": "10",
        "WS_SOCKETS_PER_IDENTITY": "1000000",  # every socket here is the demo admin's
    }
    recoup = [sys.executable, "-m", "server.cli"]
    subprocess.run([*recoup, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "server_cpu": SERVER_CPU, "load_cpu": LOAD_CPU},
        "runs": [],
    }
    port = 18800
    processes: list[subprocess.Popen[bytes]] = []
    try:
        web = start([*recoup, "web"], {**env, "PORT": str(port)}, SERVER_CPU, "web")
        relay = start([*recoup, "relay"], env, LOAD_CPU, "relay")
        processes += [web, relay]
        wait_http(f"http://127.0.0.1:{port}/health/ready", web)
        pid = server_pid(web)
        tenant_id, actor = asyncio.run(_demo_admin(f"http://127.0.0.1:{port}", redis_url or ""))
        host = "127.0.0.1"

        # Idle sockets: memory.
        rss0 = rss_bytes(pid)
        paths = asyncio.run(mint_tickets(redis_url or "", actor, args.idle))
        load = Load(host, port, paths, ["agent:me"] * args.idle, args.processes)
        held = load.wait_ready()
        time.sleep(1)
        rss1 = rss_bytes(pid)
        results["runs"].append(
            {
                "scenario": "idle",
                "server": "recoup",
                "sockets": held,
                "server_rss_mb": round(rss1 / 2**20, 1),
                "kb_per_socket": round((rss1 - rss0) / held / 1024, 1),
            }
        )
        load.stop()
        time.sleep(1)
        if not args.idle_only:
            results["runs"] += delivery(args, host, port, pid, tenant_id, actor, env)
        web.terminate()
        web.wait(20)

        if not args.skip_plain:
            baselines = {
                "plain": [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.plain_forwarder:app",
                    "--port",
                    str(port + 1),
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                    "--log-level",
                    "warning",
                ],
                "bare": [sys.executable, "bench/bare_websockets.py", str(port + 1)],
            }
            for name, command in baselines.items():
                results["runs"] += baseline(
                    name, command, env, host, port + 1, args, redis_url or "", processes
                )
    finally:
        stop_processes(processes)
        if services is not None:
            services.stop()

    def median_cpu(server: str) -> float | None:
        values = [
            r["server_cpu_us_per_delivery"]
            for r in results["runs"]
            if r["server"] == server and r["scenario"].startswith("fanout-direct")
        ]
        return statistics.median(values) if values else None

    ours = median_cpu("recoup")
    for other in ("plain", "bare"):
        theirs = median_cpu(other)
        if ours and theirs:
            results[f"cpu_per_delivery_ratio_recoup_to_{other}"] = round(ours / theirs, 2)
    idle = {r["server"]: r["kb_per_socket"] for r in results["runs"] if r["scenario"] == "idle"}
    if "recoup" in idle and "bare" in idle:
        results["kb_per_idle_socket"] = idle
    print(json.dumps(results, indent=2))


def delivery(
    args: argparse.Namespace,
    host: str,
    port: int,
    pid: int,
    tenant_id: int,
    actor: Any,
    env: dict[str, str],
) -> list[dict[str, Any]]:
    """Recoup's fan-out and targeted scenarios."""
    database_url, redis_url = env["DATABASE_URL"], env["REDIS_URL"]
    runs: list[dict[str, Any]] = []
    # Shared channel, direct publishing: CPU per delivery and throughput.
    paths = asyncio.run(mint_tickets(redis_url, actor, args.sockets))
    load = Load(host, port, paths, ["wallboard"] * args.sockets, args.processes)
    load.wait_ready()
    full = f"t{tenant_id}:wallboard"
    for rate in [float(r) for r in args.rates.split(",")]:
        run = summarize(
            f"fanout-direct {rate:g} ev/s",
            load,
            pid,
            lambda rate=rate: asyncio.run(
                publish_direct("recoup", redis_url, full, rate, args.seconds)
            ),
            args.sockets,
        )
        runs.append({"server": "recoup", **run})
    run = summarize(
        f"fanout-domain {args.domain_rate:g} ev/s",
        load,
        pid,
        lambda: asyncio.run(
            publish_domain(database_url, tenant_id, ["wallboard"], args.domain_rate, args.seconds)
        ),
        args.sockets,
    )
    runs.append({"server": "recoup", **run})
    load.stop()
    time.sleep(1)

    # Targeted: one account channel per socket, events through the domain.
    channels = [f"account:{1_000_000 + n}" for n in range(args.targeted)]
    paths = asyncio.run(mint_tickets(redis_url, actor, args.targeted))
    load = Load(host, port, paths, channels, args.processes)
    load.wait_ready()
    run = summarize(
        f"targeted {args.targeted_rate:g} ev/s",
        load,
        pid,
        lambda: asyncio.run(
            publish_domain(database_url, tenant_id, channels, args.targeted_rate, args.seconds)
        ),
        args.targeted,
        per_event=1,
    )
    runs.append({"server": "recoup", **run})
    load.stop()
    return runs


def baseline(
    name: str,
    command: list[str],
    env: dict[str, str],
    host: str,
    port: int,
    args: argparse.Namespace,
    redis_url: str,
    processes: list[subprocess.Popen[bytes]],
) -> list[dict[str, Any]]:
    """The same idle and fan-out measurements against a comparison server."""
    runs: list[dict[str, Any]] = []
    server = start(command, env, SERVER_CPU, name)
    processes.append(server)
    try:
        wait_tcp(host, port, server)
        rss0 = rss_bytes(server.pid)
        load = Load(host, port, ["/ws"] * args.idle, [None] * args.idle, args.processes)
        held = load.wait_ready()
        time.sleep(1)
        rss1 = rss_bytes(server.pid)
        runs.append(
            {
                "scenario": "idle",
                "server": name,
                "sockets": held,
                "server_rss_mb": round(rss1 / 2**20, 1),
                "kb_per_socket": round((rss1 - rss0) / held / 1024, 1),
            }
        )
        load.stop()
        time.sleep(1)
        if args.idle_only:
            return runs
        load = Load(host, port, ["/ws"] * args.sockets, [None] * args.sockets, args.processes)
        load.wait_ready()
        for rate in [float(r) for r in args.rates.split(",")]:
            run = summarize(
                f"fanout-direct {rate:g} ev/s",
                load,
                server.pid,
                lambda rate=rate: asyncio.run(
                    publish_direct("plain", redis_url, "plain", rate, args.seconds)
                ),
                args.sockets,
            )
            runs.append({"server": name, **run})
        load.stop()
    finally:
        server.terminate()
        server.wait(20)
    return runs


def wait_tcp(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    for _ in range(300):
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode})")
        time.sleep(0.1)
    raise RuntimeError(f"{host}:{port} did not answer")


async def _demo_admin(base_url: str, redis_url: str) -> tuple[int, bytes]:
    """The demo admin's tenant, and their identity as a ticket of theirs holds it (a
    signed-in session: a ticket is checked against it when redeemed)."""
    import httpx
    import msgspec
    import redis.asyncio as aioredis

    from domain.actor import Actor
    from domain.auth.tokens import digest
    from domain.demo import DEMO_PASSWORD

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": "admin@demo.test", "password": DEMO_PASSWORD}
        )
        login.raise_for_status()
        answer = await http.post(
            "/api/v1/realtime/ticket",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        answer.raise_for_status()
    client = aioredis.Redis.from_url(redis_url)
    actor = await client.get(f"recoup:ws-ticket:{digest(answer.json()['ticket'])}")
    await client.aclose()
    if not actor:
        raise RuntimeError("the ticket was not in Redis")
    return msgspec.msgpack.decode(actor, type=Actor).tenant_id, actor


if __name__ == "__main__":
    main()
