"""Importing accounts from CSV: rows per second end to end and the peak memory it takes.

Writes a placement file of ``--rows`` accounts (two per debtor; names, e-mail, currency,
principal, interest, fees, due date; a few bad rows), then imports it into a scratch tenant
with the same code as the job and ``recoup import``: the check pass over the whole file,
parsing and checking each row, COPY into the staging table, the debtor and account merges
with their audit rows, the rejected rows and one event per batch. Then imports the same file
again, which must change nothing. Prints rows per second for both and the peak resident
memory of this process (``ru_maxrss``), which must stay flat whatever the file's size.
With ``--custom`` the tenant defines two custom fields of accounts that the file feeds (a
select and a number) and a computed one, recomputed for each batch.

Starts its own embedded PostgreSQL under .recoup/bench (or uses DATABASE_URL); this process
runs on CPU 0 and PostgreSQL on CPU 1.

    .venv/bin/python bench/imports.py [--rows 1000000] [--batch-rows 20000] [--custom] [--payments]

With ``--payments``, then imports a file of one payment per account (paying its fees and
part of its principal), twice, the same way: the payment merge's checks against the
accounts, allocation, payments, balances and audit rows, one statement per batch.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.worklist import fresh_database, pin_postgres  # noqa: E402
from config.settings import Settings  # noqa: E402
from domain.actor import system_actor  # noqa: E402
from domain.custom_fields.schemas import CustomFieldCreate  # noqa: E402
from domain.custom_fields.service import CustomFieldService  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.imports.mapping import Mapping  # noqa: E402
from domain.imports.reader import checksum  # noqa: E402
from domain.imports.runner import run_import  # noqa: E402
from domain.imports.service import ImportService  # noqa: E402
from domain.tenancy.service import create_tenant  # noqa: E402

TARGET_ROWS_PER_SECOND = 100_000
TARGET_RSS_MB = 300
CURRENCIES = ["USD"] * 16 + ["EUR"] * 3 + ["GBP"]
MAPPING = Mapping(
    columns={
        "account_ref": "account_number",
        "debtor_ref": "customer_id",
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "currency": "currency",
        "principal": "principal",
        "interest": "interest",
        "fees": "fees",
        "due_date": "due_date",
        "creditor": "creditor",
    }
)


CUSTOM_COLUMNS = {"custom.tier": "tier", "custom.score": "score"}
TIERS = ["gold", "silver", "bronze"]
CUSTOM_FIELDS = [
    CustomFieldCreate(entity="account", key="tier", label="Tier", type="select", options=TIERS),
    CustomFieldCreate(entity="account", key="score", label="Score", type="number"),
    CustomFieldCreate(
        entity="account",
        key="large",
        label="Large",
        type="computed",
        expression="account.balance_minor >= 500000",
    ),
]


def write_file(path: Path, rows: int, custom: bool = False) -> int:
    """The placement file; returns how many rows are bad (one in 10,000)."""
    bad = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        extra = list(CUSTOM_COLUMNS.values()) if custom else []
        out.writerow(list(MAPPING.columns.values()) + extra)
        for n in range(rows):
            currency = CURRENCIES[n % len(CURRENCIES)]
            principal = f"{100 + n % 9_000}.{n % 100:02d}"
            if n % 10_000 == 9_999:
                principal, bad = "12,50", bad + 1
            out.writerow(
                [
                    f"ACC{n:09d}",
                    f"CUS{n // 2:09d}",
                    f"First{n % 997}",
                    f"Last{n % 1009}",
                    f"c{n // 2}@example.com",
                    currency,
                    principal,
                    f"{n % 50}.00",
                    "15.00",
                    f"20{24 + n % 2}-{1 + n % 12:02d}-{1 + n % 28:02d}",
                    "Acme Bank",
                    *([TIERS[n % 3], str(300 + n % 550)] if custom else []),
                ]
            )
    return bad


PAYMENTS = Mapping(
    columns={
        "account_ref": "account_number",
        "payment_ref": "payment_id",
        "amount": "amount",
        "currency": "currency",
        "paid_on": "paid_on",
        "method": "method",
    }
)


def write_payments(path: Path, rows: int) -> None:
    """One payment per account of the placement file: its fees and 10.00 of principal."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(list(PAYMENTS.columns.values()))
        for n in range(rows):
            currency = CURRENCIES[n % len(CURRENCIES)]
            out.writerow(
                [f"ACC{n:09d}", f"PAY{n:09d}", "25.00", currency, "2026-11-02", "bank_transfer"]
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(database_url: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="recoup-import-bench-"))
    path = folder / "placements.csv"
    started = time.perf_counter()
    bad = write_file(path, args.rows, args.custom)
    mapping = MAPPING
    if args.custom:
        mapping = Mapping(columns={**MAPPING.columns, **CUSTOM_COLUMNS})
    size = path.stat().st_size
    print(
        f"file: {args.rows:,} rows, {size / 2**20:.0f} MiB, {bad} bad "
        f"(written in {time.perf_counter() - started:.1f} s)"
    )
    db = await Database.from_settings(
        Settings(database_url=database_url), application_name="bench-imports", max_size=2
    ).open()
    try:
        async with db.system() as conn:
            tenant = await create_tenant(
                conn, slug=f"bench-{uuid.uuid4().hex[:8]}", name="Import bench", defaults=False
            )
        actor = system_actor(tenant.id)
        if args.custom:
            async with db.tenant(tenant.id) as conn:
                for field in CUSTOM_FIELDS:
                    await CustomFieldService(conn, actor).create(field)
        digest = checksum(path)
        before = peak_rss_mb()
        for label in ("first import", "same file again"):
            async with db.tenant(tenant.id) as conn:
                created = await ImportService(conn, actor).create(
                    path=path,
                    file_name=path.name,
                    size_bytes=size,
                    checksum=digest,
                    mapping=mapping,
                )
            started = time.perf_counter()
            done = await run_import(db, tenant.id, created.id, batch_rows=args.batch_rows)
            seconds = time.perf_counter() - started
            print(
                f"{label}: {done.status}, {done.rows_read:,} rows in {seconds:.1f} s = "
                f"{done.rows_read / seconds:,.0f} rows/s (target {TARGET_ROWS_PER_SECOND:,}); "
                f"{done.rows_created:,} created, {done.rows_updated:,} updated, "
                f"{done.rows_unchanged:,} unchanged, {done.rows_rejected:,} rejected"
            )
        if args.payments:
            await _payments(db, tenant.id, folder, args)
        print(
            f"peak RSS: {peak_rss_mb():.0f} MB (before importing {before:.0f} MB; "
            f"target under {TARGET_RSS_MB} MB)"
        )
    finally:
        await db.close()
        await asyncio.to_thread(path.unlink)
        await asyncio.to_thread(folder.rmdir)


async def _payments(db: Database, tenant_id: int, folder: Path, args: argparse.Namespace) -> None:
    path = folder / "payments.csv"
    write_payments(path, args.rows)
    size = path.stat().st_size
    digest = checksum(path)
    actor = system_actor(tenant_id)
    try:
        for label in ("payments", "same payments again"):
            async with db.tenant(tenant_id) as conn:
                created = await ImportService(conn, actor).create(
                    path=path,
                    file_name=path.name,
                    size_bytes=size,
                    checksum=digest,
                    mapping=PAYMENTS,
                    kind="payments",
                )
            started = time.perf_counter()
            done = await run_import(db, tenant_id, created.id, batch_rows=args.batch_rows)
            seconds = time.perf_counter() - started
            print(
                f"{label}: {done.status}, {done.rows_read:,} rows in {seconds:.1f} s = "
                f"{done.rows_read / seconds:,.0f} rows/s; {done.rows_created:,} recorded, "
                f"{done.rows_unchanged:,} unchanged, {done.rows_rejected:,} rejected"
            )
    finally:
        await asyncio.to_thread(path.unlink)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=20_000)
    parser.add_argument("--custom", action="store_true", help="with custom fields")
    parser.add_argument("--payments", action="store_true", help="then import a payment each")
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
