"""The supervisor's reports over a large tenant: aging, liquidation, promise kept rate and
collector performance for a tenant of 1,000,000 accounts with two years of payments, a
year of promises and half a year of calls and finished work.

Starts its own embedded PostgreSQL under .recoup/bench (or uses DATABASE_URL), loads a
scratch tenant with COPY (and a smaller second tenant, so that every index has to pick the
tenant's rows out of others'), and computes each report from this process pinned to CPU 0
while PostgreSQL runs on CPU 1. Prints each report's best and median time over several
runs, and with ``--explain`` the plan of each statement.

    .venv/bin/python bench/reports.py [--accounts 1000000] [--runs 7] [--explain] [--reuse]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench.worklist  # noqa: E402
from bench.worklist import analyze, fresh_database, pin_postgres  # noqa: E402
from domain.actor import system_actor  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.reports.service import ReportService  # noqa: E402
from domain.tenancy.service import create_tenant  # noqa: E402

TARGET_MS = 2000
CURRENCIES = ["USD"] * 16 + ["EUR"] * 3 + ["GBP"]
DISPOSITIONS = [
    "no_answer",
    "no_answer",
    "no_answer",
    "left_message",
    "left_message",
    "wrong_number",
    "right_party_contact",
    "promise",
    "refusal",
    "callback_requested",
]
DAY = 86_400


def spread(rng: random.Random, now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(seconds=rng.randrange(days * DAY))


async def load(owner: asyncpg.Connection, tenant_id: int, accounts: int, agents: list[int]) -> None:
    """COPY the tenant's debtors, accounts and their history (as the tables' owner: COPY
    FROM does not run under row-level security)."""
    rng = random.Random(tenant_id)
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    tag = uuid.uuid4().hex[:6]
    await owner.copy_records_to_table(
        "debtors",
        columns=["tenant_id", "external_ref", "first_name", "last_name", "phone", "time_zone"],
        records=(
            (tenant_id, f"D{tag}{n}", f"First{n % 997}", f"Last{n % 1009}", f"+1555{n}", "UTC")
            for n in range(accounts)
        ),
    )
    debtors = [
        r["id"]
        for r in await owner.fetch(
            "SELECT id FROM debtors WHERE tenant_id = $1 ORDER BY id", tenant_id
        )
    ]
    statuses = ["active"] * 5 + ["promised", "promise_broken", "disputed", "paid", "closed"]
    rows = []
    for n, debtor in enumerate(debtors):
        placed = spread(rng, now, 730)
        principal = Decimal(rng.randrange(5_000, 500_000)) / 100
        fees = Decimal(rng.randrange(0, 5_000)) / 100
        rows.append(
            (
                tenant_id,
                debtor,
                f"A{tag}{n}",
                rng.choice(CURRENCIES),
                principal,
                Decimal(0),
                fees,
                principal + fees + Decimal(rng.randrange(0, 20_000)) / 100,
                None if n % 50 == 0 else today - dt.timedelta(days=rng.randrange(-30, 720)),
                rng.choice(statuses),
                placed,
            )
        )
    await owner.copy_records_to_table(
        "accounts",
        columns=[
            "tenant_id",
            "debtor_id",
            "external_ref",
            "currency",
            "principal",
            "interest",
            "fees",
            "placed_balance",
            "due_date",
            "status",
            "created_at",
        ],
        records=rows,
    )
    ids = [
        (r["id"], r["debtor_id"], r["currency"], r["created_at"])
        for r in await owner.fetch(
            "SELECT id, debtor_id, currency, created_at FROM accounts WHERE tenant_id = $1",
            tenant_id,
        )
    ]
    del rows

    def payments() -> Iterator[tuple[Any, ...]]:
        for _ in range(accounts * 6 // 10):
            account, _, currency, placed = rng.choice(ids)
            at = placed + (now - placed) * rng.random()
            status = rng.choices(["succeeded", "failed", "refunded"], [90, 7, 3])[0]
            by = rng.choice(agents) if rng.random() < 0.7 else None
            amount = Decimal(rng.randrange(1_000, 50_000)) / 100
            yield (
                tenant_id,
                account,
                amount,
                currency,
                status,
                "card",
                "staff",
                by,
                at,
                at,
                placed,
            )

    await owner.copy_records_to_table(
        "payments",
        columns=[
            "tenant_id",
            "account_id",
            "amount",
            "currency",
            "status",
            "method",
            "source",
            "created_by",
            "received_at",
            "created_at",
            "placed_at",
        ],
        records=payments(),
    )

    def promises() -> Iterator[tuple[Any, ...]]:
        for _ in range(accounts * 4 // 10):
            account, _, currency, _ = rng.choice(ids)
            made = spread(rng, now, 365)
            due = made.date() + dt.timedelta(days=rng.randrange(1, 45))
            if due >= today:
                status, resolved = "pending", None
            else:
                status = rng.choices(["kept", "broken", "cancelled"], [55, 40, 5])[0]
                resolved = dt.datetime.combine(due, dt.time(12), dt.UTC)
            yield (
                tenant_id,
                account,
                Decimal(50),
                currency,
                due,
                status,
                rng.choice(agents),
                resolved,
                made,
            )

    await owner.copy_records_to_table(
        "promises",
        columns=[
            "tenant_id",
            "account_id",
            "amount",
            "currency",
            "due_date",
            "status",
            "created_by",
            "resolved_at",
            "created_at",
        ],
        records=promises(),
    )

    def interactions() -> Iterator[tuple[Any, ...]]:
        for _ in range(accounts * 3 // 2):
            account, debtor, _, _ = rng.choice(ids)
            at = spread(rng, now, 180)
            channel = "call" if rng.random() < 0.85 else rng.choice(["sms", "email"])
            direction = "outbound" if rng.random() < 0.9 else "inbound"
            disposition = rng.choice(DISPOSITIONS) if channel == "call" else None
            yield (
                tenant_id,
                account,
                debtor,
                rng.choice(agents),
                channel,
                direction,
                disposition,
                at,
                at,
            )

    await owner.copy_records_to_table(
        "interactions",
        columns=[
            "tenant_id",
            "account_id",
            "debtor_id",
            "user_id",
            "channel",
            "direction",
            "disposition",
            "occurred_at",
            "created_at",
        ],
        records=interactions(),
    )

    def tasks() -> Iterator[tuple[Any, ...]]:
        for _ in range(accounts * 3 // 10):
            account, *_ = rng.choice(ids)
            done = spread(rng, now, 180)
            started = done - dt.timedelta(seconds=rng.randrange(30, 1_200))
            yield (tenant_id, account, "call", "completed", rng.choice(agents), started, done)

    await owner.copy_records_to_table(
        "tasks",
        columns=[
            "tenant_id",
            "account_id",
            "type",
            "status",
            "assignee_id",
            "started_at",
            "completed_at",
        ],
        records=tasks(),
    )


async def tenant_with_agents(db: Database, name: str, agents: int) -> tuple[int, list[int]]:
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    async with db.system() as conn:
        tenant = await create_tenant(conn, slug=slug, name=name, defaults=False)
    async with db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tenants SET time_zone = 'America/New_York' WHERE id = $1", tenant.id
        )
        rows = await conn.fetch(
            """INSERT INTO users (tenant_id, email, name, password_hash, role)
            SELECT $1, $2 || n || '@bench.test', 'Agent ' || n, 'x', 'collector'
            FROM generate_series(1, $3) AS n RETURNING id""",
            tenant.id,
            slug,
            agents,
        )
    return tenant.id, [r["id"] for r in rows]


NAMES = (
    "aging",
    "liquidation, 12 months",
    "promise kept, 6 months by month",
    "promise kept, 6 months by week",
    "collectors, this month",
    "collectors, 6 months",
)


def reports(service: ReportService, today: dt.date) -> dict[str, Callable[[], Awaitable[Any]]]:
    year_ago = (today - dt.timedelta(days=335)).replace(day=1)
    half_year = (today - dt.timedelta(days=150)).replace(day=1)
    month = today.replace(day=1)
    return {
        "aging": service.aging,
        "liquidation, 12 months": lambda: service.liquidation(year_ago, today),
        "promise kept, 6 months by month": lambda: service.promise_kept(half_year, today, "month"),
        "promise kept, 6 months by week": lambda: service.promise_kept(half_year, today, "week"),
        "collectors, this month": lambda: service.collectors(month, today),
        "collectors, 6 months": lambda: service.collectors(half_year, today),
    }


async def measure(database_url: str, args: argparse.Namespace) -> None:
    from config.settings import Settings

    bench.worklist.OWNER_URL = database_url
    db = await Database.from_settings(
        Settings(database_url=database_url), application_name="bench-reports", max_size=2
    ).open()
    owner = await asyncpg.connect(database_url)
    # A bulk load of rows made consistent here: no per-row foreign-key checks (the load
    # names placed_balance itself, the trigger's work).
    await owner.execute("SET session_replication_role = replica")
    try:
        started = time.perf_counter()
        if args.reuse:
            tenant_id = await owner.fetchval(
                "SELECT max(id) FROM tenants WHERE name = 'Reports bench'"
            )
            await report_times(db, tenant_id, args)
            return
        other, other_agents = await tenant_with_agents(db, "Another tenant", 20)
        await load(owner, other, args.accounts // 10, other_agents)
        tenant_id, agents = await tenant_with_agents(db, "Reports bench", args.agents)
        print(f"  another tenant loaded in {time.perf_counter() - started:.0f} s")
        await load(owner, tenant_id, args.accounts, agents)
        print(f"  the tenant loaded in {time.perf_counter() - started:.0f} s")
        await analyze(
            "debtors", "accounts", "payments", "promises", "interactions", "tasks", vacuum=True
        )
        print(
            f"loaded {args.accounts:,} accounts (+{args.accounts // 10:,} of another tenant) "
            f"and their history in {time.perf_counter() - started:.0f} s"
        )
        async with db.tenant(tenant_id) as conn:
            counts = {
                t: await conn.fetchval(f"SELECT count(*) FROM {t}")
                for t in ("accounts", "payments", "promises", "interactions", "tasks")
            }
        print("tenant rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        await report_times(db, tenant_id, args)
    finally:
        await owner.close()
        await db.close()


async def report_times(db: Database, tenant_id: int, args: argparse.Namespace) -> None:
    for name in NAMES:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            async with db.tenant(tenant_id) as conn:
                service = ReportService(conn, system_actor(tenant_id))
                today = await service.today()
                result = await reports(service, today)[name]()
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"{name:34} best {min(times):6.0f} ms  median {statistics.median(times):6.0f} ms"
            f"  ({len(result.rows)} rows; target {TARGET_MS} ms)"
        )
        if args.explain:
            await explain(db, tenant_id, name)


async def explain(db: Database, tenant_id: int, name: str) -> None:
    """Each statement of one report, run again under EXPLAIN ANALYZE: its plan, indented."""
    statements: list[tuple[str, tuple[Any, ...]]] = []
    async with db.tenant(tenant_id) as conn:
        service = ReportService(conn, system_actor(tenant_id))
        today = await service.today()
        conn.add_query_logger(lambda q: statements.append((q.query, q.args)))
        await reports(service, today)[name]()
    async with db.tenant(tenant_id) as conn:
        for query, args in statements:
            if not query.lstrip().startswith(("SELECT", "WITH")) or "tenants" in query:
                continue
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {query}", *args)
            print("\n".join("      " + r[0] for r in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="time the tenant the last run loaded, again"
    )
    args = parser.parse_args()

    from server.embedded import EmbeddedServices

    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    services = None
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        services = EmbeddedServices(ROOT / ".recoup" / "bench", database="recoup_bench")
        database_url = services.start(need_postgres=True, need_redis=False)[0]
        if not args.reuse:
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
