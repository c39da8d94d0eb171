"""The worklist in the background: assignment rounds, rules on their cadence, timeouts and
presence. Every job is idempotent (a round assigns only open work; a rule run creates only
what is missing), so redelivery and overlapping runs are harmless."""

from __future__ import annotations

from typing import Annotated

import structlog
from taskiq import AsyncBroker, TaskiqDepends, TaskiqState

from domain.actor import system_actor
from domain.clock import utcnow
from domain.db import Database
from domain.tenancy.service import all_tenant_ids
from domain.worklist import sweeps
from domain.worklist.assignment import ROUND_SIZE
from domain.worklist.rules import RuleService
from domain.worklist.triggers import assignment_due
from tasks.broker import broker
from tasks.relay import Handoff

log = structlog.get_logger("recoup.worklist")


def _db(state: Annotated[TaskiqState, TaskiqDepends()]) -> Database:
    return state.db


async def assign_tenant(db: Database, tenant_id: int, only: list[int] | None = None) -> int:
    """Assignment rounds until nothing more can be placed (a round takes at most 5,000)."""
    total = 0
    while True:
        async with db.tenant(tenant_id) as conn:
            made = await sweeps.assign_waiting(conn, system_actor(tenant_id), only=only)
        total += len(made)
        if len(made) < ROUND_SIZE:
            return total


@broker.task(task_name="worklist.assign")
async def assign(
    tenant_id: int,
    task_ids: list[int] | None = None,
    db: Database = TaskiqDepends(_db),
) -> int:
    """Place waiting work of a tenant (or just ``task_ids``) with its strategies' agents."""
    made = await assign_tenant(db, tenant_id, task_ids)
    if made:
        log.info("tasks assigned", tenant_id=tenant_id, assigned=made)
    return made


def assignment_handoff(jobs: AsyncBroker) -> Handoff:
    """The relay's hand-off to ``assign``: one job per tenant whose events may move work."""

    async def kick(tenant_ids: list[int]) -> None:
        for tenant_id in tenant_ids:
            await assign.kicker().with_broker(jobs).kiq(tenant_id, None)

    return Handoff(wants=assignment_due, kick=kick)


@broker.task(task_name="worklist.run_due_rules", schedule=[{"cron": "* * * * *"}])
async def run_due_rules(db: Annotated[Database, TaskiqDepends(_db)]) -> int:
    """Every rule whose cadence has come round runs, then its tenant's work is assigned."""
    async with db.system() as conn:
        due = await sweeps.due_rules(conn, utcnow())
    created = 0
    tenants: set[int] = set()
    for rule in due:
        tenant_id = rule["tenant_id"]
        try:
            async with db.tenant(tenant_id) as conn:
                run = await RuleService(conn, system_actor(tenant_id)).run(
                    rule["id"], trigger="schedule"
                )
        except Exception:
            log.exception("rule run failed", tenant_id=tenant_id, rule_id=rule["id"])
            continue
        created += run.created
        if run.created:
            tenants.add(tenant_id)
    for tenant_id in sorted(tenants):
        await assign_tenant(db, tenant_id)
    return created


@broker.task(task_name="worklist.sweep", schedule=[{"cron": "* * * * *"}])
async def sweep(db: Annotated[Database, TaskiqDepends(_db)]) -> dict[str, int]:
    """Each minute: assigned work not started in time goes back, unseen agents go offline,
    calls held back for their debtors' sake return to line when they may be made, and
    whatever waits for an agent is offered again."""
    figures = {"timed_out": 0, "offline": 0, "returned": 0, "assigned": 0, "released": 0}
    async with db.system() as conn:
        tenant_ids = await all_tenant_ids(conn)
        figures["released"] = await sweeps.release_held_back(conn, utcnow())
    for tenant_id in tenant_ids:
        actor = system_actor(tenant_id)
        async with db.tenant(tenant_id) as conn:
            figures["timed_out"] += len(await sweeps.return_timed_out(conn, actor))
            gone, returned = await sweeps.mark_offline(conn, actor)
            figures["offline"] += len(gone)
            figures["returned"] += len(returned)
    async with db.system() as conn:
        waiting = await sweeps.tenants_waiting(conn)
    for tenant_id in waiting:
        figures["assigned"] += await assign_tenant(db, tenant_id)
    if any(figures.values()):
        log.info("worklist sweep", **figures)
    return figures
