"""Workflows in the background: the relay's events through the engine, messages out, and
waiting runs on when their time comes.

``process`` is kicked by the relay, once per tenant and batch of events; the minute
``sweep`` catches what a lost kick or a restart left: events in the inbox, queued messages,
runs whose wait is over. Every job is idempotent (runs are unique per workflow version and
event; messages per run step; claims skip what another worker holds).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

import structlog
from taskiq import AsyncBroker, TaskiqDepends, TaskiqState

from config.settings import get_settings
from domain.actor import system_actor
from domain.clock import Clock, utcnow
from domain.db import Database
from domain.outbox import events
from domain.workflows import queries
from domain.workflows.accounts import TimeTriggers
from domain.workflows.engine import BATCH, Engine
from domain.workflows.links import Links
from domain.workflows.messaging import Transports, send_due
from tasks.broker import broker
from tasks.relay import Handoff

log = structlog.get_logger("recoup.workflows")

# Rounds of send-then-resume a job makes: a run that sends a message goes on once it is out,
# and may send the next one.
ROUNDS = 5


def _db(state: Annotated[TaskiqState, TaskiqDepends()]) -> Database:
    return state.db


@cache
def links() -> Links:
    settings = get_settings()
    return Links(base_url=settings.base_url, secret=settings.secret_key)


@cache
def transports() -> Transports:
    return Transports.from_settings(get_settings())


async def process_tenant(db: Database, tenant_id: int, links: Links, clock: Clock = utcnow) -> int:
    """Every waiting event of the tenant through the engine; how many there were."""
    total = 0
    while True:
        async with db.tenant(tenant_id) as conn:
            engine = Engine(conn, system_actor(tenant_id), clock, links=links)
            count = await engine.process_inbox(BATCH)
        total += count
        if count < BATCH:
            return total


async def resume_due(db: Database, links: Links, clock: Clock = utcnow) -> int:
    """Take every run whose wait is over on; how many went on."""
    moved = 0
    while True:
        async with db.system() as conn:
            due = await queries.due_runs(conn, clock(), BATCH)
        for row in due:
            tenant_id = row["tenant_id"]
            async with db.tenant(tenant_id) as conn:
                engine = Engine(conn, system_actor(tenant_id), clock, links=links)
                moved += await engine.resume(row["id"])
        if len(due) < BATCH:
            return moved


async def settle(
    db: Database, links: Links, transports: Transports, clock: Clock = utcnow
) -> dict[str, int]:
    """Send what is due and take the runs that sent it on, until nothing moves."""
    figures: dict[str, int] = {}
    for _ in range(ROUNDS):
        sent = await send_due(db, transports, clock)
        moved = await resume_due(db, links, clock)
        for key, value in sent.items():
            figures[key] = figures.get(key, 0) + value
        figures["resumed"] = figures.get("resumed", 0) + moved
        if not sent and not moved:
            break
    return figures


@broker.task(task_name="workflows.process")
async def process(tenant_id: int, db: Database = TaskiqDepends(_db)) -> int:
    """The tenant's relayed events through its workflows, then their messages out."""
    events = await process_tenant(db, tenant_id, links())
    if events:
        await settle(db, links(), transports())
    return events


@broker.task(task_name="workflows.sweep", schedule=[{"cron": "* * * * *"}])
async def sweep(db: Annotated[Database, TaskiqDepends(_db)]) -> dict[str, int]:
    """Each minute: events a lost kick left in the inbox, messages due (retries, windows
    now open) and runs whose wait is over."""
    async with db.system() as conn:
        tenants = await queries.tenants_with_inbox(conn)
    figures = {"events": 0}
    for tenant_id in tenants:
        figures["events"] += await process_tenant(db, tenant_id, links())
    figures.update(await settle(db, links(), transports()))
    if any(figures.values()):
        log.info("workflow sweep", **figures)
    return figures


@broker.task(task_name="workflows.time_triggers", schedule=[{"cron": "*/15 * * * *"}])
async def time_triggers(db: Annotated[Database, TaskiqDepends(_db)]) -> int:
    """Every quarter of an hour: accounts that reach a day past due or enter a bucket today,
    and promises due in so many days, start the workflows waiting for them (once a day each,
    however often this runs)."""
    return await run_time_triggers(db, links(), transports())


async def run_time_triggers(
    db: Database, links: Links, transports: Transports, clock: Clock = utcnow
) -> int:
    async with db.system() as conn:
        rows = await queries.time_workflows(conn)
    by_tenant: dict[int, list] = {}
    for row in rows:
        by_tenant.setdefault(row["tenant_id"], []).append(row)
    staged = 0
    for tenant_id, workflows in by_tenant.items():
        async with db.tenant(tenant_id) as conn:
            made = await TimeTriggers(conn, system_actor(tenant_id), clock).stage(workflows)
        if made:
            staged += made
            await process_tenant(db, tenant_id, links, clock)
    if staged:
        await settle(db, links, transports, clock)
        log.info("time triggers", events=staged)
    return staged


@broker.task(task_name="workflows.send")
async def send(db: Annotated[Database, TaskiqDepends(_db)]) -> dict[str, int]:
    """Messages queued outside a run (a payment link a collector sends) out now, rather
    than on the next minute's sweep."""
    return await settle(db, links(), transports())


def message_handoff(jobs: AsyncBroker) -> Handoff:
    """The relay's hand-off to ``send``: one job per batch that queued a message (a lost
    kick leaves it to the minute sweep)."""

    async def kick(_tenant_ids: list[int]) -> None:
        await send.kicker().with_broker(jobs).kiq()

    return Handoff(wants=lambda type, _data: type == events.MESSAGE_QUEUED, kick=kick)


def workflow_handoff(jobs: AsyncBroker) -> Handoff:
    """The relay's hand-off to ``process``: the events some enabled workflow starts on are
    kept in the inbox in the statement that marks them published, then one job per tenant is
    kicked."""

    async def kick(tenant_ids: list[int]) -> None:
        for tenant_id in tenant_ids:
            await process.kicker().with_broker(jobs).kiq(tenant_id)

    return Handoff(wants=lambda _type, _data: False, kick=kick, stage=queries.STAGE)
