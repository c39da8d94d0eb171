"""The workflow engine: events in, runs out, each step recorded.

The relay copies each relayed event that an enabled workflow of its tenant starts on into
``workflow_inbox`` in its own transaction, and kicks one job per tenant and batch. That job
(``process_inbox``) claims the tenant's waiting events, evaluates every matching workflow's
conditions against one CEL context per event, and starts the runs, at most one per
(workflow version, event): a redelivered event finds its run made and starts nothing.

A run goes step by step in the same transaction until it must wait: for a duration or a
moment (``resume_at``, found by the minute sweep however often workers restart), for the
debtor's contact window to open, or for its message to be sent (the sender wakes it). A
failure stops the run with its reason; a message blocked for good (an opt-out, a cease, a
dispute) is skipped and recorded as such, and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from domain.accounts.audience import account_audience
from domain.accounts.schemas import AccountUpdate
from domain.accounts.service import AccountService
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.compliance import service as compliance
from domain.db import Connection
from domain.errors import RecoupError
from domain.service import Service
from domain.workflows import conditions, queries
from domain.workflows.links import Links
from domain.workflows.rendering import render_message
from domain.workflows.schemas import (
    TIME_TRIGGERS,
    Action,
    Branch,
    CreateTask,
    Definition,
    Emit,
    SendEmail,
    SendSms,
    SetStatus,
    StopIf,
    Wait,
)
from domain.workflows.service import wait_until
from domain.workflows.variables import event_variables, variables
from domain.worklist.schemas import TaskCreate
from domain.worklist.tasks import TaskService

BATCH = 500


@dataclass(frozen=True, slots=True)
class Plan:
    workflow_id: int
    version: int
    name: str
    definition: Definition


@dataclass(slots=True)
class Outcome:
    """What one step did; ``hold`` keeps the run at this step (a message on its way, a
    window not yet open) until ``resume_at`` or until the sender wakes it."""

    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    resume_at: dt.datetime | None = None
    hold: bool = False
    stop: bool = False


class StepFailed(Exception):
    """A step that cannot succeed: the run stops with this reason."""


def account_of(type: str, data: Mapping[str, Any]) -> int | None:
    """The account an event is about: the account itself, or the account its payment,
    promise, task or interaction is on. None for an event that names none (the debtor's
    page's own copies, which carry no ids)."""
    if type.startswith("account.") and type not in TIME_TRIGGERS:
        return _id(data.get("id"))
    found = _id(data.get("account_id"))
    if found is not None:
        return found
    for key in ("payment", "promise", "task", "interaction"):
        nested = data.get(key)
        if isinstance(nested, dict) and _id(nested.get("account_id")) is not None:
            return _id(nested.get("account_id"))
    account = data.get("account")
    return _id(account.get("id")) if isinstance(account, dict) else None


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def arm_for(workflow_id: int, version: int, account_id: int, branch: Branch) -> str:
    """The arm an account lands in: the same for a workflow version, whatever the order."""
    digest = hashlib.blake2b(
        f"{workflow_id}:{version}:{account_id}".encode(), digest_size=8
    ).digest()
    point = int.from_bytes(digest, "big") % sum(arm.weight for arm in branch.arms)
    for arm in branch.arms:
        if point < arm.weight:
            return arm.name
        point -= arm.weight
    raise AssertionError("unreachable: the weights cover every point")


def branch_of(definition: Definition) -> Branch | None:
    return next((s for s in definition.steps if isinstance(s, Branch)), None)


def steps_for(definition: Definition, arm: str | None) -> list[Action]:
    """The run's own list of steps: its arm's in place of the branch."""
    out: list[Action] = []
    for step in definition.steps:
        if isinstance(step, Branch):
            out += next((list(a.steps) for a in step.arms if a.name == arm), [])
        else:
            out.append(step)
    return out


_PLANS: dict[tuple[int, int], Definition] = {}


def _definition(workflow_id: int, version: int, stored: Any) -> Definition:
    """A version's definition, decoded once per process (a version never changes)."""
    key = (workflow_id, version)
    found = _PLANS.get(key)
    if found is None:
        if len(_PLANS) > 10_000:
            _PLANS.clear()
        found = _PLANS[key] = msgspec.convert(stored, Definition)
    return found


class Engine(Service):
    def __init__(
        self, conn: Connection, actor: Actor, clock: Clock = utcnow, *, links: Links
    ) -> None:
        super().__init__(conn, actor, clock)
        self.links = links
        self.queued_messages = 0

    async def process_inbox(self, limit: int = BATCH) -> int:
        """Start the runs the tenant's waiting events call for; how many events there were."""
        rows = await queries.claim_inbox(self.conn, limit)
        if not rows:
            return 0
        todo = [r for r in rows if not r["self_made"]]
        types = sorted({r["type"] for r in todo})
        by_type: dict[str, list[Plan]] = {}
        for w in await queries.enabled_for(self.conn, types) if types else []:
            plan = Plan(
                w["id"],
                w["version"],
                w["name"],
                _definition(w["id"], w["version"], w["definition"]),
            )
            by_type.setdefault(w["trigger_type"], []).append(plan)
        wanted = [r for r in todo if r["type"] in by_type]
        accounts = {a for r in wanted if (a := account_of(r["type"], r["data"])) is not None}
        subjects = await queries.subjects(self.conn, sorted(accounts)) if accounts else {}
        tenant = await self.tenant()
        today = await self.today()
        now = self.clock()
        new: list[tuple] = []
        plans: dict[tuple[int, int], Plan] = {}
        for r in wanted:
            account_id = account_of(r["type"], r["data"])
            subject = subjects.get(account_id) if account_id is not None else None
            if subject is None:
                continue
            event = event_variables(r["event_id"], r["type"], r["data"])
            ctx = conditions.context(variables(subject, tenant, today, event))
            for plan in by_type[r["type"]]:
                if r["type"] in TIME_TRIGGERS and r["data"].get("workflow_id") != plan.workflow_id:
                    continue  # a point in time reached for another workflow's trigger
                status, error = "running", None
                try:
                    if not all(conditions.holds(c, ctx) for c in plan.definition.conditions):
                        continue
                except ValueError as exc:
                    status, error = "failed", f"a condition could not be evaluated: {exc}"
                branch = branch_of(plan.definition)
                arm = (
                    arm_for(plan.workflow_id, plan.version, account_id, branch) if branch else None
                )
                plans[(plan.workflow_id, plan.version)] = plan
                new.append(
                    (
                        plan.workflow_id,
                        plan.version,
                        account_id,
                        r["event_id"],
                        r["type"],
                        event,
                        arm,
                        status,
                        error,
                        now,
                    )
                )
        made = await queries.insert_runs(self.conn, self.actor.tenant_id, new)
        for run in made:
            if run["status"] == "failed":
                await queries.note_error(self.conn, run["workflow_id"], run["error"], now)
                continue
            plan = plans[(run["workflow_id"], run["version"])]
            await self.advance(run, plan, subjects[run["account_id"]])
        await queries.clear_inbox(self.conn, [r["id"] for r in rows])
        return len(rows)

    async def resume(self, run_id: int) -> bool:
        """Take a due waiting run on from where it stopped; False if it is not due (any
        more), or another worker has it."""
        run = await queries.claim_run(self.conn, run_id, self.clock())
        if run is None:
            return False
        stored = await queries.version_definition(self.conn, run["workflow_id"], run["version"])
        subjects = await queries.subjects(self.conn, [run["account_id"]])
        if stored is None or run["account_id"] not in subjects:
            return False
        definition = _definition(run["workflow_id"], run["version"], stored["definition"])
        plan = Plan(run["workflow_id"], run["version"], stored["name"], definition)
        await self.advance(run, plan, subjects[run["account_id"]])
        return True

    async def advance(self, run: Mapping[str, Any], plan: Plan, subject: asyncpg.Record) -> str:
        """Run steps from the run's position until it ends or must wait; its new status."""
        steps = steps_for(plan.definition, run["arm"])
        position = run["position"]
        tenant_id = self.actor.tenant_id
        while position < len(steps):
            step = steps[position]
            started = self.clock()
            try:
                done = await self._step(step, position, run, plan, subject)
            except (StepFailed, RecoupError, ValueError) as exc:
                error = f"step {position + 1} ({step.__struct_config__.tag}): {_reason(exc)}"
                now = self.clock()
                await queries.insert_step(
                    self.conn,
                    tenant_id,
                    run["id"],
                    position,
                    step.__struct_config__.tag,
                    "failed",
                    {},
                    error,
                    started,
                    now,
                )
                await queries.save_run(
                    self.conn,
                    run["id"],
                    status="failed",
                    position=position,
                    resume_at=None,
                    error=error,
                    at=now,
                )
                await queries.note_error(self.conn, plan.workflow_id, error, now)
                return "failed"
            now = self.clock()
            await queries.insert_step(
                self.conn,
                tenant_id,
                run["id"],
                position,
                step.__struct_config__.tag,
                done.outcome,
                done.detail,
                done.error,
                started,
                None if done.outcome == "waiting" and done.hold else now,
            )
            if done.stop:
                await queries.save_run(
                    self.conn,
                    run["id"],
                    status="stopped",
                    position=position,
                    resume_at=None,
                    error=None,
                    at=now,
                )
                return "stopped"
            if done.hold or done.resume_at is not None:
                # A wait goes on at the next step; a held step is tried again (or the sender
                # moves the run on once its message is out).
                next_position = position if done.hold else position + 1
                await queries.save_run(
                    self.conn,
                    run["id"],
                    status="waiting",
                    position=next_position,
                    resume_at=done.resume_at,
                    error=None,
                    at=now,
                )
                return "waiting"
            position += 1
        await queries.save_run(
            self.conn,
            run["id"],
            status="completed",
            position=position,
            resume_at=None,
            error=None,
            at=self.clock(),
        )
        return "completed"

    async def _step(
        self, step: Action, position: int, run: Mapping[str, Any], plan: Plan, subject: Any
    ) -> Outcome:
        account_id = run["account_id"]
        if isinstance(step, SetStatus):
            accounts = self.using(AccountService)
            before = await accounts.get(account_id)
            if before.status == step.status:
                return Outcome("skipped", {"status": step.status, "reason": "already so"})
            await accounts.update(account_id, AccountUpdate(status=step.status))
            return Outcome("done", {"from": before.status, "to": step.status})
        if isinstance(step, CreateTask):
            due = (
                self.clock() + dt.timedelta(minutes=step.due_offset_minutes)
                if step.due_offset_minutes is not None
                else None
            )
            task = await self.using(TaskService).create(
                TaskCreate(
                    account_id=account_id,
                    type=step.type,
                    title=step.title or plan.name[:200],
                    priority=step.priority,
                    due_at=due,
                    queue_id=step.queue_id,
                    strategy=step.strategy,
                )
            )
            return Outcome("done", {"task_id": task.id})
        if isinstance(step, Wait):
            now = self.clock()
            if step.minutes is not None:
                until = now + dt.timedelta(minutes=step.minutes)
            else:
                until = wait_until(step.until or "", now, ZoneInfo(subject["time_zone"]))
            return Outcome("done", {"until": until.isoformat()}, resume_at=until)
        if isinstance(step, StopIf):
            tenant = await self.tenant()
            ctx = conditions.context(variables(subject, tenant, await self.today(), run["event"]))
            if conditions.holds(step.condition, ctx):
                return Outcome("done", {"stopped": True}, stop=True)
            return Outcome("done", {"stopped": False})
        if isinstance(step, Emit):
            data = {
                "workflow_id": plan.workflow_id,
                "run_id": run["id"],
                "account_id": account_id,
                "event": step.event,
                "data": step.data,
            }
            event = await self.changes.event(
                f"workflow.{step.event}",
                account_audience(account_id, subject["owner_id"]),
                data,
            )
            return Outcome("done", {"event_id": str(event.id)})
        if isinstance(step, SendEmail | SendSms):
            return await self._message(step, position, run, plan, subject)
        raise StepFailed(f"unknown step {step!r}")

    async def _message(
        self,
        step: SendEmail | SendSms,
        position: int,
        run: Mapping[str, Any],
        plan: Plan,
        subject: Any,
    ) -> Outcome:
        channel = "email" if isinstance(step, SendEmail) else "sms"
        address = subject["email"] if channel == "email" else subject["phone"]
        if not address:
            what = "e-mail address" if channel == "email" else "phone number"
            return Outcome("skipped", {"reason": f"the debtor has no {what}"})
        tenant = await self.tenant()
        now = self.clock()
        decision = await compliance.decision(
            self.conn, run["account_id"], channel, now, tenant.settings.contact
        )
        if not decision.allowed:
            reasons = [r.message for r in decision.refusals]
            if decision.opens_at is not None:
                return Outcome(
                    "waiting",
                    {"reason": "; ".join(reasons), "until": decision.opens_at.isoformat()},
                    resume_at=decision.opens_at,
                    hold=True,
                )
            return Outcome(
                "skipped",
                {"reason": "; ".join(reasons), "rules": [r.rule for r in decision.refusals]},
            )
        template = await queries.template(self.conn, step.template_id)
        if template is None:
            raise StepFailed(f"template {step.template_id} no longer exists")
        rendered = await self._render(template, channel, run, subject)
        message_id = await queries.insert_message(
            self.conn,
            self.actor.tenant_id,
            {
                "account_id": run["account_id"],
                "debtor_id": subject["debtor_id"],
                "run_id": run["id"],
                "position": position,
                "channel": channel,
                "to_address": address,
                "subject": rendered[0],
                "body": rendered[1],
            },
            now,
        )
        self.queued_messages += 1
        return Outcome("waiting", {"message_id": message_id, "to": address}, hold=True)

    async def _render(
        self, template: Mapping[str, Any], channel: str, run: Mapping[str, Any], subject: Any
    ) -> tuple[str, str]:
        return await render_message(
            self, template, channel, run["event"], subject, self.links, make_link=True
        )


def _reason(exc: BaseException) -> str:
    return getattr(exc, "detail", None) or str(exc) or type(exc).__name__
