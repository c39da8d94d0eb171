"""Outbound webhooks under load: deliveries per second to a receiver on this machine.

A scratch tenant with 10 endpoints (all events of type ``payment.received``), each a path of
one receiver: a raw asyncio HTTP/1.1 server (uvloop, httptools, keep-alive) in its own
process, which answers 200 at once and notes each request's ``webhook-id`` and arrival time.
Events are written to the outbox in bulk as a payment writes them (its data, the account's
channels) and go the whole real way: the outbox's NOTIFY wakes ``recoup relay``, which
stages the deliveries in its transaction and kicks the tenant's ``webhooks.deliver`` job;
``recoup worker --processes 2`` sends them; ``recoup scheduler`` runs the retry job.
Outbox to receiver is the arrival time less the event's ``occurred_at``.

Phases: a burst (every event at once: what the workers can do flat out); a steady rate
(``--rate`` deliveries a second for ``--seconds``); the same rate with one endpoint that
never answers (the receiver reads the request and says nothing, the worker gives up after
its 15-second timeout), where the other nine must keep their rate and p99.

    .venv/bin/python bench/webhooks.py [--rate 1000] [--seconds 30] [--rounds 2] [--burst 3000]

Starts embedded PostgreSQL and Redis under .recoup/bench-webhooks (or uses DATABASE_URL /
REDIS_URL). The receiver and this process (the load generator) run on CPU 0; the relay,
the two workers and the scheduler on CPU 1; PostgreSQL and Redis are not pinned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.floor import tree_cpu, uptime, waited  # noqa: E402
from bench.webhook_receiver import PORT, control  # noqa: E402
from bench.worklist import fresh_database  # noqa: E402

ENDPOINTS = 10
TICK = 0.02  # the producer writes a batch of events every 20 ms


# -- the scratch tenant and the events --------------------------------------------------------


async def setup(db, accounts: int) -> tuple[int, dict[int, int]]:  # type: ignore[no-untyped-def]
    """The tenant, its accounts, and the 10 endpoints: endpoint id -> receiver path."""
    import uuid

    from domain.actor import system_actor
    from domain.tenancy.service import create_tenant
    from domain.webhooks.schemas import WebhookEndpointCreate
    from domain.webhooks.service import WebhookEndpointService
    from tasks.webhooks import box

    async with db.system() as conn:
        tenant = await create_tenant(
            conn, slug=f"wh-{uuid.uuid4().hex[:8]}", name="Webhooks", defaults=False
        )
        await conn.execute(
            """INSERT INTO debtors (tenant_id, external_ref, first_name, last_name)
            SELECT $1, 'D' || n, 'First' || n, 'Last' || n FROM generate_series(1, $2) AS n""",
            tenant.id,
            accounts,
        )
        await conn.execute(
            """INSERT INTO accounts (tenant_id, debtor_id, external_ref, currency, principal,
              due_date)
            SELECT d.tenant_id, d.id, 'A' || d.id, 'USD', 1000, current_date - 40
            FROM debtors d WHERE d.tenant_id = $1""",
            tenant.id,
        )
    paths: dict[int, int] = {}
    async with db.tenant(tenant.id) as conn:
        service = WebhookEndpointService(conn, system_actor(tenant.id), box=box(), allow_local=True)
        for n in range(ENDPOINTS):
            made = await service.create(
                WebhookEndpointCreate(
                    url=f"http://127.0.0.1:{PORT}/e/{n}", event_types=["payment.received"]
                )
            )
            paths[made.endpoint.id] = n
    return tenant.id, paths


async def write_events(db, tenant_id: int, first: int, count: int, accounts: int) -> None:  # type: ignore[no-untyped-def]
    """``count`` payment events in one transaction, shaped as a payment writes them: the
    payment and the account as it now stands, to the account's and the wallboard's channels.
    The outbox's trigger wakes the relay on commit."""
    async with db.system() as conn:
        await conn.execute(
            """WITH a AS (SELECT min(id) AS first FROM accounts WHERE tenant_id = $1)
            INSERT INTO outbox (tenant_id, event_id, type, channels, data, occurred_at)
            SELECT $1, gen_random_uuid(), 'payment.received',
              ARRAY['account:' || (a.first + n % $3), 'wallboard'],
              jsonb_build_object(
                'payment', jsonb_build_object('id', n, 'account_id', a.first + n % $3,
                  'amount', '10.00', 'currency', 'USD', 'status', 'succeeded',
                  'method', 'card', 'reference', 'bench-' || n),
                'account', jsonb_build_object('id', a.first + n % $3, 'currency', 'USD',
                  'balance', '990.00', 'status', 'active', 'days_past_due', 40)),
              clock_timestamp()
            FROM a, generate_series($2::bigint, $2::bigint + $4 - 1) AS n""",
            tenant_id,
            first,
            accounts,
            count,
        )


async def produce(db, tenant_id: int, events: int, rate: float, accounts: int, first: int) -> float:  # type: ignore[no-untyped-def]
    """``events`` events at ``rate`` a second (0: all at once, in batches of 500); seconds."""
    started = time.perf_counter()
    made = 0
    per_tick = rate * TICK if rate else 500
    while made < events:
        due = (
            events
            if not rate
            else min(events, int((time.perf_counter() - started) / TICK + 1) * per_tick)
        )
        n = int(due) - made
        if n > 0:
            await write_events(db, tenant_id, first + made, n, accounts)
            made += n
        if rate:
            next_tick = (made / per_tick) * TICK - (time.perf_counter() - started)
            await asyncio.sleep(max(next_tick, 0.001))
    return time.perf_counter() - started


# -- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def occurred(db, tenant_id: int, first: int, count: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The phase's events (its payments ``first`` to ``first + count - 1``): webhook-id ->
    ``occurred_at``."""
    async with db.system() as conn:
        rows = await conn.fetch(
            """SELECT 'msg_' || replace(event_id::text, '-', '') AS id,
              extract(epoch FROM occurred_at)::float8 AS at
            FROM outbox WHERE tenant_id = $1
              AND (data -> 'payment' ->> 'id')::bigint BETWEEN $2 AND $2 + $3 - 1""",
            tenant_id,
            first,
            count,
        )
    return {r["id"]: r["at"] for r in rows}


def postgres_cpu() -> float:
    """CPU seconds of this bench's own PostgreSQL (its postmaster and the backends now
    running), not of other clusters on the machine."""
    pid_file = ROOT / ".recoup" / "bench-webhooks" / "pg" / "postmaster.pid"
    try:
        return tree_cpu(int(pid_file.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return 0.0


def children(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return found + [g for c in found for g in children(c)]


def profile(pids: list[int], seconds: float, prefix: str) -> list[subprocess.Popen[bytes]]:
    """py-spy (if installed) on each server process for ``seconds``: collapsed stacks."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        print("--profile needs py-spy in the virtualenv (pip install py-spy)")
        return []
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "-p",
                str(pid),
                "-d",
                str(int(seconds)),
                "-r",
                "200",
                "--format",
                "raw",
                "-o",
                f"{prefix}.{pid}.txt",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


@dataclass
class Bench:
    db: object
    tenant_id: int
    accounts: int
    pids: list[int]
    profile: str | None
    first: int = 0

    async def phase(
        self, name: str, events: int, rate: float, silent: int | None, drain: float
    ) -> dict:
        control(f"hang/{silent if silent is not None else '-'}")
        control("dump")
        answering = [n for n in range(ENDPOINTS) if n != silent]
        expected = events * len(answering)
        first, self.first = self.first, self.first + events
        spies = []
        if self.profile and name == "burst":
            spies = profile([q for p in self.pids for q in (p, *children(p))], 20, self.profile)
        cpu_before = sum(tree_cpu(p) for p in self.pids)
        every = [q for p in self.pids for q in (p, *children(p))]
        wait_before = sum(waited(p) for p in every)
        pg_before = postgres_cpu()
        started = time.time()
        produced_in = await produce(self.db, self.tenant_id, events, rate, self.accounts, first)
        at = await occurred(self.db, self.tenant_id, first, events)
        records: list[list] = []
        got = 0
        deadline = time.time() + drain
        while time.time() < deadline:
            records += control("dump")  # type: ignore[operator]
            got = sum(1 for r in records if r[1] != silent and r[0] in at)
            if got >= expected:
                break
            await asyncio.sleep(0.5)
        cpu = sum(tree_cpu(p) for p in self.pids) - cpu_before
        wait = sum(waited(p) for p in every) - wait_before
        pg = postgres_cpu() - pg_before
        for spy in spies:
            spy.wait()
        if silent is not None:
            # What the silent endpoint was left with is not the next phase's work: the
            # rounds compare the nine beside the same load. Its lease let go, the requests
            # still out record nothing over it.
            async with self.db.system() as conn:
                await conn.execute(
                    """UPDATE webhook_deliveries SET status = 'failed', lease = NULL
                    WHERE tenant_id = $1 AND status = 'pending' AND endpoint_id = (
                      SELECT min(id) + $2 FROM webhook_endpoints WHERE tenant_id = $1)""",
                    self.tenant_id,
                    silent,
                )
        seen: set[tuple[str, int]] = set()
        latencies: list[float] = []
        nine: list[float] = []  # endpoints 0 to 8, which answer in every phase
        by_endpoint: dict[int, list[float]] = {}
        last = started
        duplicates = 0
        for webhook_id, n, arrived in records:
            if webhook_id not in at or n == silent:
                continue  # late ones of the phase before, or the silent endpoint's
            if (webhook_id, n) in seen:
                duplicates += 1
                continue
            seen.add((webhook_id, n))
            latencies.append(arrived - at[webhook_id])
            if n != ENDPOINTS - 1:
                nine.append(arrived - at[webhook_id])
            by_endpoint.setdefault(n, []).append(arrived - at[webhook_id])
            last = max(last, arrived)
        got = len(latencies)
        wall = last - started
        return {
            "phase": name,
            "events": events,
            "endpoints answering": len(answering),
            "deliveries": got,
            "missing": expected - got,
            "duplicates": duplicates,
            "seconds": round(wall, 2),
            "produced in": round(produced_in, 2),
            "deliveries/s": round(got / wall) if wall else 0,
            "per endpoint/s": round(got / wall / len(answering)) if wall else 0,
            "p50 ms": round(percentile(latencies, 0.5) * 1000, 1),
            "p99 ms": round(percentile(latencies, 0.99) * 1000, 1),
            "max ms": round(max(latencies, default=0) * 1000, 1),
            "the nine: per endpoint/s": round(len(nine) / wall / (ENDPOINTS - 1)) if wall else 0,
            "the nine: p50 ms": round(percentile(nine, 0.5) * 1000, 1),
            "the nine: p99 ms": round(percentile(nine, 0.99) * 1000, 1),
            "p99 ms by endpoint": {
                n: round(percentile(v, 0.99) * 1000) for n, v in sorted(by_endpoint.items())
            },
            "server CPU ms per delivery": round(cpu / max(got, 1) * 1000, 3),
            "server CPU share": round(cpu / wall, 2) if wall else 0,
            # Runnable but waiting for a CPU that something else had (a busy machine).
            "server waiting for CPU": round(wait / wall, 2) if wall else 0,
            "PostgreSQL CPU ms per delivery": round(pg / max(got, 1) * 1000, 3),
        }


async def measure(database_url: str, args: argparse.Namespace, start_servers) -> list[dict]:  # type: ignore[no-untyped-def]
    from config.settings import Settings
    from domain.db import Database

    db = await Database.from_settings(
        Settings(database_url=database_url), application_name="bench", max_size=4
    ).open()
    try:
        tenant_id, _paths = await setup(db, args.accounts)
        bench = Bench(db, tenant_id, args.accounts, start_servers(), args.profile)
        await asyncio.sleep(4)  # the workers connect and join the stream
        print(json.dumps(await bench.phase("warm-up", 100, 100, None, 60)), flush=True)
        plan = [("burst", args.burst, 0.0, None)] if args.burst else []
        steady = int(args.rate / ENDPOINTS * args.seconds)
        # Rounds alternate, so that both kinds meet the same background load.
        for _ in range(args.rounds):
            plan += [
                ("steady, all answer", steady, args.rate / ENDPOINTS, None),
                ("steady, one silent", steady, args.rate / ENDPOINTS, ENDPOINTS - 1),
            ]
        results = []
        for name, events, rate, silent in plan:
            figures = await bench.phase(name, events, rate, silent, args.drain)
            results.append(figures)
            print(json.dumps(figures), flush=True)
        return results
    finally:
        await db.close()


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def report(results: list[dict]) -> None:
    columns = ["deliveries/s", "per endpoint/s", "p50 ms", "p99 ms", "max ms"]
    print(f"\n{'':28}" + "".join(f"{c:>16}" for c in columns))
    for f in results:
        print(f"{f['phase']:28}" + "".join(f"{f[c]:>16}" for c in columns))
    for f in results:
        print(
            f"{f['phase']}: missing {f['missing']}, duplicates {f['duplicates']}, server CPU "
            f"{f['server CPU ms per delivery']} ms per delivery ({f['server CPU share']} of a "
            f"core, waiting for a CPU {f['server waiting for CPU']}), PostgreSQL "
            f"{f['PostgreSQL CPU ms per delivery']} ms per delivery"
        )
    healthy = [f for f in results if f["phase"] == "steady, all answer"]
    silent = [f for f in results if f["phase"] == "steady, one silent"]
    if healthy and silent:
        rate = [median([f["the nine: per endpoint/s"] for f in fs]) for fs in (healthy, silent)]
        p99 = [median([f["the nine: p99 ms"] for f in fs]) for fs in (healthy, silent)]
        print(
            f"\nendpoints 0-8, medians of {len(healthy)} rounds: with the tenth answering "
            f"{rate[0]:g}/s per endpoint, p99 {p99[0]:g} ms; beside the tenth silent "
            f"{rate[1]:g}/s, p99 {p99[1]:g} ms"
            f"\nratio (one silent / all answering): rate {rate[1] / max(rate[0], 1):.2f}x, "
            f"p99 {p99[1] / max(p99[0], 0.001):.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=1000, help="deliveries a second, steady")
    parser.add_argument("--seconds", type=float, default=30, help="of each steady phase")
    parser.add_argument("--burst", type=int, default=3000, help="events at once (0: none)")
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2, help="of the two steady phases")
    parser.add_argument("--drain", type=float, default=180, help="seconds to wait for the rest")
    parser.add_argument("--profile", help="py-spy each server process in the burst: PATH.pid.txt")
    args = parser.parse_args()

    from server.embedded import EmbeddedServices

    print(f"load at start: {uptime()}", flush=True)
    cpus = sorted(os.sched_getaffinity(0))
    generator_cpu, server_cpu = cpus[0], cpus[-1]
    services = None
    processes: list[subprocess.Popen[bytes]] = []
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    try:
        if not database_url or not redis_url:
            services = EmbeddedServices(
                ROOT / ".recoup" / "bench-webhooks", database="recoup_bench_webhooks"
            )
            got = services.start(need_postgres=not database_url, need_redis=not redis_url)
            database_url, redis_url = database_url or got[0], redis_url or got[1]
            asyncio.run(fresh_database(database_url or ""))
        assert database_url
        assert redis_url
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "WEBHOOKS_ALLOW_LOCAL": "true",
            "WORKER_PROCESSES": "2",
        }
        subprocess.run(
            [sys.executable, "-m", "server.cli", "migrate"], env=env, cwd=ROOT, check=True
        )
        logs = ROOT / ".recoup" / "bench-webhooks"
        logs.mkdir(parents=True, exist_ok=True)
        log = (logs / "servers.log").open("wb")

        def start(cpu: int, *command: str) -> subprocess.Popen[bytes]:
            process = subprocess.Popen(
                ["taskset", "-c", str(cpu), sys.executable, *command],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=log,
            )
            processes.append(process)
            return process

        start(generator_cpu, str(ROOT / "bench" / "webhook_receiver.py"), str(PORT))
        for _ in range(100):
            try:
                control("hang/-")
                break
            except OSError:
                time.sleep(0.1)

        def start_servers() -> list[int]:
            for command in ("relay", "worker", "scheduler"):
                start(server_cpu, "-m", "server.cli", command)
            return [p.pid for p in processes[1:]]

        os.sched_setaffinity(0, {generator_cpu})
        print(
            f"receiver and load generator on CPU {generator_cpu}; relay, 2 workers and "
            f"scheduler on CPU {server_cpu}; PostgreSQL and Redis unpinned",
            flush=True,
        )
        results = asyncio.run(measure(database_url, args, start_servers))
        print(f"\nload at end: {uptime()}")
        report(results)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
