"""The soak: the floor simulator for half an hour at ten times a real floor's pace, thousands
of idle sockets, and a fault every few minutes; what every process holds, sampled every
10 s, should not grow, and the logs should hold no error that a fault does not explain.

Starts embedded PostgreSQL and Redis under .recoup/bench-soak (a fresh database: the demo
tenant with 20 debtors per agent and the simulated agents' users, as `floor.py` prepares
it), and the processes of `recoup dev` (web, worker, scheduler, two relays) under its
supervisor (server/supervise.py), which starts again whatever is killed; they are pinned to
the last CPU. On the first CPU: the simulator (`recoup simulate`'s floor, two wallboards) in
this process, and the idle sockets (`soak_sockets.py`) in another. Every `--fault-every`
seconds, in turn: kill -9 the web process, kill -9 the worker, kill -9 the active relay,
kill -9 Redis and start it again on its data (append-only file).

Every 10 s: RSS and open file descriptors of each kind of Recoup process (with its
children), PostgreSQL's memory (PSS of all its processes), Redis's used_memory, the
outbox's unpublished rows and the age of the oldest, the p99 of the REST calls and of event
to screen over the last 10 s (the simulator's own measurements), the idle sockets open and
their reconnects. At the end: a CSV and a PNG (`--out`), the first against the last minutes
with a least-squares slope per hour, and the error lines of every log (the Recoup
processes', PostgreSQL's, Redis's) that no injected fault explains.

    .venv/bin/python bench/soak.py --minutes 30 --agents 150 --sockets 5000 --pace 6
    .venv/bin/python bench/soak.py --minutes 3 --agents 20 --sockets 500 --fault-every 40
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import psutil  # noqa: E402
import soak_report as report  # noqa: E402
from floor import prepare  # noqa: E402
from soak_sockets import write_plan  # noqa: E402

from server.embedded import EmbeddedServices  # noqa: E402
from server.supervise import Program, Supervisor  # noqa: E402
from simulate.floor import Floor, FloorConfig  # noqa: E402
from simulate.metrics import percentile  # noqa: E402

PORT = 18890
RELAY_METRICS_PORT = 18895  # relay.1; relay.2 is the next
DATA = ROOT / ".recoup" / "bench-soak"
SAMPLE_EVERY = 10.0
FAULTS = ("web", "worker", "relay", "redis")
REDIS_DOWN_FOR = 2.0


async def until(condition: Any, every: float = 0.05) -> None:
    while True:
        if condition():
            return
        await asyncio.sleep(every)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Soak:
    def __init__(self, args: argparse.Namespace, services: EmbeddedServices, urls: tuple) -> None:
        self.args = args
        self.services = services
        self.database_url, self.redis_url = urls
        self.base = f"http://127.0.0.1:{PORT}"
        cpus = sorted(os.sched_getaffinity(0))
        self.server_cpu, self.load_cpu = cpus[-1], cpus[0]
        self.log_path = DATA / "processes.log"
        self.supervisor: Supervisor | None = None
        self.floor: Floor | None = None
        self.samples: list[dict[str, Any]] = []
        self.faults: list[report.Fault] = []
        self.sockets: dict[str, Any] = {}
        self.began = 0.0  # monotonic, when the simulator began measuring
        self.began_at = datetime.now(UTC)
        self.error_times: list[float] = []
        self._seen: dict[str, int] = {}
        self._cpu: dict[int, float] = {}
        self._reader: asyncio.Task[None] | None = None
        self.sockets_pid: int | None = None

    # -- the stack -----------------------------------------------------------------------

    def programs(self) -> list[Program]:
        from server.cli import dev_programs

        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PORT": str(PORT),
            "HOST": "127.0.0.1",
            "PUBLIC_URL": self.base,
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "true",
            "PYTHONUNBUFFERED": "1",
            "RELAY_METRICS_PORT": str(RELAY_METRICS_PORT),
            "WS_SOCKETS_PER_IDENTITY": "1000000",  # the idle sockets are a few users'
            # The whole floor comes from 127.0.0.1 (as in floor.py).
            "LOGIN_LIMIT_PER_IP": "10000000",
            "PAY_CHECKOUT_LIMIT_PER_IP": "10000000",
            "PAY_TICKET_LIMIT_PER_IP": "10000000",
            "WORKER_PROCESSES": "1",
        }
        pin = ["taskset", "-c", str(self.server_cpu)]
        return [Program(p.name, [*pin, *p.argv], p.env, p.cwd) for p in dev_programs(env)]

    def pid(self, name: str) -> int | None:
        assert self.supervisor is not None
        return self.supervisor.pid(name)

    async def ready(self, within: float = 120) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.base}/health/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.base} not ready within {within:g} s")

    # -- faults --------------------------------------------------------------------------

    async def kill(self, name: str) -> str:
        old = self.pid(name)
        if old is None:
            return f"{name} was not running"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(old, signal.SIGKILL)
        await until(lambda: self.pid(name) not in (None, old))
        if name == "web":
            await self.ready()
        return f"{name} pid {old} -> {self.pid(name)}"

    async def active_relay(self) -> str | None:
        async with httpx.AsyncClient(timeout=2) as http:
            for n in (1, 2):
                with contextlib.suppress(httpx.HTTPError):
                    text = (await http.get(f"http://127.0.0.1:{RELAY_METRICS_PORT + n - 1}")).text
                    if "\nrecoup_relay_active 1.0" in text:
                        return f"relay.{n}"
        return None

    async def restart_redis(self) -> str:
        redis = self.services.redis
        pid = int(redis.pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
        await until(lambda: not alive(pid))
        redis.started_here = False
        await asyncio.sleep(REDIS_DOWN_FOR)
        await asyncio.to_thread(redis.start)
        return f"redis pid {pid} killed, down {REDIS_DOWN_FOR:g} s, started on its data"

    async def inject(self, kind: str) -> str:
        if kind == "relay":
            name = await self.active_relay()
            detail = await self.kill(name or "relay.1")
            return detail if name else f"no relay said it was active; {detail}"
        if kind == "redis":
            return await self.restart_redis()
        return await self.kill(kind)

    async def fault_loop(self, stop: asyncio.Event) -> None:
        n = 0
        while True:
            due = self.began + (n + 1) * self.args.fault_every
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(due - time.monotonic(), 0))
            if stop.is_set():
                return
            kind = FAULTS[n % len(FAULTS)]
            at = time.monotonic() - self.began
            try:
                detail = await self.inject(kind)
            except Exception as exc:  # the soak goes on; the fault says what went wrong
                detail = f"failed: {type(exc).__name__}: {exc}"
            fault = report.Fault(kind, at, time.monotonic() - self.began, detail)
            self.faults.append(fault)
            print(
                f"  fault {n + 1} at {at / 60:.1f} min: {kind}: {detail} "
                f"(whole again after {fault.until - fault.at:.1f} s)",
                flush=True,
            )
            n += 1

    # -- the idle sockets ----------------------------------------------------------------

    async def open_sockets(self) -> asyncio.subprocess.Process:
        plan = DATA / "sockets.json"
        print(
            "idle sockets: "
            + await write_plan(
                plan,
                self.database_url,
                self.redis_url,
                PORT,
                self.args.sockets,
                self.args.wallboard_share,
            ),
            flush=True,
        )
        process = await asyncio.create_subprocess_exec(
            "taskset",
            "-c",
            str(self.load_cpu),
            sys.executable,
            str(ROOT / "bench" / "soak_sockets.py"),
            str(plan),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )

        self.sockets_pid = process.pid

        async def read() -> None:
            assert process.stdout is not None
            while line := await process.stdout.readline():
                self.sockets = json.loads(line)

        self._reader = asyncio.create_task(read())
        deadline = time.monotonic() + 600
        while self.sockets.get("open", 0) < self.args.sockets:
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the idle sockets did not open: {self.sockets}")
            await asyncio.sleep(1)
        print(f"{self.sockets['open']} idle sockets open", flush=True)
        return process

    # -- samples -------------------------------------------------------------------------

    def tree(self, pid: int | None) -> list[psutil.Process]:
        if pid is None:
            return []
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def processes(self) -> dict[str, list[psutil.Process]]:
        names = {
            "web": ["web"],
            "worker": ["worker"],
            "scheduler": ["scheduler"],
            "relay": ["relay.1", "relay.2"],
        }
        return {
            kind: [p for name in ns for p in self.tree(self.pid(name))]
            for kind, ns in names.items()
        }

    def window(self, values: list[float], key: str) -> list[float]:
        start = self._seen.get(key, 0)
        self._seen[key] = len(values)
        return values[start:]

    async def sample(self, db: Any, redis: Any) -> dict[str, Any]:
        t = time.monotonic() - self.began
        row: dict[str, Any] = {"t": round(t, 1), "clock": time.strftime("%H:%M:%S")}
        cpu, primed = 0.0, bool(self._cpu)
        for kind, procs in self.processes().items():
            rss = fds = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
                    fds += p.num_fds()
                    times = p.cpu_times()
                    now = times.user + times.system
                    cpu += now - self._cpu.get(p.pid, now)
                    self._cpu[p.pid] = now
            # None running at this instant (being restarted): nothing to read.
            row[f"rss_{kind}_mb"] = round(rss / 2**20, 1) if rss else float("nan")
            row[f"fds_{kind}"] = fds if rss else float("nan")
        row["server_cpu"] = round(cpu / SAMPLE_EVERY, 2) if primed else float("nan")
        client = 0.0
        for p in [psutil.Process(), *self.tree(self.sockets_pid)]:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                now = times.user + times.system
                client += now - self._cpu.get(-p.pid, now)
                self._cpu[-p.pid] = now
        row["client_cpu"] = round(client / SAMPLE_EVERY, 2) if primed else float("nan")
        pss = 0
        postmaster = int((self.services.postgres.pgdata / "postmaster.pid").read_text().split()[0])
        for p in self.tree(postmaster):
            with contextlib.suppress(psutil.Error):
                pss += p.memory_full_info().pss
        row["postgres_pss_mb"] = round(pss / 2**20, 1)
        try:
            row["redis_used_mb"] = round((await redis.info("memory"))["used_memory"] / 2**20, 2)
        except Exception:
            row["redis_used_mb"] = float("nan")
        out = await db.fetchrow(
            """SELECT count(*) FILTER (WHERE published_at IS NULL) AS unpublished,
              extract(epoch FROM now() - min(occurred_at) FILTER (WHERE published_at IS NULL))
                AS oldest, count(*) AS kept FROM outbox"""
        )
        row["outbox_unpublished"] = out["unpublished"]
        row["outbox_oldest_s"] = round(float(out["oldest"] or 0.0), 1)
        row["outbox_rows"] = out["kept"]
        assert self.floor is not None
        m = self.floor.metrics
        rest = [x for name, v in list(m.calls.items()) for x in self.window(v, name)]
        screen = self.window(m.to_screen, " screen")
        row["rest_p99_ms"] = round(percentile(rest, 0.99) * 1000, 1) if rest else float("nan")
        row["screen_p99_ms"] = round(percentile(screen, 0.99) * 1000, 1) if screen else float("nan")
        done = sum(m.actions.values())
        row["actions_per_s"] = round((done - self._seen.get(" actions", 0)) / SAMPLE_EVERY, 1)
        self._seen[" actions"] = done
        row["sim_errors"] = m.error_count - self._seen.get(" errors", 0)
        self._seen[" errors"] = m.error_count
        row["sockets_open"] = self.sockets.get("open", 0)
        row["socket_reconnects"] = self.sockets.get("connects", 0) - self.args.sockets
        row["load1"] = round(os.getloadavg()[0], 2)
        return row

    async def sample_loop(self, stop: asyncio.Event) -> None:
        import asyncpg
        import redis.asyncio as aioredis

        redis = aioredis.Redis.from_url(self.redis_url, socket_timeout=2)
        db = None
        n = 0
        try:
            while not stop.is_set():
                try:
                    if db is None or db.is_closed():
                        db = await asyncpg.connect(self.database_url)
                    row = await self.sample(db, redis)
                except Exception as exc:
                    print(f"  sample failed: {type(exc).__name__}: {exc}", flush=True)
                    db = None
                else:
                    self.samples.append(row)
                    if len(self.samples) % 6 == 1:
                        print("  " + json.dumps(row), flush=True)
                n += 1
                due = self.began + n * SAMPLE_EVERY
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(due - time.monotonic(), 0))
        finally:
            await redis.aclose()
            if db is not None:
                await db.close()

    # -- the run -------------------------------------------------------------------------

    async def run(self) -> None:
        self.supervisor = Supervisor(
            self.programs(), backoff=0.2, backoff_max=2.0, out=self.log_path.open("w")
        )
        supervised = asyncio.create_task(self.supervisor.run(handle_signals=False))
        sockets = None
        try:
            await self.ready()
            print(f"recoup dev's processes up on CPU {self.server_cpu}", flush=True)
            sockets = await self.open_sockets()
            await self.simulate()
        finally:
            if sockets is not None and sockets.returncode is None:
                sockets.terminate()
                await sockets.wait()
            self.supervisor.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(supervised, 60)

    async def simulate(self) -> None:
        args = self.args
        config = FloorConfig(
            base_url=self.base,
            agents=args.agents,
            supervisors=2,
            pace=args.pace,
            debtors=args.agents / 10,
            duration=args.minutes * 60,
            use_existing=False,
            seed=args.agents,
            setup_concurrency=16,
            progress_every=60.0,
        )
        self.floor = floor = Floor(config, echo=lambda line: print(line, flush=True))
        noted = floor.metrics.error

        def error(what: str) -> None:
            self.error_times.append(time.monotonic() - self.began)
            noted(what)

        floor.metrics.error = error  # type: ignore[method-assign]
        began = asyncio.Event()

        def begin() -> None:
            self.began = time.monotonic()
            self.began_at = datetime.now(UTC)
            began.set()

        floor.on_begin = begin
        running = asyncio.create_task(floor.run())
        await asyncio.wait(
            [running, asyncio.create_task(began.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        if not began.is_set():
            await running  # the simulator could not start: its error
            return
        stop = asyncio.Event()
        helpers = [
            asyncio.create_task(self.sample_loop(stop)),
            asyncio.create_task(self.fault_loop(stop)),
        ]
        metrics = await running
        stop.set()
        await asyncio.gather(*helpers)
        print("\n" + metrics.report(), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--agents", type=int, default=150, help="simulated collectors")
    parser.add_argument("--sockets", type=int, default=5000, help="idle sockets")
    parser.add_argument(
        "--pace",
        type=float,
        default=6.0,
        help="seconds between one agent's actions (6: ten times a collector's minute)",
    )
    parser.add_argument("--fault-every", type=float, default=180, help="seconds")
    parser.add_argument(
        "--wallboard-share",
        type=float,
        default=0.04,
        help="share of the idle sockets on the wallboard (each hears every "
        "wallboard event); the rest on agents' and accounts' channels",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=60,
        help="seconds after a fault's recovery that its errors are expected",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "soak.png")
    parser.add_argument(
        "--replot", action="store_true", help="only the plot and summary again, from the CSV"
    )
    args = parser.parse_args()
    if args.replot:
        samples = report.read_csv(args.out.with_suffix(".csv"))
        faults = report.read_faults(args.out.with_suffix(".faults.json"))
        began = datetime.fromtimestamp(args.out.with_suffix(".csv").stat().st_mtime, UTC)
        report.report(args, samples, faults, began - timedelta(seconds=float(samples[-1]["t"])))
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    services = EmbeddedServices(DATA, database="recoup_bench_soak")
    database_url, redis_url = services.start()
    assert database_url
    assert redis_url
    pg_log = services.postgres.pgdata / "log"
    redis_log = services.redis.dir / "redis.log"
    soak = Soak(args, services, (database_url, redis_url))
    offsets = [0, 0]
    try:
        import redis as redis_sync

        redis_sync.Redis.from_url(redis_url).flushall()
        debtors = max(1000, 20 * args.agents)
        print(f"seeding the demo tenant with {debtors} debtors and {args.agents} agents...")
        asyncio.run(prepare(database_url, debtors, args.agents))
        os.sched_setaffinity(0, {soak.load_cpu})
        # This run's lines of their logs start here (set-up's own are not the soak's).
        offsets = [p.stat().st_size if p.exists() else 0 for p in (pg_log, redis_log)]
        print(f"load at start: {os.getloadavg()}", flush=True)
        asyncio.run(soak.run())
    finally:
        services.stop()
    report.finish(args, soak, (pg_log, offsets[0]), (redis_log, offsets[1]))


if __name__ == "__main__":
    main()
