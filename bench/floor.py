"""The floor benchmark: N simulated collectors each acting every few seconds, supervisors on
wallboards, debtors paying through links; the simulator of `recoup simulate`, measured.

Starts embedded PostgreSQL and Redis under .recoup/bench-floor (or uses DATABASE_URL /
REDIS_URL) with a fresh database, seeds the demo tenant with a larger book (so that a
thousand agents have work), adds the simulated agents' users in one statement (the
simulator would create them through the API, one password hash each; it finds them there),
and runs one `recoup web`, one `recoup worker`, one `recoup relay` and one `recoup
scheduler`, all pinned to the last CPU; this process (the load generator) is pinned to the
first. PostgreSQL and Redis are not pinned. Prints, for each number of agents: actions/s,
REST p50/p99, event-to-screen p50/p99 (from an action's request to its event on every
supervisor's wallboard socket), errors, and the CPU the server processes and the load
generator used.

    .venv/bin/python bench/floor.py --agents 100,1000 --seconds 60
    .venv/bin/python bench/floor.py --url http://127.0.0.1:8000 --agents 20   # a running Recoup
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulate.floor import AGENT_PASSWORD, Floor, FloorConfig, agent_email  # noqa: E402

PORT = 18790


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def waited(pid: int) -> float:
    """Seconds the process's main thread spent runnable but waiting for a CPU."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_cpu(pid: int) -> float:
    """CPU of a process and every process below it (the worker forks its own)."""
    total = cpu_seconds(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(tree_cpu(int(c)) for c in children)


async def prepare(database_url: str, debtors: int, agents: int) -> None:
    """A fresh database with the demo tenant, ``debtors`` debtors and ``agents`` agents."""
    import asyncpg

    import domain.demo as demo
    from config.settings import Settings
    from domain.auth.passwords import hash_password
    from domain.db import Database
    from domain.schema import _with_database, database_name, ensure_database, migrate

    admin = await asyncpg.connect(_with_database(database_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database_name(database_url)}" WITH (FORCE)')
    finally:
        await admin.close()
    await ensure_database(database_url)
    await migrate(database_url)
    demo.DEBTOR_COUNT = debtors
    settings = Settings(database_url=database_url, redis_url="redis://unused")
    db = await Database.from_settings(settings, application_name="recoup-bench").open()
    try:
        await demo.seed_demo(db)
        hashed = await hash_password(AGENT_PASSWORD)
        async with db.system() as conn:
            tenant = await conn.fetchval("SELECT id FROM tenants WHERE slug = 'demo'")
            groups = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM agent_groups WHERE tenant_id = $1 ORDER BY id", tenant
                )
            ]
            await conn.executemany(
                """INSERT INTO users (tenant_id, email, name, password_hash, role, group_id,
                  capacity)
                VALUES ($1, $2, $3, $4, 'collector', $5, 25)""",
                [
                    (
                        tenant,
                        agent_email(n, "admin@demo.test"),
                        f"Simulated agent {n}",
                        hashed,
                        groups[n % len(groups)],
                    )
                    for n in range(1, agents + 1)
                ],
            )
            await conn.execute("ANALYZE")
    finally:
        await db.close()


def wait_ready(url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a server process ended while starting")
        time.sleep(0.2)
    raise RuntimeError("recoup web did not become ready")


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


async def sample_waits(database_url: str | None, stop: asyncio.Event) -> dict[str, int]:
    """What PostgreSQL's busy backends wait for, sampled every second: where time goes."""
    import collections

    import asyncpg

    seen: collections.Counter[str] = collections.Counter()
    if not database_url:
        return {}
    conn = await asyncpg.connect(database_url)
    try:
        while not stop.is_set():
            for row in await conn.fetch(
                """SELECT coalesce(wait_event_type || ':' || wait_event, 'on CPU') AS w
                FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()
                AND backend_type = 'client backend'"""
            ):
                seen[row["w"]] += 1
            seen["samples"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await conn.close()
    return dict(seen.most_common(8))


async def measure(
    args: argparse.Namespace, base: str, agents: int, pids: list[int], database_url: str | None
) -> dict:
    config = FloorConfig(
        base_url=base,
        agents=agents,
        supervisors=args.supervisors,
        pace=args.pace,
        debtors=args.debtors if args.debtors is not None else agents / 10,
        duration=args.seconds,
        use_existing=False,
        seed=agents,
        setup_concurrency=16,
        progress_every=15.0,
    )
    floor = Floor(config, echo=lambda line: print(line, flush=True))
    started = time.monotonic()
    server_before = sum(tree_cpu(p) for p in pids)
    own_before = time.process_time()
    # The CPU of the run itself, not of the set-up: read when the simulator begins measuring.
    marks: dict[str, float] = {}

    def mark() -> None:
        marks["server"] = sum(tree_cpu(p) for p in pids)
        for n, p in enumerate(pids):
            marks[f"pid{n}"] = tree_cpu(p)
            marks[f"wait{n}"] = waited(p)
        marks["own"] = time.process_time()
        marks["wall"] = time.monotonic()

    sampling = asyncio.Event()
    waits: asyncio.Task[dict[str, int]] | None = None

    def begin() -> None:
        nonlocal waits
        mark()
        waits = asyncio.create_task(sample_waits(database_url, sampling))

    floor.on_begin = begin
    metrics = await floor.run()
    sampling.set()
    wall = time.monotonic() - marks.get("wall", started)
    figures = metrics.figures()
    figures["agents"] = agents
    figures["setup_seconds"] = round(marks.get("wall", started) - started, 1)
    names = ("web", "worker", "relay", "scheduler")
    figures["server_cpu_by_process"] = {
        names[n]: round((tree_cpu(p) - marks.get(f"pid{n}", 0.0)) / wall, 2)
        for n, p in enumerate(pids)
    }
    # Above a few per cent, the server waits for a CPU that something else is using.
    figures["server_waiting_for_cpu"] = {
        names[n]: round((waited(p) - marks.get(f"wait{n}", 0.0)) / wall, 2)
        for n, p in enumerate(pids)
    }
    figures["server_cpu_ms_per_request"] = round(
        (sum(tree_cpu(p) for p in pids) - marks.get("server", server_before))
        / max(figures["requests"], 1)
        * 1000,
        2,
    )
    figures["server_cpu_share"] = round(
        (sum(tree_cpu(p) for p in pids) - marks.get("server", server_before)) / wall, 2
    )
    figures["load_generator_cpu_share"] = round(
        (time.process_time() - marks.get("own", own_before)) / wall, 2
    )
    figures["slowest_p99_ms"] = {name: round(p99 * 1000, 1) for name, p99, _ in metrics.slowest(5)}
    figures["postgres_waits"] = await waits if waits is not None else {}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", default="100,1000", help="comma-separated agent counts")
    parser.add_argument("--seconds", type=float, default=60, help="measured seconds per count")
    parser.add_argument("--pace", type=float, default=5.0, help="seconds between actions")
    parser.add_argument("--supervisors", type=int, default=2, help="wallboard sockets")
    parser.add_argument("--debtors", type=float, default=None, help="per minute (agents/10)")
    parser.add_argument("--debtor-count", type=int, default=None, help="the book's debtors")
    parser.add_argument("--url", default=None, help="drive this running Recoup instead")
    args = parser.parse_args()
    counts = [int(n) for n in args.agents.split(",")]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(f"load at start: {uptime()}", flush=True)

    services = None
    processes: list[subprocess.Popen[bytes]] = []
    cpus = sorted(os.sched_getaffinity(0))
    base = args.url
    database_url = None
    try:
        if base is None:
            from server.embedded import EmbeddedServices

            database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
            if not database_url or not redis_url:
                services = EmbeddedServices(
                    ROOT / ".recoup" / "bench-floor", database="recoup_bench_floor"
                )
                got = services.start(need_postgres=not database_url, need_redis=not redis_url)
                database_url, redis_url = database_url or got[0], redis_url or got[1]
            assert database_url
            assert redis_url
            debtors = args.debtor_count or max(1000, 20 * max(counts))
            print(f"seeding the demo tenant with {debtors} debtors...", flush=True)
            asyncio.run(prepare(database_url, debtors, max(counts)))
            base = f"http://127.0.0.1:{PORT}"
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "PORT": str(PORT),
                "PUBLIC_URL": base,
                "LOG_LEVEL": "WARNING",
                # Every simulated browser and debtor comes from 127.0.0.1: the per-address
                # limits, meant for one person's attempts, would count the whole floor.
                "LOGIN_LIMIT_PER_IP": "10000000",
                "WS_SOCKETS_PER_IDENTITY": "1000000",
                "PAY_CHECKOUT_LIMIT_PER_IP": "10000000",
                "PAY_TICKET_LIMIT_PER_IP": "10000000",
                "WORKER_PROCESSES": "1",
            }
            pin = ["taskset", "-c", str(cpus[-1])] if len(cpus) > 1 else []
            recoup = [sys.executable, "-m", "server.cli"]
            log = (ROOT / ".recoup" / "bench-floor.log").open("wb")
            for command in ("web", "worker", "relay", "scheduler"):
                processes.append(
                    subprocess.Popen(
                        [*pin, *recoup, command], env=env, cwd=ROOT, stdout=log, stderr=log
                    )
                )
            wait_ready(base, processes)
        if len(cpus) > 1 and args.url is None:
            os.sched_setaffinity(0, {cpus[0]})
            print(f"server processes on CPU {cpus[-1]}, load generator on CPU {cpus[0]}")
        results = []
        for agents in counts:
            print(f"\n{agents} agents, pace {args.pace} s, {args.seconds:.0f} s", flush=True)
            figures = asyncio.run(
                measure(args, base, agents, [p.pid for p in processes], database_url)
            )
            results.append(figures)
            print(json.dumps(figures), flush=True)
        print(f"\nload at end: {uptime()}\n")
        print(
            f"{'agents':>7} {'actions/s':>10} {'req/s':>8} {'REST p50':>9} {'REST p99':>9} "
            f"{'screen p50':>11} {'screen p99':>11} {'errors':>7} {'server CPU':>11} "
            f"{'client CPU':>11}"
        )
        for f in results:
            print(
                f"{f['agents']:>7} {f['actions_per_second']:>10} {f['requests_per_second']:>8} "
                f"{f['rest_p50_ms']:>7} ms {f['rest_p99_ms']:>6} ms "
                f"{f['event_to_screen_p50_ms']:>8} ms {f['event_to_screen_p99_ms']:>8} ms "
                f"{f['errors']:>7} {f['server_cpu_share']:>11} {f['load_generator_cpu_share']:>11}"
            )
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
