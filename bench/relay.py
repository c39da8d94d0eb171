"""The relay under a trickle: events committed one per transaction, at a steady rate.

One `recoup relay` pinned to its own core; on the other, this process commits single-event
transactions through the project's own ``ChangeRecorder`` at ``--rate`` per second (an
``account.updated`` on the account's channel and the wallboard, as an account change has),
and one `recoup web` carries a socket subscribed to the wallboard. Prints the relay's CPU
per event (its process's CPU time from /proc over the measured window, divided by the
events committed in it) and commit-to-socket latency (from just after each COMMIT returns
to the frame arriving on the socket).

    .venv/bin/python bench/relay.py --rate 1000 --seconds 10
    .venv/bin/python bench/relay.py --relay-from /tmp/recoup-before   # another checkout's relay

PostgreSQL and Redis float over both cores (as in the other benchmarks here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
import websockets  # noqa: E402

from domain.db import Database  # noqa: E402
from domain.demo import DEMO_SLUG  # noqa: E402
from domain.outbox.events import ACCOUNT_UPDATED  # noqa: E402

LOGS = ROOT / ".recoup" / "bench" / "logs"


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The process's CPU time so far: in user space, and in the kernel on its behalf."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def start(
    command: list[str], env: dict[str, str], cpu: int | None, name: str, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    LOGS.mkdir(parents=True, exist_ok=True)
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    with (LOGS / f"{name}.log").open("wb") as log:
        # taskset execs the command: the pid is the process's own.
        return subprocess.Popen(
            [*pin, *command], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
        )


METRICS_PORT = 18711


def batches() -> float:
    """The relay's own count of batches published."""
    with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5) as page:
        for line in page.read().decode().splitlines():
            if line.startswith("recoup_relay_batches_total "):
                return float(line.split()[1])
    return 0.0


def post(url: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# The commits themselves, from inside PostgreSQL: one event per transaction, paced to the
# rate asked. A load generator in Python could not keep 1,000 commits a second on a core it
# shares with the web process (and with whatever else runs on this machine).
TRICKLE = """
DO $$
DECLARE
  started timestamptz := clock_timestamp();
BEGIN
  -- Commits wait for no disk flush: the trickle is paced by the clock, not by the disk.
  PERFORM set_config('synchronous_commit', 'off', false);
  FOR n IN 0..{total} - 1 LOOP
    PERFORM pg_sleep(greatest(0, extract(epoch FROM
      started + n * interval '{interval} seconds' - clock_timestamp())));
    INSERT INTO outbox (tenant_id, event_id, type, channels, data, occurred_at)
    VALUES ({tenant_id}, gen_random_uuid(), 'account.updated',
      ARRAY['account:{account_id}', 'wallboard'],
      jsonb_build_object('id', {account_id}, 'bench', n,
        't', extract(epoch FROM clock_timestamp())), now());
    COMMIT;
  END LOOP;
END $$
"""


async def run(args: argparse.Namespace, base: str, database_url: str, relay_pid: int) -> None:
    admin = post(
        f"{base}/api/v1/auth/login", {"email": "admin@demo.test", "password": "demo-password"}
    )["access_token"]
    ticket = post(f"{base}/api/v1/realtime/ticket", {}, admin)["ticket"]
    db = await Database(database_url, min_size=1, max_size=2).open()
    async with db.system() as conn:
        # The demo tenant's (whose admin holds the socket): the scratch database may also
        # hold other benches' tenants.
        tenant_id, account_id = await conn.fetchrow(
            "SELECT a.tenant_id, a.id FROM accounts a JOIN tenants t ON t.id = a.tenant_id "
            "WHERE t.slug = $1 ORDER BY a.id LIMIT 1",
            DEMO_SLUG,
        )
    latencies: dict[int, float] = {}
    ws = await websockets.connect(base.replace("http://", "ws://") + f"/ws?ticket={ticket}")
    await ws.send('{"op":"subscribe","channel":"wallboard"}')

    async def receive() -> None:
        async for raw in ws:
            frame = msgspec.json.decode(raw)
            data = frame.get("data") or {}
            if frame.get("type") == ACCOUNT_UPDATED and "bench" in data:
                latencies.setdefault(data["bench"], (time.time() - float(data["t"])) * 1000)

    receiver = asyncio.create_task(receive())
    await asyncio.sleep(0.5)
    total = int(args.rate * args.seconds)
    batches_start = batches()
    cpu_start, began = cpu_seconds(relay_pid), time.perf_counter()
    async with db._system.acquire() as conn:
        await conn.execute(
            TRICKLE.format(
                total=total, interval=1 / args.rate, tenant_id=tenant_id, account_id=account_id
            )
        )
    window = time.perf_counter() - began
    for _ in range(100):  # the last ones reach the socket
        if len(latencies) >= total:
            break
        await asyncio.sleep(0.05)
    now = cpu_seconds(relay_pid)
    user, system = now[0] - cpu_start[0], now[1] - cpu_start[1]
    cpu = user + system
    batched = batches() - batches_start
    receiver.cancel()
    await ws.close()
    await db.close()
    measured = [latencies[n] for n in range(int(total * 0.1), total) if n in latencies]
    print(
        f"{total} single-event commits at {total / window:,.0f}/s "
        f"(asked {args.rate:,}/s); {len(latencies)} reached the socket"
    )
    print(
        f"relay CPU: {cpu * 1e6 / total:,.1f} µs/event ({cpu / window * 100:.0f}% of a core), "
        f"{total / max(batched, 1):.1f} events per batch; "
        f"{user * 1e6 / total:,.1f} µs in user space, {system * 1e6 / total:,.1f} in the kernel"
    )
    print(
        f"commit-to-socket (the first 10% left out): p50 {percentile(measured, 0.5):.2f} ms, "
        f"p99 {percentile(measured, 0.99):.2f} ms, max {max(measured, default=0):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=1000, help="commits per second")
    parser.add_argument("--seconds", type=float, default=10, help="measured window")
    parser.add_argument("--relay-from", type=Path, help="run the relay of another checkout")
    args = parser.parse_args()

    from server.embedded import EmbeddedServices

    services = None
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        services = EmbeddedServices(ROOT / ".recoup" / "bench", database="recoup_bench")
        started = services.start(need_postgres=not database_url, need_redis=not redis_url)
        database_url, redis_url = database_url or started[0], redis_url or started[1]
    port = 18710
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
    relay_cpu, load_cpu = (cpus[-1], cpus[0]) if len(cpus) > 1 else (None, None)
    relay_root = args.relay_from or ROOT
    relay = start(
        [*recoup, "relay"],
        {**env, "PYTHONPATH": str(relay_root), "RELAY_METRICS_PORT": str(METRICS_PORT)},
        relay_cpu,
        "relay",
        cwd=relay_root,
    )
    web = start([*recoup, "web"], env, load_cpu, "web")
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/health/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)  # the relay has taken the lock and published what was waiting
        print(f"relay ({relay_root}) on CPU {relay_cpu}, load and web on CPU {load_cpu}")
        asyncio.run(run(args, base, database_url or "", relay.pid))
    finally:
        for process in (web, relay):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
