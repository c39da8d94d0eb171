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
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from domain.accounts.audience import account_audience
from domain.accounts.service import AccountService
from domain.accounts.statuses import DESK_HELD
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.compliance import service as compliance
from domain.db import Connection
from domain.errors import RecoupError
from domain.outbox import events
from domain.service import Service
from domain.workflows import conditions, queries
from domain.workflows.links import Links
from domain.workflows.plans import (
    Going,
    Outcome,
    Plan,
    Progress,
    StepFailed,
    Trigger,
    account_of,
    arm_for,
    branch_of,
    definition_of,
    reason,
    wait_until,
)
from domain.workflows.rendering import render_message
from domain.workflows.schemas import (
    TIME_TRIGGERS,
    Action,
    CreateTask,
    Emit,
    SendEmail,
    SendSms,
    SetStatus,
    StopIf,
    Wait,
)
from domain.workflows.variables import event_variables, variables
from domain.worklist.schemas import TaskCreate
from domain.worklist.tasks import TaskService

BATCH = 500


class Engine(Service):
    def __init__(
        self, conn: Connection, actor: Actor, clock: Clock = utcnow, *, links: Links
    ) -> None:
        super().__init__(conn, actor, clock)
        self.links = links
        self.queued_messages = 0

    async def process_inbox(self, limit: int = BATCH) -> int:
        """Start the runs the tenant's waiting events call for; how many events there were."""
        rows = await queries.take_inbox(self.conn, limit)
        if not rows:
            return 0
        todo = [r for r in rows if not r["self_made"]]
        triggers = await self._triggers(sorted({r["type"] for r in todo}))
        wanted = [r for r in todo if r["type"] in triggers]
        accounts = {a for r in wanted if (a := account_of(r["type"], r["data"])) is not None}
        subjects = await queries.subjects(self.conn, sorted(accounts)) if accounts else {}
        tenant = await self.tenant()
        today = await self.today()
        now = self.clock()
        candidates: list[tuple[Plan, dict[str, Any]]] = []
        for r in wanted:
            account_id = account_of(r["type"], r["data"])
            subject = subjects.get(account_id) if account_id is not None else None
            if subject is None:
                continue
            trigger = triggers[r["type"]]
            event = event_variables(r["event_id"], r["type"], r["data"])
            values = variables(subject, tenant, today, event)
            truth = trigger.batch.truth(trigger.batch.context(values))
            for group, members in trigger.groups.items():
                status, error = "running", None
                try:
                    if not conditions.all_hold(group, truth):
                        continue
                except ValueError as exc:
                    status, error = "failed", f"a condition could not be evaluated: {exc}"
                for plan in members:
                    if (
                        r["type"] in TIME_TRIGGERS
                        and r["data"].get("workflow_id") != plan.workflow_id
                    ):
                        continue  # a point in time reached for another workflow's trigger
                    branch = branch_of(plan.definition)
                    run = {
                        "workflow_id": plan.workflow_id,
                        "version": plan.version,
                        "account_id": account_id,
                        "event_id": r["event_id"],
                        "trigger_type": r["type"],
                        "event": event,
                        "arm": arm_for(plan.workflow_id, plan.version, account_id, branch)
                        if branch
                        else None,
                        "status": status,
                        "position": 0,
                        "resume_at": None,
                        "error": error,
                        "started_at": now,
                        "finished_at": now if status == "failed" else None,
                    }
                    candidates.append((plan, run))
        # A redelivered event finds its runs made, and starts nothing.
        keys = [(run["workflow_id"], run["version"], run["event_id"]) for _, run in candidates]
        starting = []
        for i, run_id in (await queries.fresh(self.conn, keys)).items():
            candidates[i][1]["id"] = run_id
            starting.append(candidates[i])
        going = [
            Going(run, plan, subjects[run["account_id"]])
            for plan, run in starting
            if run["status"] != "failed"
        ]
        progress = await self.advance(going)
        for _, run in starting:
            if run["status"] == "failed":
                progress.errors[run["workflow_id"]] = run["error"]
            else:
                run.update(progress.ends[run["id"]])
        await queries.insert_runs(self.conn, self.actor.tenant_id, [run for _, run in starting])
        await self._record(progress)
        await self._announce(
            events.WORKFLOW_TRIGGERED,
            [(run, plan, subjects[run["account_id"]]) for plan, run in starting],
        )
        return len(rows)

    async def _triggers(self, types: list[str]) -> dict[str, Trigger]:
        """The enabled workflows of each of these triggers, as ``Trigger``s."""
        by_type: dict[str, list[Plan]] = {}
        for w in await queries.enabled_for(self.conn, types) if types else []:
            definition = definition_of(w["id"], w["version"], w["definition"])
            plan = Plan(w["id"], w["version"], w["name"], definition)
            by_type.setdefault(w["trigger_type"], []).append(plan)
        return {type: Trigger.of(found) for type, found in by_type.items()}

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
        definition = definition_of(run["workflow_id"], run["version"], stored["definition"])
        plan = Plan(run["workflow_id"], run["version"], stored["name"], definition)
        progress = await self.advance([Going(run, plan, subjects[run["account_id"]])])
        await queries.save_runs(
            self.conn,
            [
                (run_id, e["status"], e["position"], e["resume_at"], e["error"])
                for run_id, e in progress.ends.items()
            ],
            self.clock(),
        )
        await self._record(progress)
        state = {**dict(run), **progress.ends[run["id"]]}
        await self._announce(events.WORKFLOW_STEP, [(state, plan, subjects[run["account_id"]])])
        return True

    async def advance(self, going: list[Going]) -> Progress:
        """Take runs step by step from where each stands until it ends or must wait, all
        together: the tasks (or events) of the same step across runs are made in one
        statement. Where each run ends up, and what it did, is for the caller to save."""
        progress = Progress()
        while going:
            started = self.clock()
            outcomes = await self._steps(going, progress)
            now = self.clock()
            still = []
            for g, done in zip(going, outcomes, strict=True):
                run_id, position = g.run["id"], g.position
                if position >= len(g.steps):
                    progress.end(run_id, "completed", position, now)
                    continue
                kind = g.steps[position].__struct_config__.tag
                if isinstance(done, BaseException):
                    error = f"step {position + 1} ({kind}): {reason(done)}"
                    progress.steps.append(
                        (run_id, position, kind, "failed", {}, error, started, now)
                    )
                    progress.end(run_id, "failed", position, now, error=error)
                    progress.errors[g.plan.workflow_id] = error
                    continue
                assert done is not None
                held = done.outcome == "waiting" and done.hold
                finished = None if held else now
                progress.steps.append(
                    (
                        run_id,
                        position,
                        kind,
                        done.outcome,
                        done.detail,
                        done.error,
                        started,
                        finished,
                    )
                )
                if done.stop:
                    progress.end(run_id, "stopped", position, now)
                elif done.hold or done.resume_at is not None:
                    # A wait goes on at the next step; a held step is tried again (or the
                    # sender moves the run on once its message is out).
                    after = position if done.hold else position + 1
                    progress.end(run_id, "waiting", after, now, resume_at=done.resume_at)
                else:
                    g.position += 1
                    still.append(g)
            going = still
        return progress

    async def _record(self, progress: Progress) -> None:
        """What runs did, once the runs are saved: their messages (whose ids their steps
        name), their steps, and their workflows' last errors."""
        tenant_id = self.actor.tenant_id
        made = await queries.insert_messages(
            self.conn, tenant_id, [m for m, _ in progress.messages], self.clock()
        )
        for message, detail in progress.messages:
            detail["message_id"] = made.get((message["run_id"], message["position"]))
        self.queued_messages += len(made)
        await queries.insert_steps(self.conn, tenant_id, progress.steps)
        for workflow_id, error in progress.errors.items():
            await queries.note_error(self.conn, workflow_id, error, self.clock())

    async def _announce(
        self, event_type: str, runs: list[tuple[Mapping[str, Any], Plan, Any]]
    ) -> None:
        """One event per account, with its runs as they stand now, for those who watch it."""
        by_account: dict[int, tuple[list[str], list[dict[str, Any]]]] = {}
        for run, plan, subject in runs:
            account_id = run["account_id"]
            if account_id not in by_account:
                by_account[account_id] = (account_audience(account_id, subject["owner_id"]), [])
            by_account[account_id][1].append(
                {
                    "id": run["id"],
                    "workflow_id": plan.workflow_id,
                    "workflow_name": plan.name,
                    "version": plan.version,
                    "account_id": account_id,
                    "trigger_type": run["trigger_type"],
                    "trigger_event_id": str(run["event_id"]),
                    "arm": run["arm"],
                    "status": run["status"],
                    "position": run["position"],
                    "resume_at": run["resume_at"],
                    "error": run["error"],
                }
            )
        if by_account:
            await self.changes.record_many(
                action=event_type,
                entity_type="workflow_run",
                changes=[],
                events=[
                    (event_type, audience, {"account_id": account_id, "runs": made})
                    for account_id, (audience, made) in by_account.items()
                ],
            )

    async def _steps(
        self, going: list[Going], progress: Progress
    ) -> list[Outcome | BaseException | None]:
        """The step each run stands at, done: an outcome, or the reason it failed (None for
        a run past its last step). Tasks and events are made together."""
        out: list[Outcome | BaseException | None] = [None] * len(going)
        tasks: list[int] = []
        emits: list[int] = []
        for i, g in enumerate(going):
            if g.position >= len(g.steps):
                continue
            step = g.steps[g.position]
            if isinstance(step, CreateTask):
                tasks.append(i)
            elif isinstance(step, Emit):
                emits.append(i)
            else:
                try:
                    out[i] = await self._step(step, g, progress)
                except (StepFailed, RecoupError, ValueError) as exc:
                    out[i] = exc
        if tasks:
            await self._create_tasks([going[i] for i in tasks], tasks, out)
        if emits:
            await self._emit([going[i] for i in emits], emits, out)
        return out

    async def _create_tasks(
        self, going: list[Going], slots: list[int], out: list[Outcome | BaseException | None]
    ) -> None:
        """The tasks of every run at a ``create_task`` step, in one go; when one step's
        task cannot be made (a queue or agent gone), each step's tasks on their own, so
        that only its runs fail."""
        now = self.clock()
        items = []
        for g in going:
            step = g.steps[g.position]
            assert isinstance(step, CreateTask)
            due = (
                now + dt.timedelta(minutes=step.due_offset_minutes)
                if step.due_offset_minutes is not None
                else None
            )
            items.append(
                TaskCreate(
                    account_id=g.run["account_id"],
                    type=step.type,
                    title=step.title or g.plan.name[:200],
                    priority=step.priority,
                    due_at=due,
                    queue_id=step.queue_id,
                    strategy=step.strategy,
                )
            )
        service = self.using(TaskService)
        try:
            made = await service.create_many(items)
        except RecoupError:
            by_step: dict[int, list[int]] = {}
            for n, g in enumerate(going):
                by_step.setdefault(id(g.steps[g.position]), []).append(n)
            for members in by_step.values():
                try:
                    tasks = await service.create_many([items[n] for n in members])
                except RecoupError as exc:
                    for n in members:
                        out[slots[n]] = exc
                    continue
                for n, task in zip(members, tasks, strict=True):
                    out[slots[n]] = Outcome("done", {"task_id": task.id})
            return
        for slot, task in zip(slots, made, strict=True):
            out[slot] = Outcome("done", {"task_id": task.id})

    async def _emit(
        self, going: list[Going], slots: list[int], out: list[Outcome | BaseException | None]
    ) -> None:
        """The events of every run at an ``emit`` step, in one statement."""
        emitted = []
        for g in going:
            step = g.steps[g.position]
            assert isinstance(step, Emit)
            account_id = g.run["account_id"]
            data = {
                "workflow_id": g.plan.workflow_id,
                "run_id": g.run["id"],
                "account_id": account_id,
                "event": step.event,
                "data": step.data,
            }
            audience = account_audience(account_id, g.subject["owner_id"])
            emitted.append((f"workflow.{step.event}", audience, data))
        made = await self.changes.record_many(
            action="workflow.emit", entity_type="workflow_run", changes=[], events=emitted
        )
        for slot, event in zip(slots, made, strict=True):
            out[slot] = Outcome("done", {"event_id": str(event.id)})

    async def _step(self, step: Action, g: Going, progress: Progress) -> Outcome:
        run, subject = g.run, g.subject
        account_id = run["account_id"]
        if isinstance(step, SetStatus):
            accounts = self.using(AccountService)
            before = await accounts.get(account_id)
            if before.status == step.status:
                return Outcome("skipped", {"status": step.status, "reason": "already so"})
            if before.status in DESK_HELD:
                # Undoing a dispute, a bankruptcy, a death or a settlement is a person's call,
                # with its reason, through status-changes: automation leaves them as they are.
                why = f"a {before.status} account's status changes only from the desk"
                return Outcome("skipped", {"status": before.status, "reason": why})
            await accounts.set_status(account_id, step.status)
            return Outcome("done", {"from": before.status, "to": step.status})
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
        if isinstance(step, SendEmail | SendSms):
            return await self._message(step, g, progress)
        raise StepFailed(f"unknown step {step!r}")

    async def _message(self, step: SendEmail | SendSms, g: Going, progress: Progress) -> Outcome:
        """The message rendered, to be queued once the run is saved; the run waits for
        it to be sent."""
        run, subject = g.run, g.subject
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
        message = {
            "account_id": run["account_id"],
            "debtor_id": subject["debtor_id"],
            "run_id": run["id"],
            "position": g.position,
            "channel": channel,
            "to_address": address,
            "subject": rendered[0],
            "body": rendered[1],
        }
        detail: dict[str, Any] = {"message_id": None, "to": address}
        progress.messages.append((message, detail))
        return Outcome("waiting", detail, hold=True)

    async def _render(
        self, template: Mapping[str, Any], channel: str, run: Mapping[str, Any], subject: Any
    ) -> tuple[str, str]:
        return await render_message(
            self, template, channel, run["event"], subject, self.links, make_link=True
        )
