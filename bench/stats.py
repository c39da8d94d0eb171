"""Today's figures of a large floor: ``GET /api/v1/stats/realtime``'s computation for a
tenant with 200 agents, 100,000 open tasks and a day of payments, calls and promises; with
``--cumulative``, ``GET /api/v1/stats/cumulative``'s for the last 15 minutes and the last
24 hours, over 30 days of that history.

Starts its own embedded PostgreSQL under .recoup/bench (or uses DATABASE_URL), generates a
scratch tenant, and computes the figures from this process pinned to CPU 0 while
PostgreSQL runs on CPU 1. Prints the time of each computation (the best and the median of
several) and each statement's share of the last one.

    .venv/bin/python bench/stats.py [--agents 200] [--tasks 100000] [--accounts 100000]
        [--cumulative] [--history-days 30]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.worklist  # noqa: E402
from bench.worklist import agents, analyze, fresh_database, generate, pin_postgres  # noqa: E402
from domain.actor import system_actor  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.stats.service import StatsService  # noqa: E402

TARGET_MS = 200


async def activity(db: Database, tenant_id: int, team: list[int], tasks: int) -> None:
    """Open work (a third assigned to the agents), and today's payments, calls, promises
    and finished work, spread over the agents and the day so far."""
    async with db.tenant(tenant_id) as conn:
        first = await conn.fetchval("SELECT min(id) FROM accounts")
        accounts = await conn.fetchval("SELECT count(*) FROM accounts")
        queues = [
            await conn.fetchval(
                "INSERT INTO task_queues (tenant_id, name) VALUES ($1, $2) RETURNING id",
                tenant_id,
                f"Queue {n}",
            )
            for n in range(8)
        ]
        await conn.execute(
            """INSERT INTO tasks (tenant_id, account_id, type, priority, status, queue_id,
              assignee_id, created_at)
            SELECT $1, $2 + n % $3, 'call', n * 37 % 100,
              CASE WHEN n % 3 = 0 THEN 'assigned' WHEN n % 97 = 0 THEN 'in_progress'
                ELSE 'open' END,
              ($4::bigint[])[1 + n % 8],
              CASE WHEN n % 3 = 0 OR n % 97 = 0 THEN ($5::bigint[])[1 + n % $6] END,
              now() - make_interval(mins => n % 5000)
            FROM generate_series(1, $7) AS n""",
            tenant_id,
            first,
            accounts,
            queues,
            team,
            len(team),
            tasks,
        )
        day = "now() - make_interval(secs => n % 30000)"
        await conn.execute(
            f"""INSERT INTO tasks (tenant_id, account_id, type, priority, status, assignee_id,
              created_at, completed_at, started_at, assigned_at, assigned_by)
            SELECT $1, $2 + n % $3, 'call', 50, 'completed', ($4::bigint[])[1 + n % $5],
              {day}, {day}, {day} - make_interval(secs => n % 600),
              {day} - make_interval(secs => n % 600 + n % 300), 'round_robin'
            FROM generate_series(1, 20000) AS n""",
            tenant_id,
            first,
            accounts,
            team,
            len(team),
        )
        await conn.execute(
            f"""INSERT INTO payments (tenant_id, account_id, amount, currency, status, method,
              source, created_by, received_at)
            SELECT $1, $2 + n % $3, 10 + n % 90, 'USD',
              CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'succeeded' END, 'card', 'staff',
              ($4::bigint[])[1 + n % $5], {day}
            FROM generate_series(1, 10000) AS n""",
            tenant_id,
            first,
            accounts,
            team,
            len(team),
        )
        await conn.execute(
            f"""INSERT INTO interactions (tenant_id, account_id, debtor_id, user_id, channel,
              direction, disposition, occurred_at)
            SELECT $1, a.id, a.debtor_id, ($4::bigint[])[1 + n % $5], 'call', 'outbound',
              (ARRAY['right_party_contact', 'no_answer', 'left_message', 'promise'])[1 + n % 4],
              {day}
            FROM generate_series(1, 40000) AS n
            JOIN accounts a ON a.id = $2 + n % $3""",
            tenant_id,
            first,
            accounts,
            team,
            len(team),
        )
        await conn.execute(
            """INSERT INTO promises (tenant_id, account_id, amount, currency, due_date,
              status, created_by, resolved_at, created_at)
            SELECT $1, $2 + n % $3, 50, 'USD', current_date + n % 30 - 15,
              (ARRAY['pending', 'kept', 'broken'])[1 + n % 3], ($4::bigint[])[1 + n % $5],
              CASE WHEN n % 3 <> 0 THEN now() - make_interval(days => n % 20) END,
              now() - make_interval(days => n % 40)
            FROM generate_series(1, 30000) AS n""",
            tenant_id,
            first,
            accounts,
            team,
            len(team),
        )
    await analyze("tasks", "payments", "interactions", "promises", "users", vacuum=True)


async def history(db: Database, tenant_id: int, team: list[int], days: int) -> None:
    """The days before today, each as busy as today: finished work, payments, calls, and
    work taken back by the timeout sweep (its audit rows), also today's."""
    past = f"now() - make_interval(secs => 30000 + (n::bigint * 7919) % ({days} * 86400 - 30000))"
    per_day = {"tasks": 20000, "payments": 10000, "calls": 40000}
    async with db.tenant(tenant_id) as conn:
        first = await conn.fetchval("SELECT min(id) FROM accounts")
        accounts = await conn.fetchval("SELECT count(*) FROM accounts")
        shared = (tenant_id, first, accounts, team, len(team))
        await conn.execute(
            f"""INSERT INTO tasks (tenant_id, account_id, type, priority, status, assignee_id,
              created_at, completed_at, started_at, assigned_at, assigned_by)
            SELECT $1, $2 + n % $3, 'call', 50, 'completed', ($4::bigint[])[1 + n % $5],
              {past}, {past}, {past} - make_interval(secs => n % 600),
              {past} - make_interval(secs => n % 600 + n % 300), 'round_robin'
            FROM generate_series(1, $6) AS n""",
            *shared,
            per_day["tasks"] * (days - 1),
        )
        await conn.execute(
            f"""INSERT INTO payments (tenant_id, account_id, amount, currency, status, method,
              source, created_by, received_at)
            SELECT $1, $2 + n % $3, 10 + n % 90, 'USD',
              CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'succeeded' END, 'card', 'staff',
              ($4::bigint[])[1 + n % $5], {past}
            FROM generate_series(1, $6) AS n""",
            *shared,
            per_day["payments"] * (days - 1),
        )
        await conn.execute(
            f"""INSERT INTO interactions (tenant_id, account_id, debtor_id, user_id, channel,
              direction, disposition, occurred_at)
            SELECT $1, a.id, a.debtor_id, ($4::bigint[])[1 + n % $5], 'call', 'outbound',
              (ARRAY['right_party_contact', 'no_answer', 'left_message', 'promise'])[1 + n % 4],
              {past}
            FROM generate_series(1, $6) AS n
            JOIN accounts a ON a.id = $2 + n % $3""",
            *shared,
            per_day["calls"] * (days - 1),
        )
        await conn.execute(
            """INSERT INTO audit_log (tenant_id, actor_type, action, entity_type, entity_id,
              before, after, occurred_at)
            SELECT $1, 'system', 'task.timeout', 'task', t.id,
              jsonb_build_object('status', 'assigned', 'assignee_id', t.assignee_id),
              jsonb_build_object('status', 'open', 'queue_id', t.queue_id),
              now() - make_interval(secs => (n::bigint * 7919) % ($2 * 86400))
            FROM generate_series(1, $2 * 500) AS n
            JOIN tasks t ON t.id = (SELECT min(id) FROM tasks) + n""",
            tenant_id,
            days,
        )
    await analyze("tasks", "payments", "interactions", "audit_log", vacuum=True)


async def timed(db: Database, tenant_id: int, runs: int, compute) -> tuple[list[float], object]:  # type: ignore[no-untyped-def]
    """Each run's time (ms), and the last run's statements, slowest first."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        async with db.tenant(tenant_id) as conn:
            await compute(StatsService(conn, system_actor(tenant_id)))
        times.append((time.perf_counter() - started) * 1000)
    statements: list[tuple[float, str]] = []
    async with db.tenant(tenant_id) as conn:
        conn.add_query_logger(
            lambda q: statements.append((q.elapsed * 1000, " ".join(q.query.split())[:70]))
        )
        figures = await compute(StatsService(conn, system_actor(tenant_id)))
    for elapsed, query in sorted(statements, reverse=True)[:8]:
        print(f"  {elapsed:7.1f} ms  {query}")
    return times, figures


async def cumulative(db: Database, tenant_id: int, args: argparse.Namespace) -> None:
    for label, length in (("15 minutes", dt.timedelta(minutes=15)), ("24 hours", dt.timedelta(1))):

        async def compute(stats: StatsService, length: dt.timedelta = length):  # type: ignore[no-untyped-def]
            end = dt.datetime.now(dt.UTC)
            return await stats.cumulative(start=end - length, end=end)

        times, figures = await timed(db, tenant_id, args.runs, compute)
        print(
            f"cumulative, the last {label}: {figures.calls.attempted:,} calls, "
            f"{sum(c.count for c in figures.collected):,} payments, "
            f"{figures.tasks.completed:,} completed, {figures.tasks.timed_out:,} timed out, "
            f"{sum(len(h.hours) for h in figures.collected_per_hour)} hours"
        )
        print(
            f"cumulative figures ({label}): best {min(times):.0f} ms, median "
            f"{statistics.median(times):.0f} ms over {args.runs}"
        )
        if args.explain:
            await explain(db, tenant_id, compute)


async def explain(db: Database, tenant_id: int, compute) -> None:  # type: ignore[no-untyped-def]
    """Each statement's plan, as it ran."""
    ran: list[tuple[str, tuple]] = []
    async with db.tenant(tenant_id) as conn:
        conn.add_query_logger(lambda q: ran.append((q.query, q.args)))
        await compute(StatsService(conn, system_actor(tenant_id)))
    async with db.tenant(tenant_id) as conn:
        for query, params in ran:
            if not query.lstrip().upper().startswith("SELECT") or "FROM" not in query:
                continue
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, COSTS OFF) {query}", *params)
            print("\n  " + " ".join(query.split())[:90])
            for row in plan:
                print("    " + row[0])


async def measure(database_url: str, args: argparse.Namespace) -> None:
    from config.settings import Settings

    bench.worklist.OWNER_URL = database_url  # ANALYZE as the tables' owner
    db = await Database.from_settings(
        Settings(database_url=database_url), application_name="bench-stats", max_size=2
    ).open()
    try:
        tenant_id = await generate(db, args.accounts)
        team = await agents(db, tenant_id, args.agents, None)
        started = time.perf_counter()
        await activity(db, tenant_id, team, args.tasks)
        print(f"activity generated in {time.perf_counter() - started:.1f} s")
        if args.cumulative:
            started = time.perf_counter()
            await history(db, tenant_id, team, args.history_days)
            print(f"history generated in {time.perf_counter() - started:.1f} s")
            await cumulative(db, tenant_id, args)
            return
        times, figures = await timed(db, tenant_id, args.runs, StatsService.realtime)
        open_work = sum(figures.tasks.open_by_status.values())
        print(
            f"{len(figures.agents)} agents, {open_work:,} open tasks, "
            f"{figures.calls.attempted_today:,} calls today, "
            f"{sum(c.count for c in figures.collected):,} payments today"
        )
        print(
            f"realtime figures: best {min(times):.0f} ms, median {statistics.median(times):.0f} "
            f"ms over {args.runs} (target {TARGET_MS} ms: "
            f"{TARGET_MS / statistics.median(times):.1f}x)"
        )
        if args.explain:
            await explain(db, tenant_id, StatsService.realtime)
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cumulative", action="store_true", help="a period's figures instead")
    parser.add_argument("--history-days", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="each statement's plan")
    args = parser.parse_args()

    from server.embedded import EmbeddedServices

    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
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
        asyncio.run(measure(database_url or "", args))
    finally:
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
