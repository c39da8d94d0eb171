"""A whole floor: collectors working, supervisors watching wallboards, debtors paying.

Set-up goes through the admin API like any admin would: the collectors the tenant lacks
for the chosen number of agents are created (``sim-agent-0001@<the admin's domain>`` and
on, in the tenant's agent groups in turn), and re-activated if someone switched them off.
Then every agent signs in once (waiting out the sign-in rate limit when it answers 429),
and keeps that sign-in alive by refreshing it, as the browser does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from simulate.client import API, Screen, Session, SignInRefused
from simulate.collector import Collector
from simulate.debtor import Debtors, LinkBox
from simulate.metrics import Metrics

AGENT_PREFIX = "sim-agent-"
# The simulated agents' password (the policy refuses the demo's own, which is too guessable).
AGENT_PASSWORD = "tangerine-floor-simulation-42"
# How long a stop waits for requests under way before abandoning them.
GRACE = 5.0


class SimulationError(Exception):
    """The floor could not start: what to do about it is in the message."""


@dataclass(frozen=True)
class FloorConfig:
    base_url: str
    agents: int = 5
    supervisors: int = 1
    pace: float = 4.0  # seconds between one agent's actions (jittered ±50 %)
    debtors: float = 2.0  # debtors arriving at a payment link, per minute
    duration: float = 0.0  # seconds; 0: until stopped
    admin_email: str = "admin@demo.test"
    supervisor_email: str = "supervisor@demo.test"
    password: str = "demo-password"  # the admin's, the supervisor's and existing collectors'
    agent_password: str = AGENT_PASSWORD
    use_existing: bool = True  # the tenant's own collectors first (with ``password``)
    seed: int | None = None
    ready_timeout: float = 60.0
    setup_concurrency: int = 8
    progress_every: float = 10.0


def agent_email(n: int, admin_email: str) -> str:
    return f"{AGENT_PREFIX}{n:04d}@{admin_email.rsplit('@', 1)[-1]}"


async def wait_ready(http: httpx.AsyncClient, within: float, stop: asyncio.Event) -> None:
    deadline = time.monotonic() + within
    last = "no answer"
    while time.monotonic() < deadline and not stop.is_set():
        try:
            response = await http.get("/health/ready")
            if response.status_code == 200:
                return
            last = f"/health/ready answered {response.status_code}"
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    raise SimulationError(f"Recoup is not answering at {http.base_url} ({last})")


async def _all_users(admin: Session) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        status, page = await admin.call("GET", "/users", params=params)
        if status != 200:
            raise SimulationError(f"could not list the tenant's users ({status})")
        users.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return users


async def prepare_agents(admin: Session, config: FloorConfig) -> list[tuple[str, str]]:
    """(e-mail, password) of ``config.agents`` collectors, creating those missing."""
    users = await _all_users(admin)
    by_email = {u["email"]: u for u in users}
    plan: list[tuple[str, str]] = []
    if config.use_existing:
        plan = [
            (u["email"], config.password)
            for u in sorted(users, key=lambda u: u["id"])
            if u["role"] == "collector" and u["active"] and not u["email"].startswith(AGENT_PREFIX)
        ][: config.agents]
    status, groups = await admin.call("GET", "/agent-groups", params={"limit": 200})
    group_ids = [g["id"] for g in groups["items"]] if status == 200 else []
    gate = asyncio.Semaphore(config.setup_concurrency)

    async def ensure(n: int) -> None:
        email = agent_email(n, config.admin_email)
        user = by_email.get(email)
        async with gate:
            if user is None:
                status, _ = await admin.call(
                    "POST",
                    "/users",
                    json={
                        "email": email,
                        "name": f"Simulated agent {n}",
                        "password": config.agent_password,
                        "role": "collector",
                        "group_id": group_ids[n % len(group_ids)] if group_ids else None,
                    },
                )
                if status != 201:
                    raise SimulationError(f"could not create {email} ({status})")
            elif not user["active"] or user["role"] != "collector":
                status, _ = await admin.call(
                    "PATCH",
                    f"/users/{user['id']}",
                    name="PATCH /users/{id}",
                    json={"active": True, "role": "collector"},
                )
                if status != 200:
                    raise SimulationError(f"could not switch {email} back on ({status})")

    missing = range(1, config.agents - len(plan) + 1)
    await asyncio.gather(*(ensure(n) for n in missing))
    plan.extend((agent_email(n, config.admin_email), config.agent_password) for n in missing)
    return plan


class Floor:
    def __init__(self, config: FloorConfig, echo: Callable[[str], None] = print) -> None:
        self.config = config
        self.echo = echo
        self.stop = asyncio.Event()
        self.rng = random.Random(config.seed)
        self.metrics = Metrics(screens=config.supervisors)
        self.links = LinkBox(self.rng)
        self.collectors: list[Collector] = []
        self.screens: list[Screen] = []
        self.sessions: list[Session] = []
        self.supervisor_sessions: list[Session] = []
        # Called when the measured run begins (after set-up); the benchmark reads CPU there.
        self.on_begin: Callable[[], None] | None = None
        # Each user has connections of their own, as each browser does (one pool for a
        # thousand users would make its bookkeeping, not the server, the slow part); they
        # share one TLS context, which is costly to build.
        self.tls = ssl.create_default_context()
        self.clients: list[httpx.AsyncClient] = []
        self.http = self._client(max_connections=50)  # the debtors' phones, and set-up

    def _client(self, max_connections: int = 6) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            base_url=self.config.base_url,
            timeout=httpx.Timeout(30.0, connect=10.0),
            # Idle connections are dropped well before the server's keep-alive (uvicorn's 5 s)
            # ends them, so that few requests go out on a connection the server is closing.
            limits=httpx.Limits(max_connections=max_connections, keepalive_expiry=2.0),
            verify=self.tls,
        )
        self.clients.append(client)
        return client

    def _screen(self, session: Session) -> Screen:
        async def ticket() -> str | None:
            status, body = await session.call("POST", "/realtime/ticket")
            return body["ticket"] if status == 200 else None

        screen = Screen(self.config.base_url, self.metrics, ticket, self.stop)
        self.screens.append(screen)
        return screen

    async def _signed_in(self, email: str, password: str) -> Session:
        session = Session(self._client(), self.metrics, email, password)
        await session.sign_in(self.stop)
        self.sessions.append(session)
        return session

    async def _collector(self, email: str, password: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            if self.stop.is_set():
                return
            try:
                session = await self._signed_in(email, password)
            except SignInRefused as exc:
                if email.startswith(AGENT_PREFIX) or self.stop.is_set():
                    raise
                self.echo(f"  {exc}: left out")
                return
            rng = random.Random(self.rng.random())
            collector = Collector(
                session,
                self._screen(session),
                self.metrics,
                self.links,
                pace=self.config.pace,
                stop=self.stop,
                rng=rng,
            )
            await collector.start()
            self.collectors.append(collector)
            if len(self.collectors) % 100 == 0:
                self.echo(f"  {len(self.collectors)} collectors signed in")

    async def _supervisor(self, gate: asyncio.Semaphore) -> Session:
        async with gate:
            session = await self._signed_in(self.config.supervisor_email, self.config.password)
            screen = self._screen(session)
            await screen.open()
            await screen.subscribe("wallboard", lambda f: self.metrics.seen(f["type"], f["data"]))
            return session

    async def _watch(self, session: Session, *, refills: bool) -> None:
        """The wallboard's figures, read again now and then (its tiles); one supervisor also
        refills the queues when collectors find them empty, by running the rules now."""
        empty = self.metrics.effects["empty pulls"]
        while not self.stop.is_set():
            await session.call("GET", "/stats/realtime")
            if refills and self.metrics.effects["empty pulls"] > empty:
                await self._run_rules(session)
            empty = self.metrics.effects["empty pulls"]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), 30.0)

    async def _run_rules(self, session: Session) -> None:
        status, rules = await session.call("GET", "/rules", params={"limit": 200})
        if status != 200:
            return
        for rule in rules["items"]:
            if rule["enabled"] and not self.stop.is_set():
                status, run = await session.call(
                    "POST", f"/rules/{rule['id']}/run", name="POST /rules/{id}/run"
                )
                if status == 201:
                    self.metrics.effect("tasks made by rules run", run["created"])
        self.metrics.action("run rules")

    async def setup(self) -> Session:
        config = self.config
        await wait_ready(self.http, config.ready_timeout, self.stop)
        admin = Session(self._client(), self.metrics, config.admin_email, config.password)
        try:
            await admin.sign_in(self.stop)
        except SignInRefused as exc:
            raise SimulationError(f"the admin could not sign in: {exc}") from None
        if admin.user.get("role") != "admin":
            raise SimulationError(f"{config.admin_email} is not an admin of its tenant")
        plan = await prepare_agents(admin, config)
        gate = asyncio.Semaphore(config.setup_concurrency)
        try:
            supervisors = await asyncio.gather(
                *(self._supervisor(gate) for _ in range(config.supervisors))
            )
            await asyncio.gather(*(self._collector(e, p, gate) for e, p in plan))
        except SignInRefused as exc:
            raise SimulationError(f"a simulated user could not sign in: {exc}") from None
        if not self.collectors and not self.stop.is_set():
            raise SimulationError("no collector could sign in")
        self.supervisor_sessions = supervisors
        return admin

    async def _progress(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.config.progress_every)
            if self.stop.is_set():
                return
            self.metrics.sweep()
            f = self.metrics.figures()
            self.echo(
                f"  {f['seconds']:>6.0f} s  {f['actions_per_second']:>6.1f} actions/s  "
                f"REST p99 {f['rest_p99_ms']} ms  to screen p99 "
                f"{f['event_to_screen_p99_ms']} ms  errors {f['errors']}"
            )

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: stop, and say so (the summary follows)."""
        self.metrics.interrupted = True
        self.stop.set()

    async def run(self) -> Metrics:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.interrupt)
        try:
            try:
                admin = await self.setup()
            except SimulationError:
                if self.stop.is_set():
                    return self.metrics  # stopped while starting: nothing to report
                raise
            if self.stop.is_set():
                return self.metrics
            self.echo(
                f"simulating {len(self.collectors)} collectors, {self.config.supervisors} "
                f"wallboard(s), {self.config.debtors:g} debtors a minute against "
                f"{self.config.base_url} (Ctrl-C stops)"
            )
            self.metrics.begin()
            if self.on_begin is not None:
                self.on_begin()
            staff = self.supervisor_sessions[0] if self.supervisor_sessions else admin
            debtors = Debtors(
                self.http,
                self.config.base_url,
                self.metrics,
                self.links,
                staff,
                per_minute=self.config.debtors,
                stop=self.stop,
                rng=random.Random(self.rng.random()),
            )
            workers = [asyncio.create_task(c.run()) for c in self.collectors]
            workers.append(asyncio.create_task(debtors.run()))
            workers.extend(
                asyncio.create_task(self._watch(s, refills=n == 0))
                for n, s in enumerate(self.supervisor_sessions)
            )
            helpers = [asyncio.create_task(self._progress())]
            if self.config.duration:
                loop.call_later(self.config.duration, self.stop.set)
            await self.stop.wait()
            # Requests under way may finish; whatever is still waiting then is abandoned.
            _, late = await asyncio.wait(workers, timeout=GRACE)
            for task in [*late, *helpers]:
                task.cancel()
            await asyncio.gather(*late, *helpers, return_exceptions=True)
            await debtors.finish(GRACE)
            self.metrics.stopped = time.perf_counter()
            # The last events on their way to the wallboards.
            for _ in range(30):
                if not self.metrics.awaiting():
                    break
                await asyncio.sleep(0.1)
            self.metrics.sweep(final=True)
            return self.metrics
        finally:
            self.stop.set()
            await self.close()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.screens), return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(s.sign_out() for s in self.sessions), return_exceptions=True),
                GRACE,
            )
        await asyncio.gather(*(c.aclose() for c in self.clients), return_exceptions=True)


async def simulate(
    config: FloorConfig,
    echo: Callable[[str], None] = print,
    on_end: Callable[[Metrics], None] | None = None,
) -> Metrics:
    """Run a floor; ``on_end`` sees its metrics however it ended (an error included)."""
    floor = Floor(config, echo)
    try:
        return await floor.run()
    finally:
        if on_end is not None:
            on_end(floor.metrics)


__all__ = ["API", "FloorConfig", "SimulationError", "simulate"]
