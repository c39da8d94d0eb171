"""The worklist under load: a rule run over a million accounts, assignment throughput by
fewest open tasks, and "next task" pulls by concurrent agents.

Starts its own embedded PostgreSQL and Redis under .recoup/bench (or uses DATABASE_URL),
generates a scratch tenant, and drives the domain code from this process pinned to CPU 0
while PostgreSQL runs on CPU 1. Prints times, rates, the rule run's query plans, and checks
that no task was handed out twice.

    .venv/bin/python bench/worklist.py [--accounts 1000000] [--tasks 20000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.actor import Actor, system_actor  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.errors import Conflict  # noqa: E402
from domain.tenancy.service import create_tenant  # noqa: E402
from domain.worklist.rules import RuleService  # noqa: E402
from domain.worklist.schemas import Condition, RuleCreate  # noqa: E402
from server.pull_gate import PullGate, pull_next  # noqa: E402


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL process."""
    out = subprocess.run(["pgrep", "-f", "postgres"], capture_output=True, text=True).stdout
    total = 0.0
    for pid in out.split():
        with contextlib.suppress(OSError, ValueError):
            total += cpu_seconds(int(pid))
    return total


def pin_postgres(cpu: int) -> None:
    """Move every PostgreSQL process (and those it starts later) to one CPU."""
    out = subprocess.run(["pgrep", "-f", "postgres"], capture_output=True, text=True).stdout
    for pid in out.split():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(pid), {cpu})


OWNER_URL = ""


def midday_zone() -> str:
    """A zone where it is early afternoon now: calls in the bench are within contact hours."""
    offset = max(-12, min(14, 13 - time.gmtime().tm_hour))
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


async def analyze(*tables: str, vacuum: bool = False) -> None:
    """Fresh statistics (as the tables' owner: the application roles may not ANALYZE);
    with ``vacuum``, as after a bulk load, also the visibility map and a checkpoint, so that
    no background vacuum or checkpoint of the load lands inside a measurement."""
    owner = await asyncpg.connect(OWNER_URL)
    try:
        for table in tables:
            await owner.execute(f"VACUUM (ANALYZE) {table}" if vacuum else f"ANALYZE {table}")
        if vacuum:
            await owner.execute("CHECKPOINT")
    finally:
        await owner.close()


async def fresh_database(url: str) -> None:
    """The scratch database, empty (the embedded one only: never a database you named)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def generate(db: Database, accounts: int) -> int:
    """A scratch tenant with ``accounts`` accounts (and as many debtors), made in SQL."""
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    async with db.system() as conn:
        tenant = await create_tenant(conn, slug=slug, name="Worklist bench", defaults=False)
        started = time.perf_counter()
        await conn.execute(
            """INSERT INTO debtors (tenant_id, external_ref, first_name, last_name, phone,
              time_zone)
            SELECT $1, 'D' || n, 'First' || n % 997, 'Last' || n % 1009, '+1555' || n, $3
            FROM generate_series(1, $2) AS n""",
            tenant.id,
            accounts,
            midday_zone(),
        )
        await conn.execute(
            """INSERT INTO accounts (tenant_id, debtor_id, external_ref, currency, principal,
              interest, fees, due_date, status, custom)
            SELECT d.tenant_id, d.id, 'A' || d.external_ref, 'USD',
              (d.id * 7919 % 500000) / 100.0, 0, 0,
              current_date - (d.id * 31 % 400)::int,
              (ARRAY['active', 'active', 'active', 'promised', 'promise_broken', 'disputed',
                     'paid'])[1 + d.id % 7],
              '{}'::jsonb
            FROM debtors d WHERE d.tenant_id = $1""",
            tenant.id,
        )
    # As after any bulk load: fresh statistics, so that plans fit the new tenant's size.
    await analyze("debtors", "accounts", vacuum=True)
    print(f"generated {accounts:,} accounts in {time.perf_counter() - started:.1f} s")
    return tenant.id


async def explain(db: Database, tenant_id: int, rule_id: int) -> None:
    async with db.tenant(tenant_id) as conn:
        service = RuleService(conn, system_actor(tenant_id))
        rule = await service.get(rule_id)
        sql, args = service.creation_sql(rule, await service.context())
        plan = await conn.fetch(f"EXPLAIN {sql}", *args)
        print("   plan:")
        for row in plan:
            print(f"     {row[0]}")


async def rule_runs(db: Database, tenant_id: int) -> None:
    actor = system_actor(tenant_id)
    rules = {
        "broad: 30+ days past due, balance over 100, active or broken promise": [
            Condition(field="days_past_due", op="at_least", value=30),
            Condition(field="balance", op="gt", value="100"),
            Condition(field="status", op="in", value=["active", "promise_broken"]),
        ],
        "selective: disputed": [Condition(field="status", op="in", value=["disputed"])],
        "selective: due in the next 7 days": [
            Condition(field="due_date", op="within_days", value=7)
        ],
    }
    print("\n== rule runs ==")
    for name, conditions in rules.items():
        async with db.tenant(tenant_id) as conn:
            rule = await RuleService(conn, actor).create(
                RuleCreate(name=name[:100], conditions=conditions, task_type="review")
            )
        await explain(db, tenant_id, rule.id)
        for attempt in ("first run", "second run (nothing new)"):
            started = time.perf_counter()
            async with db.tenant(tenant_id) as conn:
                run = await RuleService(conn, actor).run(rule.id)
            took = time.perf_counter() - started
            print(f" - {name}, {attempt}: {run.created:,} tasks in {took:.2f} s")
        async with db.tenant(tenant_id) as conn:
            await conn.execute("DELETE FROM tasks WHERE rule_id = $1", rule.id)


async def agents(
    db: Database, tenant_id: int, count: int, group_id: int | None, capacity: int = 25
) -> list[int]:
    async with db.tenant(tenant_id) as conn:
        rows = await conn.fetch(
            """INSERT INTO users (tenant_id, email, name, password_hash, role, group_id, status,
              capacity, last_seen_at)
            SELECT $1, $2 || n || '@bench.test', 'Agent ' || n, 'x', 'collector', $3,
              'available', $5, now()
            FROM generate_series(1, $4) AS n RETURNING id""",
            tenant_id,
            uuid.uuid4().hex[:8],
            group_id,
            count,
            capacity,
        )
    return [r["id"] for r in rows]


async def make_tasks(db: Database, tenant_id: int, count: int, **values: object) -> None:
    async with db.tenant(tenant_id) as conn:
        account = await conn.fetchval(
            "SELECT min(id) FROM accounts WHERE tenant_id = $1", tenant_id
        )
        await conn.execute(
            """INSERT INTO tasks (tenant_id, account_id, type, priority, status, queue_id,
              group_id, strategy)
            SELECT $1, a.id, $7, (n * 37 % 100), 'open', $3, $4, $5
            FROM generate_series(1, $6) AS n
            JOIN LATERAL (
              SELECT id FROM accounts WHERE tenant_id = $1 AND id >= $2 + n % 1000
                AND status IN ('active', 'promised', 'promise_broken')
              ORDER BY id LIMIT 1) a ON true""",
            tenant_id,
            account,
            values.get("queue_id"),
            values.get("group_id"),
            values.get("strategy", {"kind": "queue"}),
            count,
            values.get("type", "review"),
        )
    await analyze("tasks")


async def assignment(db: Database, tenant_id: int, count: int) -> None:
    print("\n== assignment: fewest open tasks, 50 agents ==")
    async with db.tenant(tenant_id) as conn:
        group_id = await conn.fetchval(
            "INSERT INTO agent_groups (tenant_id, name) VALUES ($1, $2) RETURNING id",
            tenant_id,
            f"Bench {uuid.uuid4().hex[:6]}",
        )
    # Room for the whole batch: this measures the assigner, not the agents' limits.
    team = await agents(db, tenant_id, 50, group_id, capacity=count // 50 + 1)
    await make_tasks(
        db,
        tenant_id,
        count,
        group_id=group_id,
        strategy={"kind": "fewest_open", "group_id": group_id},
    )
    from tasks.worklist import assign_tenant

    started = time.perf_counter()
    app_cpu, db_cpu = cpu_seconds(os.getpid()), postgres_cpu()
    made = await assign_tenant(db, tenant_id)
    took = time.perf_counter() - started
    app_cpu, db_cpu = cpu_seconds(os.getpid()) - app_cpu, postgres_cpu() - db_cpu
    async with db.tenant(tenant_id) as conn:
        loads = await conn.fetch(
            """SELECT assignee_id, count(*) AS n FROM tasks
            WHERE assignee_id = ANY($1::bigint[]) GROUP BY 1""",
            team,
        )
        twice = await conn.fetchval(
            """SELECT count(*) FROM (SELECT entity_id FROM audit_log
              WHERE action = 'task.assign' AND tenant_id = $1 GROUP BY entity_id
              HAVING count(*) > 1) x""",
            tenant_id,
        )
    spread = [r["n"] for r in loads]
    print(
        f" - {made:,} tasks assigned in {took:.2f} s: {made / took:,.0f} tasks/s "
        f"(target 1,000/s: {made / took / 1000:.1f}x); loads {min(spread)}..{max(spread)}; "
        f"assigned twice: {twice}"
    )
    print(
        f"   CPU per assignment: app {app_cpu / made * 1e6:,.0f} µs, "
        f"PostgreSQL {db_cpu / made * 1e6:,.0f} µs"
    )


async def pulls(
    db: Database,
    tenant_id: int,
    count: int,
    seconds: float,
    agent_count: int = 20,
    task_type: str = "review",
) -> None:
    what = (
        "call tasks, each checked against contact rules" if task_type == "call" else "review tasks"
    )
    print(f"\n== next task: {agent_count} agents pulling concurrently from one queue ({what}) ==")
    pullers = await agents(db, tenant_id, agent_count, None)
    async with db.tenant(tenant_id) as conn:
        queue_id = await conn.fetchval(
            """INSERT INTO task_queues (tenant_id, name, agent_ids)
            VALUES ($1, $2, $3) RETURNING id""",
            tenant_id,
            f"Bench {uuid.uuid4().hex[:6]}",
            pullers,
        )
    await make_tasks(db, tenant_id, count, queue_id=queue_id, type=task_type)
    got: list[int] = []
    refused: list[int] = []
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    # As the web process does: pulls go through its gate (PULL_CONCURRENCY, default 3).
    gate = PullGate(int(os.environ.get("PULL_CONCURRENCY", "3")))

    async def agent(user_id: int) -> None:
        actor = Actor(tenant_id=tenant_id, type="user", id=user_id, role="collector")
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                found = await pull_next(db, actor, gate)
            except Conflict:  # at capacity until the finisher's next round
                refused.append(user_id)
                await asyncio.sleep(0.05)
                continue
            latencies.append(time.perf_counter() - began)
            if found.task is None:
                return
            got.append(found.task.id)

    async def finish_work() -> None:
        """The collectors finish what they pulled (five times a second, set-based), so that
        each holds a working day's handful of tasks rather than thousands."""
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.2)
            async with db.tenant(tenant_id) as conn:
                await conn.execute(
                    """UPDATE tasks SET status = 'completed', outcome = 'done',
                      completed_at = now(), updated_at = now()
                    WHERE tenant_id = $1 AND queue_id = $2 AND status = 'in_progress'""",
                    tenant_id,
                    queue_id,
                )

    started = time.perf_counter()
    app_cpu, db_cpu = cpu_seconds(os.getpid()), postgres_cpu()
    finisher = asyncio.create_task(finish_work())
    await asyncio.gather(*(agent(a) for a in pullers))
    took = time.perf_counter() - started
    app_cpu, db_cpu = cpu_seconds(os.getpid()) - app_cpu, postgres_cpu() - db_cpu
    finisher.cancel()
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    print(
        f" - {len(got):,} pulls in {took:.2f} s: {len(got) / took:,.0f} pulls/s "
        f"(target 1,000/s: {len(got) / took / 1000:.1f}x); p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
        f"handed out twice: {len(got) - len(set(got))}; refused at capacity: {len(refused)}"
    )
    print(
        f"   CPU per pull: app {app_cpu / len(got) * 1e6:,.0f} µs, "
        f"PostgreSQL {db_cpu / len(got) * 1e6:,.0f} µs"
    )


async def run(database_url: str, args: argparse.Namespace) -> None:
    from config.settings import Settings

    global OWNER_URL
    OWNER_URL = database_url
    settings = Settings(database_url=database_url, redis_url="redis://unused")
    db = await Database.from_settings(
        settings, application_name="recoup-bench", min_size=2, max_size=24
    ).open()
    try:
        tenant_id = await generate(db, args.accounts if not args.skip_rules else 1000)
        if not args.skip_rules:
            await rule_runs(db, tenant_id)
        await assignment(db, tenant_id, args.tasks)
        await pulls(db, tenant_id, args.tasks, args.seconds)
        await pulls(db, tenant_id, args.tasks, args.seconds, task_type="call")
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--skip-rules", action="store_true")
    args = parser.parse_args()

    from server.embedded import EmbeddedServices

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
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            pin_postgres(cpus[-1])
            os.sched_setaffinity(0, {cpus[0]})
            print(f"this process (the app) on CPU {cpus[0]}, PostgreSQL on CPU {cpus[-1]}")
        asyncio.run(run(database_url or "", args))
    finally:
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
