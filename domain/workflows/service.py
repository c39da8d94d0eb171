"""Workflows and templates as supervisors keep them: every definition checked whole before it
is stored (conditions compiled, templates found, waits and tasks valid), each change of what
a workflow does stored as a new version."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec

from channels import names
from domain.accounts.service import AccountService
from domain.custom_fields.service import CustomFieldService
from domain.errors import Conflict, InvalidInput, NotFound
from domain.outbox import events
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.service import Service
from domain.validation import name_text
from domain.workflows import conditions, queries, templates
from domain.workflows.plans import CLOCK_TIME, LOCAL_TIME
from domain.workflows.runs import hide_addresses, to_run
from domain.workflows.schemas import (
    EVENT_TRIGGERS,
    UNSET,
    Branch,
    ConditionCheck,
    ConditionResult,
    CreateTask,
    Definition,
    Message,
    RenderedMessage,
    Run,
    SendEmail,
    SendSms,
    Step,
    StopIf,
    Template,
    TemplateCreate,
    TemplateUpdate,
    Trigger,
    Wait,
    Workflow,
    WorkflowCreate,
    WorkflowUpdate,
)
from domain.workflows.variables import sample
from domain.worklist.base import check_strategy


def to_workflow(row: asyncpg.Record, runs_today: int = 0) -> Workflow:
    definition = msgspec.convert(row["definition"], Definition)
    return Workflow(
        id=row["id"],
        name=row["name"],
        enabled=row["enabled"],
        version=row["version"],
        trigger=definition.trigger,
        conditions=list(definition.conditions),
        steps=list(definition.steps),
        runs_today=runs_today,
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_template(row: asyncpg.Record) -> Template:
    return Template(**dict(row))


def to_message(row: asyncpg.Record) -> Message:
    return Message(
        id=row["id"],
        account_id=row["account_id"],
        account_ref=row["account_ref"],
        channel=row["channel"],
        to=row["to_address"],
        subject=row["subject"],
        body=row["body"],
        status=row["status"],
        transport=row["transport"],
        attempts=row["attempts"],
        error=row["error"],
        run_id=row["run_id"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        send_at=row["next_attempt_at"] if row["status"] == "queued" else None,
    )


class WorkflowService(Service):
    async def list(self) -> list[Workflow]:
        tenant = await self.tenant()
        counts = await queries.runs_between(self.conn, *_local_day(self.clock(), tenant.time_zone))
        return [to_workflow(r, counts.get(r["id"], 0)) for r in await queries.workflows(self.conn)]

    async def get(self, workflow_id: int) -> Workflow:
        row = await queries.workflow(self.conn, workflow_id)
        if row is None:
            raise NotFound(f"workflow {workflow_id} not found")
        tenant = await self.tenant()
        counts = await queries.runs_between(self.conn, *_local_day(self.clock(), tenant.time_zone))
        return to_workflow(row, counts.get(workflow_id, 0))

    async def create(self, data: WorkflowCreate) -> Workflow:
        definition = Definition(trigger=data.trigger, conditions=data.conditions, steps=data.steps)
        await self.check(definition)
        name = name_text(data.name)
        await self._name_free(name, None)
        row = await queries.insert_workflow(
            self.conn,
            self.actor.tenant_id,
            name=name,
            enabled=data.enabled,
            trigger_type=data.trigger.type,
            definition=msgspec.to_builtins(definition),
            at=self.clock(),
        )
        workflow = to_workflow(row)
        await self.record_change(
            "workflow.create",
            "workflow",
            None,
            workflow,
            event_type=events.WORKFLOW_CREATED,
            channels=[names.SETUP],
        )
        return workflow

    async def update(self, workflow_id: int, data: WorkflowUpdate) -> Workflow:
        row = await queries.workflow(self.conn, workflow_id, for_update=True)
        if row is None:
            raise NotFound(f"workflow {workflow_id} not found")
        before = to_workflow(row)
        definition = Definition(
            trigger=before.trigger if data.trigger is UNSET else data.trigger,
            conditions=before.conditions if data.conditions is UNSET else data.conditions,
            steps=before.steps if data.steps is UNSET else data.steps,
        )
        changed = msgspec.to_builtins(definition) != row["definition"]
        if changed:
            await self.check(definition)
        name = before.name if data.name is UNSET else name_text(data.name)
        if name.lower() != before.name.lower():
            await self._name_free(name, workflow_id)
        row = await queries.update_workflow(
            self.conn,
            workflow_id,
            name=name,
            enabled=before.enabled if data.enabled is UNSET else data.enabled,
            trigger_type=definition.trigger.type,
            definition=msgspec.to_builtins(definition),
            new_version=changed,
            at=self.clock(),
        )
        after = to_workflow(row)
        await self.record_change(
            "workflow.update",
            "workflow",
            before,
            after,
            event_type=events.WORKFLOW_UPDATED,
            channels=[names.SETUP],
        )
        return after

    async def delete(self, workflow_id: int) -> None:
        row = await queries.workflow(self.conn, workflow_id, for_update=True)
        if row is None:
            raise NotFound(f"workflow {workflow_id} not found")
        await queries.delete_workflow(self.conn, workflow_id)
        await self.record_change(
            "workflow.delete",
            "workflow",
            to_workflow(row),
            None,
            event_type=events.WORKFLOW_DELETED,
            channels=[names.SETUP],
        )

    async def _name_free(self, name: str, other_than: int | None) -> None:
        if await queries.name_taken(self.conn, self.actor.tenant_id, name, other_than):
            raise Conflict(f"a workflow named {name!r} already exists", field="name")

    async def check(self, definition: Definition) -> None:
        """Refuse (422) a definition that could not run, naming the field at fault."""
        trigger = definition.trigger
        await self._check_trigger(trigger)
        probe = sample(trigger.type)
        for i, source in enumerate(definition.conditions):
            conditions.check(source, field=f"conditions[{i}]", sample=probe)
        branches = [i for i, s in enumerate(definition.steps) if isinstance(s, Branch)]
        if len(branches) > 1:
            raise InvalidInput(
                "a workflow has at most one branch step", field=f"steps[{branches[1]}]"
            )
        wanted: dict[int, list[tuple[str, str]]] = {}
        for field, step in _walk(definition.steps):
            await self._check_step(field, step, probe, wanted)
        found = await queries.templates_by_id(self.conn, list(wanted))
        for template_id, uses in wanted.items():
            row = found.get(template_id)
            for field, channel in uses:
                if row is None:
                    raise InvalidInput(
                        f"template {template_id} not found", field=f"{field}.template_id"
                    )
                if row["channel"] != channel:
                    raise InvalidInput(
                        f"template {template_id} is an {row['channel']} template, not {channel}",
                        field=f"{field}.template_id",
                    )

    async def _check_trigger(self, trigger: Trigger) -> None:
        needs_days = trigger.type in ("account.days_past_due", "promise.due_in")
        if needs_days and trigger.days is None:
            raise InvalidInput(f"the {trigger.type} trigger needs days", field="trigger.days")
        if not needs_days and trigger.days is not None:
            raise InvalidInput(f"the {trigger.type} trigger takes no days", field="trigger.days")
        if trigger.type == "account.bucket_entered":
            tenant = await self.tenant()
            names = [b.name for b in tenant.settings.buckets]
            if trigger.bucket not in names:
                raise InvalidInput(
                    f"the bucket_entered trigger needs one of the buckets: {', '.join(names)}",
                    field="trigger.bucket",
                )
        elif trigger.bucket is not None:
            raise InvalidInput(
                f"the {trigger.type} trigger takes no bucket", field="trigger.bucket"
            )

    async def _check_step(
        self, field: str, step: Step, probe: dict[str, Any], wanted: dict[int, list]
    ) -> None:
        if isinstance(step, SendEmail | SendSms):
            channel = "email" if isinstance(step, SendEmail) else "sms"
            wanted.setdefault(step.template_id, []).append((field, channel))
        elif isinstance(step, StopIf):
            conditions.check(step.condition, field=f"{field}.condition", sample=probe)
        elif isinstance(step, Wait):
            if (step.minutes is None) == (step.until is None):
                raise InvalidInput("a wait takes either minutes or until", field=field)
            if step.until is not None and not (
                CLOCK_TIME.match(step.until) or LOCAL_TIME.match(step.until)
            ):
                raise InvalidInput(
                    "until is a time of day (08:00) or a local date and time (2026-12-24T09:00)",
                    field=f"{field}.until",
                )
            if step.until is not None and LOCAL_TIME.match(step.until):
                try:
                    dt.datetime.fromisoformat(step.until)
                except ValueError:
                    raise InvalidInput(
                        f"{step.until} is not a date and time", field=f"{field}.until"
                    ) from None
        elif isinstance(step, CreateTask):
            try:
                await check_strategy(self.conn, step.strategy, step.queue_id)
            except InvalidInput as exc:
                raise InvalidInput(exc.detail, field=f"{field}.{exc.field or 'strategy'}") from exc
        elif isinstance(step, Branch):
            names = [arm.name for arm in step.arms]
            if len(set(names)) != len(names):
                raise InvalidInput("arm names must differ", field=f"{field}.arms")

    async def check_condition(self, data: ConditionCheck) -> ConditionResult:
        """A condition as it is typed: valid or not (where), and the accounts it holds for."""
        try:
            conditions.check(data.condition, field="condition", sample=sample(data.trigger))
        except conditions.ConditionError as exc:
            return ConditionResult(valid=False, error=exc.detail, line=exc.line, column=exc.column)
        from domain.workflows.accounts import count_matches

        matches, total = await count_matches(self, data.condition, data.trigger)
        return ConditionResult(valid=True, matches=matches, accounts=total)

    async def runs(
        self,
        *,
        workflow_id: int | None = None,
        account_id: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Run]:
        """Runs, newest first, with their steps: of a workflow, of an account, or all."""
        check_limit(limit)
        if workflow_id is not None:
            await self.get(workflow_id)
        if account_id is not None:
            await self.using(AccountService).get(account_id)
        before = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.runs(
            self.conn,
            workflow_id=workflow_id,
            account_id=account_id,
            before=before,
            limit=limit + 1,
        )
        steps: dict[int, list[asyncpg.Record]] = {}
        for s in await queries.steps_of(self.conn, [r["id"] for r in rows[:limit]]):
            steps.setdefault(s["run_id"], []).append(s)
        runs = [to_run(r, steps.get(r["id"], [])) for r in rows]
        if self.actor.type == "api_key" and not self.actor.has_scope("debtors:read"):
            hide_addresses(runs)
        return page(
            runs,
            limit,
            lambda r: (r.id,),
            tenant_id=self.actor.tenant_id,
        )

    async def run(self, run_id: int) -> Run:
        row = await queries.run(self.conn, run_id)
        if row is None:
            raise NotFound(f"run {run_id} not found")
        return to_run(row, await queries.steps_of(self.conn, [run_id]))

    async def messages(
        self, *, account_id: int | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[Message]:
        """E-mails and texts, newest first (the development mailbox shows them all)."""
        check_limit(limit)
        if account_id is not None:
            await self.using(AccountService).get(account_id)
        before = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.messages(
            self.conn, account_id=account_id, before=before, limit=limit + 1
        )
        return page(
            [to_message(r) for r in rows], limit, lambda m: (m.id,), tenant_id=self.actor.tenant_id
        )


class TemplateService(Service):
    async def list(self) -> list[Template]:
        return [to_template(r) for r in await queries.templates(self.conn)]

    async def get(self, template_id: int) -> Template:
        row = await queries.template(self.conn, template_id)
        if row is None:
            raise NotFound(f"template {template_id} not found")
        return to_template(row)

    async def _check(self, channel: str, subject: str, body: str) -> None:
        if channel == "email" and not subject.strip():
            raise InvalidInput("an e-mail template needs a subject", field="subject")
        if channel == "sms" and subject:
            raise InvalidInput("a text message has no subject", field="subject")
        probe = templates.sample()
        # The tenant's custom fields, each with a value: one it does not define is refused.
        fields = self.using(CustomFieldService)
        for entity in ("account", "debtor"):
            probe[entity]["custom"] = {f.key: f.label for f in await fields.fields(entity)}
        templates.check(subject, field="subject", sample=probe)
        templates.check(body, field="body", sample=probe)

    async def create(self, data: TemplateCreate) -> Template:
        await self._check(data.channel, data.subject, data.body)
        name = name_text(data.name)
        if await queries.template_name_taken(self.conn, self.actor.tenant_id, name, None):
            raise Conflict(f"a template named {name!r} already exists", field="name")
        values = {"name": name, "channel": data.channel, "subject": data.subject, "body": data.body}
        template = to_template(
            await queries.insert_template(self.conn, self.actor.tenant_id, values, self.clock())
        )
        await self.record_change(
            "template.create",
            "template",
            None,
            template,
            event_type=events.TEMPLATE_CREATED,
            channels=[names.SETUP],
        )
        return template

    async def update(self, template_id: int, data: TemplateUpdate) -> Template:
        before = await self.get(template_id)
        name = before.name if data.name is UNSET else name_text(data.name)
        subject = before.subject if data.subject is UNSET else data.subject
        body = before.body if data.body is UNSET else data.body
        await self._check(before.channel, subject, body)
        if name.lower() != before.name.lower() and await queries.template_name_taken(
            self.conn, self.actor.tenant_id, name, template_id
        ):
            raise Conflict(f"a template named {name!r} already exists", field="name")
        values = {"name": name, "subject": subject, "body": body}
        after = to_template(
            await queries.update_template(self.conn, template_id, values, self.clock())
        )
        await self.record_change(
            "template.update",
            "template",
            before,
            after,
            event_type=events.TEMPLATE_UPDATED,
            channels=[names.SETUP],
        )
        return after

    async def preview(self, template_id: int, account_id: int, links: Any) -> RenderedMessage:
        """The template as it would go to one account now (no payment link is made)."""
        from domain.workflows.rendering import render_message

        template = await self.get(template_id)
        try:
            await self.using(AccountService).get(account_id)
        except NotFound:
            raise InvalidInput(f"account {account_id} not found", field="account_id") from None
        subjects = await queries.subjects(self.conn, [account_id])
        subject = subjects[account_id]
        event = {"id": "", "type": "preview", "data": {}, "amount_minor": None}
        try:
            subject_line, body = await render_message(
                self,
                msgspec.to_builtins(template),
                template.channel,
                event,
                subject,
                links,
                make_link=False,
            )
        except ValueError as exc:
            raise InvalidInput(str(exc), field="body") from exc
        to = subject["email"] if template.channel == "email" else subject["phone"]
        return RenderedMessage(channel=template.channel, to=to, subject=subject_line, body=body)

    async def delete(self, template_id: int) -> None:
        before = await self.get(template_id)
        user = await queries.template_in_use(self.conn, template_id)
        if user is not None:
            raise Conflict(f"the workflow {user!r} sends this template", field="template_id")
        await queries.delete_template(self.conn, template_id)
        await self.record_change(
            "template.delete",
            "template",
            before,
            None,
            event_type=events.TEMPLATE_DELETED,
            channels=[names.SETUP],
        )


def _walk(steps: list[Step], prefix: str = "steps") -> list[tuple[str, Step]]:
    out: list[tuple[str, Step]] = []
    for i, step in enumerate(steps):
        out.append((f"{prefix}[{i}]", step))
        if isinstance(step, Branch):
            for j, arm in enumerate(step.arms):
                out += _walk(list(arm.steps), f"{prefix}[{i}].arms[{j}].steps")
    return out


def _local_day(now: dt.datetime, time_zone: str) -> tuple[dt.datetime, dt.datetime]:
    """Where today begins and ends in the tenant's time zone."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    start = dt.datetime.combine(today, dt.time(), zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


__all__ = ["EVENT_TRIGGERS", "TemplateService", "WorkflowService"]
