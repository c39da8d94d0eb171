"""The workflow engine under load, and CEL on its own.

Events per second through the engine: a scratch tenant with 50 enabled workflows on
``payment.received``, each with a condition that holds for one account in 25 (so two match
every event), and one step that writes a row (``create_task``: the task, its audit row and
its event; ``--action emit``: one event). Events are written to the outbox and kept in the
engine's inbox as the relay keeps them, in batches, each batch announced with NOTIFY; two
worker processes (as two taskiq workers running ``workflows.process``) take them with
``FOR UPDATE SKIP LOCKED``. Outbox-to-action latency is each task's ``created_at`` less its
event's ``occurred_at``.

CEL: a typical condition evaluated against a prepared context, on one core.

    .venv/bin/python bench/workflows.py [--events 20000] [--rate 0] [--action create_task]

Starts its own embedded PostgreSQL under .recoup/bench (or uses DATABASE_URL); the workers
run on CPU 0 and PostgreSQL on CPU 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import timeit
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.worklist  # noqa: E402
from bench.worklist import fresh_database, midday_zone, pin_postgres  # noqa: E402
from domain.clock import utcnow  # noqa: E402
from domain.db import Database, connect  # noqa: E402
from domain.tenancy.service import create_tenant  # noqa: E402
from domain.workflows import conditions, queries  # noqa: E402
from domain.workflows.links import Links  # noqa: E402
from domain.workflows.variables import sample  # noqa: E402

WORKFLOWS = 50
MATCH_ONE_IN = 25
BATCH = 200
CHANNEL = "bench_workflows"
# The tables a batch writes, analyzed after the warm-up.
WRITTEN = (
    "outbox",
    "workflow_inbox",
    "workflow_runs",
    "workflow_run_steps",
    "tasks",
    "audit_log",
)
PROGRESS = "bench_workflows_progress"
TYPICAL = (
    'account.days_past_due >= 30 && account.status == "active" && '
    '!("vip" in debtor.flags) && account.balance_minor > 50000'
)


def cel_rate(seconds: float = 3.0) -> tuple[float, float]:
    """Evaluations per second of the typical condition: against one prepared context, and
    with a context built for each evaluation."""
    values = sample("payment.received")
    values["account"].update(days_past_due=45, balance_minor=60000)
    ctx = conditions.context(values)
    conditions.holds(TYPICAL, ctx)
    n = 20_000
    rates = []
    for fn in (
        lambda: conditions.holds(TYPICAL, ctx),
        lambda: conditions.holds(TYPICAL, conditions.context(values)),
    ):
        best = 0.0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            best = max(best, n / timeit.timeit(fn, number=n))
        rates.append(best)
    return rates[0], rates[1]


async def setup(db: Database, accounts: int, action: str) -> int:
    async with db.system() as conn:
        tenant = await create_tenant(
            conn, slug=f"wf-{uuid.uuid4().hex[:8]}", name="Workflows", defaults=False
        )
        await conn.execute(
            """INSERT INTO debtors (tenant_id, external_ref, first_name, last_name, phone,
              time_zone)
            SELECT $1, 'D' || n, 'First' || n, 'Last' || n, '+1555' || n, $3
            FROM generate_series(1, $2) AS n""",
            tenant.id,
            accounts,
            midday_zone(),
        )
        await conn.execute(
            """INSERT INTO accounts (tenant_id, debtor_id, external_ref, currency, principal,
              due_date)
            SELECT d.tenant_id, d.id, 'A' || d.id, 'USD', 1000, current_date - 40
            FROM debtors d WHERE d.tenant_id = $1""",
            tenant.id,
        )
        step = (
            {"kind": "create_task", "type": "review"}
            if action == "create_task"
            else {"kind": "emit", "event": "bench"}
        )
        for i in range(WORKFLOWS):
            definition = {
                "trigger": {"type": "payment.received", "days": None, "bucket": None},
                "conditions": [f"account.id % {MATCH_ONE_IN} == {i % MATCH_ONE_IN}"],
                "steps": [step],
            }
            await queries.insert_workflow(
                conn,
                tenant.id,
                name=f"bench {i}",
                enabled=True,
                trigger_type="payment.received",
                definition=definition,
                at=utcnow(),
            )
    # As autovacuum would have by the time events arrive: the planner knows the tables.
    await bench.worklist.analyze("debtors", "debtor_contacts", "accounts", vacuum=True)
    return tenant.id


def worker(database_url: str, tenant_id: int, cpu: int, stop_at: float, profile: str) -> None:
    os.sched_setaffinity(0, {cpu})
    if not profile:
        asyncio.run(_worker(database_url, tenant_id, stop_at))
        return
    import cProfile

    profiler = cProfile.Profile()
    # Written when the bench stops the worker (SIGTERM), which ends the loop.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    profiler.enable()
    try:
        asyncio.run(_worker(database_url, tenant_id, stop_at))
    except KeyboardInterrupt:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(f"{profile}.{os.getpid()}")


async def _worker(database_url: str, tenant_id: int, stop_at: float) -> None:
    from config.settings import Settings
    from tasks.workflows import process_tenant

    db = await Database.from_settings(
        Settings(database_url=database_url), application_name="bench-worker", max_size=2
    ).open()
    wake = asyncio.Event()
    listener = await connect(db.system_dsn, application_name="bench-listen")
    await listener.add_listener(CHANNEL, lambda *_: wake.set())
    links = Links(base_url="http://bench", secret="bench")
    try:
        while time.time() < stop_at:
            wake.clear()
            if await process_tenant(db, tenant_id, links) == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), 0.5)
            else:
                await listener.execute(f"NOTIFY {PROGRESS}")
    finally:
        await listener.close()
        await db.close()


async def produce(db: Database, tenant_id: int, accounts: int, events: int, rate: float) -> float:
    """Write ``events`` payment events and stage them as the relay does; seconds taken."""
    started = time.perf_counter()
    made = 0
    # Flat out, in batches of 200; at a set rate, a batch every 20 ms, as a busy relay does.
    batch = max(1, min(BATCH, round(rate / 50))) if rate else BATCH
    while made < events:
        n = min(batch, events - made)
        async with db.system() as conn:
            ids = await conn.fetch(
                """INSERT INTO outbox (tenant_id, event_id, type, channels, data, occurred_at,
                  published_at)
                SELECT $1, gen_random_uuid(), 'payment.received', '{}',
                  jsonb_build_object('payment', jsonb_build_object('account_id',
                    (SELECT min(id) FROM accounts WHERE tenant_id = $1) + (n % $3),
                    'amount', '10.00', 'currency', 'USD')),
                  clock_timestamp(), clock_timestamp()
                FROM generate_series($2 + 1, $2 + $4) AS n RETURNING id""",
                tenant_id,
                made,
                accounts,
                n,
            )
            await queries.stage(conn, [r["id"] for r in ids])
            await conn.execute(f"NOTIFY {CHANNEL}")
        made += n
        if rate:
            ahead = made / rate - (time.perf_counter() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
    return time.perf_counter() - started


async def measure(database_url: str, args: argparse.Namespace) -> dict[str, float]:
    from config.settings import Settings

    db = await Database.from_settings(
        Settings(database_url=database_url), application_name="bench", max_size=4
    ).open()
    try:
        tenant_id = await setup(db, args.accounts, args.action)
        cpus = sorted(os.sched_getaffinity(0))
        stop_at = time.time() + 600
        workers = [
            multiprocessing.get_context("spawn").Process(
                target=worker,
                args=(database_url, tenant_id, cpus[0], stop_at, args.profile or ""),
            )
            for _ in range(2)
        ]
        for p in workers:
            p.start()
        await asyncio.sleep(3)  # the workers connect and load their plans
        listener = await connect(db.system_dsn, application_name="bench-progress")
        progress = asyncio.Event()
        await listener.add_listener(PROGRESS, lambda *_: progress.set())

        async def drained() -> None:
            # Done when the inbox is empty: checked each time a worker finishes a batch.
            while await listener.fetchval(
                "SELECT count(*) FROM workflow_inbox WHERE tenant_id = $1", tenant_id
            ):
                progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(progress.wait(), 1.0)

        if args.warmup:
            # A running system's tables have history and statistics; a database a minute
            # old has neither, and its first plans (cached by every connection) are those
            # of empty tables. Warm up, then ANALYZE as autovacuum would.
            await produce(db, tenant_id, args.accounts, args.warmup, 0)
            await drained()
            await bench.worklist.analyze(*WRITTEN)
        started = time.perf_counter()
        since = await listener.fetchval("SELECT clock_timestamp()")
        await produce(db, tenant_id, args.accounts, args.events, args.rate)
        await drained()
        await listener.close()
        elapsed = time.perf_counter() - started
        for p in workers:
            p.terminate()
            p.join()
        async with db.system() as conn:
            figures = await conn.fetchrow(
                """SELECT count(*) AS runs,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM
                    s.finished_at - o.occurred_at)) AS p50,
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM
                    s.finished_at - o.occurred_at)) AS p99
                FROM workflow_runs r
                JOIN outbox o ON o.event_id = r.event_id
                JOIN workflow_run_steps s ON s.run_id = r.id
                WHERE r.tenant_id = $1 AND r.status = 'completed' AND o.occurred_at >= $2""",
                tenant_id,
                since,
            )
        return {
            "events": args.events,
            "seconds": elapsed,
            "events_per_second": args.events / elapsed,
            "runs": figures["runs"],
            "p50_ms": figures["p50"] * 1000,
            "p99_ms": figures["p99"] * 1000,
        }
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=0, help="events per second (0: flat out)")
    parser.add_argument("--action", choices=["create_task", "emit"], default="create_task")
    parser.add_argument(
        "--warmup",
        type=int,
        default=2_000,
        help="events through the engine before measuring, then ANALYZE (0: a cold database)",
    )
    parser.add_argument("--profile", help="write each worker's cProfile statistics to PATH.pid")
    args = parser.parse_args()

    from server.embedded import EmbeddedServices

    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    eval_prepared, eval_fresh = cel_rate()
    print(
        f"CEL, the typical condition on one core: {eval_prepared:,.0f} evaluations/s against "
        f"a prepared context, {eval_fresh:,.0f}/s building the context each time"
    )

    services = None
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        services = EmbeddedServices(ROOT / ".recoup" / "bench", database="recoup_bench")
        database_url = services.start(need_postgres=True, need_redis=False)[0]
        asyncio.run(fresh_database(database_url))
    try:
        env = {**os.environ, "DATABASE_URL": database_url or "", "LOG_LEVEL": "WARNING"}
        subprocess.run(
            [sys.executable, "-m", "server.cli", "migrate"], env=env, cwd=ROOT, check=True
        )
        if len(cpus) > 1:
            pin_postgres(cpus[-1])
            print(f"workers and load on CPU {cpus[0]}, PostgreSQL on CPU {cpus[-1]}")
        bench.worklist.OWNER_URL = database_url or ""  # ANALYZE as the tables' owner
        figures = asyncio.run(measure(database_url or "", args))
        print(json.dumps(figures, indent=2))
        print(
            f"{figures['events_per_second']:,.0f} events/s through the engine "
            f"({WORKFLOWS} workflows, {figures['runs']:,} runs, action {args.action}); "
            f"outbox to action p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms"
        )
    finally:
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
