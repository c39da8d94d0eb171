"""Exporting accounts as CSV over HTTP: rows per second end to end, and the web process's
memory while it streams.

Starts its own embedded PostgreSQL and Redis under .recoup/bench-export (never the test
database; or uses DATABASE_URL/REDIS_URL), migrates, makes a bench tenant of ``--rows``
accounts with SQL ``generate_series`` (one in a thousand references starting with ``=``,
so the formula guard works on real rows), runs one ``recoup web`` process pinned to one CPU
and downloads ``GET /api/v1/exports/accounts.csv`` as its admin with httpx, streaming,
from the other. Prints rows per second from the request to the last byte, and the web
process's resident memory (psutil) before and at its peak during the download, which must
stay flat whatever the export's size.

    .venv/bin/python bench/exports.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402
from domain.actor import system_actor  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.tenancy.service import create_tenant  # noqa: E402
from domain.users.schemas import UserCreate  # noqa: E402
from domain.users.service import UserService  # noqa: E402

TARGET_ROWS_PER_SECOND = 100_000
PASSWORD = "bench export password 1"
PORT = 18710


async def generate(database_url: str, rows: int) -> str:
    """A bench tenant with ``rows`` accounts (and as many debtors) and an admin; its e-mail."""
    db = await Database.from_settings(
        Settings(database_url=database_url), application_name="bench-exports", max_size=1
    ).open()
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    email = f"admin@{slug}.test"
    try:
        async with db.system() as conn:
            tenant = await create_tenant(conn, slug=slug, name="Export bench", defaults=False)
            started = time.perf_counter()
            await conn.execute(
                """INSERT INTO debtors (tenant_id, external_ref, first_name, last_name)
                SELECT $1, 'D' || n, 'First' || n % 997, 'Last' || n % 1009
                FROM generate_series(1, $2) AS n""",
                tenant.id,
                rows,
            )
            await conn.execute(
                """INSERT INTO accounts (tenant_id, debtor_id, external_ref, currency, principal,
                  interest, fees, due_date, status, creditor, custom)
                SELECT d.tenant_id, d.id,
                  CASE WHEN d.id % 1000 = 0 THEN '=A' ELSE 'A' END || d.external_ref,
                  (ARRAY['USD', 'USD', 'EUR', 'JPY'])[1 + d.id % 4],
                  (d.id * 7919 % 500000) / 100.0, (d.id % 50)::numeric, 15,
                  current_date - (d.id * 31 % 400)::int,
                  (ARRAY['active', 'active', 'promised', 'disputed', 'paid'])[1 + d.id % 5],
                  'Acme Bank', '{}'::jsonb
                FROM debtors d WHERE d.tenant_id = $1""",
                tenant.id,
            )
            print(f"generated {rows:,} accounts in {time.perf_counter() - started:.1f} s")
        async with db.tenant(tenant.id) as conn:
            await UserService(conn, system_actor(tenant.id)).create(
                UserCreate(email=email, name="Bench admin", password=PASSWORD, role="admin")
            )
    finally:
        await db.close()
    owner = await __import__("asyncpg").connect(database_url)
    try:
        await owner.execute("VACUUM (ANALYZE) debtors")
        await owner.execute("VACUUM (ANALYZE) accounts")
        await owner.execute("CHECKPOINT")
    finally:
        await owner.close()
    return email


class PeakRss:
    """The highest resident memory of a process and its children, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        procs = [self.process, *self.process.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_by_pid(match: str) -> dict[int, float]:
    """CPU seconds so far of the processes whose command line holds ``match``."""
    found = {}
    for process in psutil.process_iter(["cmdline"]):
        if match in " ".join(process.info["cmdline"] or ()):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                found[process.pid] = times.user + times.system
    return found


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def pin_own_postgres(cpu: int) -> None:
    """Move this bench's PostgreSQL (its postmaster and every process it has started or
    will start) to one CPU; other PostgreSQL servers on the machine are left alone."""
    for process in psutil.process_iter(["cmdline"]):
        if "bench-export" in " ".join(process.info["cmdline"] or ()):
            with contextlib.suppress(psutil.Error):
                for each in (process, *process.children(recursive=True)):
                    each.cpu_affinity([cpu])


def download(base: str, token: str) -> tuple[int, int, float]:
    """Lines and bytes of the export, and seconds from the request to the last byte."""
    lines = size = 0
    started = time.perf_counter()
    with (
        httpx.Client(timeout=600) as client,
        client.stream(
            "GET",
            f"{base}/api/v1/exports/accounts.csv",
            headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"},
        ) as response,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
    return lines, size, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from bench.worklist import fresh_database
    from server.embedded import EmbeddedServices

    services = None
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url or not redis_url:
        services = EmbeddedServices(
            ROOT / ".recoup" / "bench-export", database="recoup_bench_export"
        )
        started = services.start(need_postgres=not database_url, need_redis=not redis_url)
        if not database_url:
            asyncio.run(fresh_database(started[0]))
        database_url, redis_url = database_url or started[0], redis_url or started[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url or "",
        "REDIS_URL": redis_url or "",
        "PORT": str(PORT),
        "LOG_LEVEL": "WARNING",
    }
    recoup = [sys.executable, "-m", "server.cli"]
    server = None
    try:
        subprocess.run([*recoup, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
        email = asyncio.run(generate(database_url or "", args.rows))
        cpus = sorted(os.sched_getaffinity(0))
        pin = ["taskset", "-c", str(cpus[-1])] if len(cpus) > 1 else []
        if len(cpus) > 1:
            # PostgreSQL formats every cell (most of the work): a core of its own; the web
            # process and this client (a few µs a row together) share the other.
            pin_own_postgres(cpus[0])
            os.sched_setaffinity(0, {cpus[-1]})
        server = subprocess.Popen([*pin, *recoup, "web"], env=env, cwd=ROOT)
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/health/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        token = httpx.post(
            f"{base}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        ).json()["access_token"]
        warm = httpx.get(
            f"{base}/api/v1/exports/accounts.csv?limit=1000",
            headers={"Authorization": f"Bearer {token}"},
        )
        warm.raise_for_status()
        rss = PeakRss(server.pid)
        before = rss.now()
        print(
            f"PostgreSQL pinned to CPU {cpus[0]}, web process and client to CPU {cpus[-1]}; "
            f"web RSS before: {before / 2**20:.0f} MiB\n"
        )
        for round_ in range(1, args.rounds + 1):
            web = psutil.Process(server.pid)
            web_before = sum(web.cpu_times()[:2])
            pg_before = cpu_by_pid("postgres: recoup_app recoup_bench_export")
            client_before = sum(psutil.Process().cpu_times()[:2])
            with rss:
                lines, size, seconds = download(base, token)
            web_cpu = sum(web.cpu_times()[:2]) - web_before
            pg_cpu = cpu_spent(pg_before, cpu_by_pid("postgres: recoup_app recoup_bench_export"))
            client_cpu = sum(psutil.Process().cpu_times()[:2]) - client_before
            rows = lines - 1
            assert rows == args.rows, f"{rows} rows exported, {args.rows} expected"
            rate = rows / seconds
            print(
                f"round {round_}: {rows:,} rows, {size / 2**20:.0f} MiB in {seconds:.2f} s: "
                f"{rate:,.0f} rows/s ({size / 2**20 / seconds:.0f} MiB/s); "
                f"web RSS peak {rss.peak / 2**20:.0f} MiB "
                f"(+{(rss.peak - before) / 2**20:.0f} MiB)"
                f"{'' if rate >= TARGET_ROWS_PER_SECOND else '  BELOW TARGET'}\n"
                f"  CPU seconds: web {web_cpu:.1f}, PostgreSQL {pg_cpu:.1f}, client "
                f"{client_cpu:.1f} (µs per row: {web_cpu / rows * 1e6:.1f}, "
                f"{pg_cpu / rows * 1e6:.1f}, {client_cpu / rows * 1e6:.1f})"
            )
            rss = PeakRss(server.pid)
    finally:
        if server is not None:
            server.terminate()
            server.wait(15)
        if services is not None:
            services.stop()


if __name__ == "__main__":
    main()
