"""REST API throughput and latency: reads (account list, one account) and a write (log an
interaction: row + audit + outbox in one transaction).

Starts its own embedded PostgreSQL and Redis under .recoup/bench (or uses DATABASE_URL /
REDIS_URL), seeds the demo tenant, runs one `recoup web` process pinned to CPU 1 and drives
it from this process pinned to CPU 0 with a minimal keep-alive HTTP/1.1 client (so that the
client costs little next to the server). Prints requests/s, latency percentiles and the
server's CPU time per request, read from /proc.

Then runs the one-account read against ``bench/minimal_read.py`` (the least a Litestar
route can do for it) in its own uvicorn process on the same CPU, and prints the ratio.

    .venv/bin/python bench/http_api.py [--seconds 10] [--connections 32] [--only one]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that were waited for."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


class Client:
    """One keep-alive HTTP/1.1 connection that sends a request and reads the whole reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Client:
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


def build(
    method: str, path: str, token: str, body: bytes = b"", extra: tuple[str, ...] = ()
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: bench",
        f"Authorization: Bearer {token}",
        "Connection: keep-alive",
        *extra,
    ]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def run_load(
    host: str,
    port: int,
    requests: list[bytes],
    seconds: float,
    connections: int,
    server_pid: int,
) -> dict[str, float]:
    clients = [await Client.open(host, port) for _ in range(connections)]
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def worker(client: Client, offset: int) -> None:
        nonlocal errors
        i = offset
        while time.monotonic() < stop:
            raw = requests[i % len(requests)]
            i += 1
            started = time.perf_counter()
            status = await client.request(raw)
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors += 1

    cpu_before = cpu_seconds(server_pid)
    wall = time.monotonic()
    await asyncio.gather(*(worker(c, n * 7) for n, c in enumerate(clients)))
    wall = time.monotonic() - wall
    cpu = cpu_seconds(server_pid) - cpu_before
    for c in clients:
        c.writer.close()
    latencies.sort()
    count = len(latencies)
    return {
        "requests": count,
        "errors": errors,
        "rps": count / wall,
        "p50_ms": latencies[count // 2] * 1000,
        "p99_ms": latencies[int(count * 0.99)] * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "server_cpu_us_per_request": cpu / count * 1e6,
        "server_cpu_share": cpu / wall,
    }


def post(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def compare_one_account(
    args: argparse.Namespace,
    pin: list[str],
    env: dict[str, str],
    port: int,
    recoup_pid: int,
    requests: list[bytes],
    first: dict[str, float],
) -> None:
    """The one-account read against the minimal route, alternating with Recoup's
    (``--rounds`` times each), so that both meet the same background load."""
    minimal = start_minimal(pin, env, port + 1)
    ours, theirs = [first["server_cpu_us_per_request"]], []
    try:
        for round_ in range(args.rounds):
            result = asyncio.run(
                run_load(
                    "127.0.0.1", port + 1, requests, args.seconds, args.connections, minimal.pid
                )
            )
            theirs.append(result["server_cpu_us_per_request"])
            if round_ == 0:
                report_line("one account, minimal route", result)
            if round_ + 1 < args.rounds:
                again = asyncio.run(
                    run_load(
                        "127.0.0.1", port, requests, args.seconds, args.connections, recoup_pid
                    )
                )
                ours.append(again["server_cpu_us_per_request"])
    finally:
        minimal.terminate()
        minimal.wait(timeout=20)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(
        f"\none account, server CPU per request (median of {args.rounds} alternating rounds): "
        f"Recoup {a:.0f} µs ({', '.join(f'{x:.0f}' for x in ours)}), minimal route {b:.0f} µs "
        f"({', '.join(f'{x:.0f}' for x in theirs)}): Recoup costs {a / b:.2f}x"
    )


def report_line(name: str, result: dict[str, float]) -> None:
    print(
        f"{name:<28} {result['rps']:>8.0f} {result['p50_ms']:>8.2f} "
        f"{result['p99_ms']:>8.2f} {result['server_cpu_us_per_request']:>14.0f} "
        f"{result['server_cpu_share']:>9.0%} {int(result['errors']):>7}"
    )


def start_minimal(pin: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """``bench/minimal_read.py`` under uvicorn, as `recoup web` runs (uvloop, httptools)."""
    process = subprocess.Popen(
        [
            *pin,
            sys.executable,
            "-m",
            "uvicorn",
            "bench.minimal_read:app",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the minimal route did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", default="", help="run only scenarios whose name has this")
    parser.add_argument("--rounds", type=int, default=3, help="alternating one-account rounds")
    args = parser.parse_args()

    from server.embedded import EmbeddedServices

    services = None
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        services = EmbeddedServices(ROOT / ".recoup" / "bench", database="recoup_bench")
        started = services.start(need_postgres=not database_url, need_redis=not redis_url)
        database_url, redis_url = database_url or started[0], redis_url or started[1]
    port = 18700
    env = {
        **os.environ,
        "DATABASE_URL": database_url or "",
        "REDIS_URL": redis_url or "",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "LOGIN_LIMIT_PER_IP": "100000",
    }
    recoup = [sys.executable, "-m", "server.cli"]
    subprocess.run([*recoup, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    cpus = sorted(os.sched_getaffinity(0))
    pin = ["taskset", "-c", str(cpus[-1])] if len(cpus) > 1 else []
    server = subprocess.Popen([*pin, *recoup, "web"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{base}/health/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        if len(cpus) > 1:
            os.sched_setaffinity(0, {cpus[0]})
        admin = post(
            f"{base}/api/v1/auth/login", {"email": "admin@demo.test", "password": "demo-password"}
        )["access_token"]
        ids = [a["id"] for a in get(f"{base}/api/v1/accounts?limit=200", admin)["items"]]
        scenarios = {
            "list 50 accounts": [build("GET", "/api/v1/accounts?limit=50", admin)],
            "one account": [build("GET", f"/api/v1/accounts/{i}", admin) for i in ids],
            # As a browser asks: gzip accepted (the answer is too small to be compressed).
            "one account, gzip accepted": [
                build("GET", f"/api/v1/accounts/{i}", admin, extra=("Accept-Encoding: gzip",))
                for i in ids
            ],
            "search by name": [
                build("GET", f"/api/v1/accounts?q={q}&limit=20", admin)
                for q in ("smi", "jo", "ann", "mar", "lee", "acc-2019")
            ],
            "log an interaction (write)": [
                build(
                    "POST",
                    f"/api/v1/accounts/{i}/interactions",
                    admin,
                    json.dumps({"channel": "note", "notes": "bench"}).encode(),
                )
                for i in ids
            ],
        }
        print(
            f"server pinned to CPU {cpus[-1]}, load generator to CPU {cpus[0]}, "
            f"{args.connections} connections, {args.seconds:.0f} s each\n"
        )
        print(
            f"{'scenario':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'server µs/req':>14} {'server CPU':>10} {'errors':>7}"
        )

        ours = None
        for name, requests in scenarios.items():
            if args.only not in name:
                continue
            result = asyncio.run(
                run_load("127.0.0.1", port, requests, args.seconds, args.connections, server.pid)
            )
            report_line(name, result)
            if name == "one account":
                ours = result
        if ours is not None:
            compare_one_account(args, pin, env, port, server.pid, scenarios["one account"], ours)
    finally:
        server.terminate()
        server.wait(timeout=20)
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
