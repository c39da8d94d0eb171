"""Task rules: conditions over accounts that create tasks, each run one set-based statement.

A rule never has two open tasks on one account (a partial unique index settles races), so
running it again creates only what is missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from channels import names
from domain.accounts.visibility import reads_every_account
from domain.errors import Forbidden, NotFound
from domain.outbox import events
from domain.pagination import Page, check_limit, decode_tenant_cursor, page
from domain.sql import Where
from domain.validation import name_text
from domain.worklist.base import WorklistService, check_strategy
from domain.worklist.conditions import Context, compile_into, debtor_fields, validate
from domain.worklist.queries import rules as queries
from domain.worklist.schemas import (
    UNSET,
    Condition,
    Rule,
    RuleCreate,
    RulePreview,
    RulePreviewRequest,
    RuleRun,
    RuleUpdate,
    Strategy,
)
from domain.worklist.views import task_account, to_rule

# Above this many tasks a rule run announces itself with one event instead of one per task.
EVENTS_PER_TASK_UP_TO = 1_000


def _accounts(conditions: list[Condition]) -> str:
    """Accounts, joined to their debtors only when a condition asks about them."""
    if debtor_fields(conditions):
        return "accounts a JOIN debtors d ON d.id = a.debtor_id AND d.tenant_id = a.tenant_id"
    return "accounts a"


def _stored(rule: Rule | RuleCreate) -> dict[str, Any]:
    return {
        "name": name_text(rule.name),
        "enabled": rule.enabled,
        "conditions": msgspec.to_builtins(rule.conditions),
        "task_type": rule.task_type,
        "priority": rule.priority,
        "due_offset_minutes": rule.due_offset_minutes,
        "strategy": msgspec.to_builtins(rule.strategy),
        "queue_id": rule.queue_id,
        "cadence_minutes": rule.cadence_minutes,
    }


class RuleService(WorklistService):
    async def list(self) -> list[Rule]:
        return [to_rule(r) for r in await queries.rules(self.conn)]

    async def get(self, rule_id: int, *, for_update: bool = False) -> Rule:
        row = await queries.rule(self.conn, rule_id, for_update=for_update)
        if row is None:
            raise NotFound(f"rule {rule_id} not found")
        return to_rule(row)

    def _may_ask_about_debtors(self, conditions: list[Condition]) -> None:
        """Conditions on debtors' fields answer questions about them through counts (a
        preview's, a run's): only for callers who may read every account."""
        fields = debtor_fields(conditions)
        if fields and not reads_every_account(self.actor):
            raise Forbidden(
                f"conditions on {fields[0]} ask about debtors: they need the permission to "
                "read accounts (for an API key, the accounts:read scope)",
                field="conditions",
            )

    async def _check(
        self, conditions: list[Condition], strategy: Strategy, queue_id: int | None
    ) -> None:
        validate(conditions, await self.context())
        await check_strategy(self.conn, strategy, queue_id)

    async def create(self, data: RuleCreate) -> Rule:
        self._may_ask_about_debtors(data.conditions)
        await self._check(data.conditions, data.strategy, data.queue_id)
        rule_id = await queries.insert_rule(self.conn, self.actor.tenant_id, _stored(data))
        rule = await self.get(rule_id)
        await self._record("rule.create", events.RULE_CREATED, None, rule)
        return rule

    async def update(self, rule_id: int, data: RuleUpdate) -> Rule:
        before = await self.get(rule_id, for_update=True)
        if data.conditions is not UNSET:
            self._may_ask_about_debtors(data.conditions)
        merged = msgspec.structs.replace(
            before,
            **{
                f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET
            },
        )
        await self._check(merged.conditions, merged.strategy, merged.queue_id)
        await queries.update_rule(self.conn, rule_id, _stored(merged), self.clock())
        after = await self.get(rule_id)
        await self._record("rule.update", events.RULE_UPDATED, before, after)
        return after

    async def delete(self, rule_id: int) -> None:
        before = await self.get(rule_id, for_update=True)
        await queries.delete_rule(self.conn, self.actor.tenant_id, rule_id)
        await self._record("rule.delete", events.RULE_DELETED, before, None)

    async def _record(
        self, action: str, event_type: str, before: Rule | None, after: Rule | None
    ) -> None:
        await self.record_change(
            action, "rule", before, after, event_type=event_type, channels=[names.SETUP]
        )

    def _matching(self, conditions: list[Condition], ctx: Context) -> Where:
        where = Where()
        where.add(f"a.tenant_id = {where.param(self.actor.tenant_id)}")
        compile_into(where, conditions, ctx)
        return where

    async def preview(self, data: RulePreviewRequest) -> RulePreview:
        """How many accounts an (unsaved) rule matches, and a few of them; changes nothing.

        The count is for anyone who may read rules. The sample shows accounts (ids, debtors'
        names, balances), so it, like conditions on debtors' fields, is only for callers who
        may read every account; others are refused (403) rather than silently given less.
        """
        if data.sample_size and not reads_every_account(self.actor):
            raise Forbidden(
                "a sample shows accounts: it needs the permission to read accounts (for an "
                "API key, the accounts:read scope); send sample_size 0 for the count alone",
                field="sample_size",
            )
        self._may_ask_about_debtors(data.conditions)
        ctx = await self.context()
        where = self._matching(data.conditions, ctx)
        accounts = _accounts(data.conditions)
        matching = await queries.count_matching(self.conn, accounts, where)
        sample = []
        if data.sample_size:
            rows = await queries.sample_matching(self.conn, accounts, where, data.sample_size)
            sample = [task_account(r, ctx.tenant, ctx.today) for r in rows]
        return RulePreview(matching=matching, sample=sample)

    def creation_sql(self, rule: Rule, ctx: Context) -> tuple[str, list[Any]]:
        """The one statement that creates a rule's tasks: every matching account without an
        open task of this rule gets one (the partial unique index settles races)."""
        where = self._matching(rule.conditions, ctx)
        p = where.param
        values = (
            f"{p(self.actor.tenant_id)}, a.id, {p(rule.task_type)}, {p(rule.name[:200])}, "
            f"{p(rule.priority)}, {p(ctx.now + dt.timedelta(minutes=rule.due_offset_minutes))}, "
            f"'open', {p(rule.queue_id)}::bigint, {p(rule.strategy.group_id)}::bigint, "
            f"{p(rule.id)}, {p(msgspec.to_builtins(rule.strategy))}::jsonb, {p(ctx.now)}, "
            f"{p(ctx.now)}"
        )
        sql = f"""INSERT INTO tasks (tenant_id, account_id, type, title, priority, due_at, status,
          queue_id, group_id, rule_id, strategy, created_at, updated_at)
        SELECT {values}
        FROM {_accounts(rule.conditions)}
        WHERE {where.sql()}
        ON CONFLICT (rule_id, account_id)
          WHERE status IN ('open', 'assigned', 'in_progress') AND rule_id IS NOT NULL
          DO NOTHING
        RETURNING id"""
        return sql, where.args

    async def run(self, rule_id: int, *, trigger: str = "manual") -> RuleRun:
        """Run a rule now: create its tasks in one statement, record the run, announce them
        (one event each, or one for the lot when there are very many)."""
        rule = await self.get(rule_id, for_update=True)
        ctx = await self.context()
        started = ctx.now
        sql, args = self.creation_sql(rule, ctx)
        count, first = await queries.create_counted(self.conn, sql, args, EVENTS_PER_TASK_UP_TO + 1)
        finished = self.clock()
        run_id = await queries.record_run(
            self.conn,
            self.actor.tenant_id,
            rule_id,
            trigger=trigger,
            created=count,
            started_at=started,
            finished_at=finished,
        )
        run = RuleRun(
            id=run_id,
            rule_id=rule_id,
            trigger=trigger,
            created=count,
            started_at=started,
            finished_at=finished,
        )
        await self.changes.record(
            action="rule.run",
            entity_type="rule",
            entity_id=rule_id,
            before=None,
            after=msgspec.to_builtins(run),
            event_type=events.RULE_RUN,
            channels=[names.SETUP],
        )
        if count <= EVENTS_PER_TASK_UP_TO:
            await self.announce("task.create", events.TASK_CREATED, await self.load(first))
        else:
            channels = [names.WALLBOARD]
            if rule.queue_id is not None:
                channels.append(names.queue(rule.queue_id))
            await self.changes.event(
                events.TASK_CREATED,
                channels,
                {"rule_id": rule_id, "created": count, "bulk": True},
            )
        return run

    async def runs(
        self, rule_id: int, *, cursor: str | None = None, limit: int = 20
    ) -> Page[RuleRun]:
        """A rule's runs, newest first."""
        check_limit(limit)
        await self.get(rule_id)
        tenant_id = self.actor.tenant_id
        before = decode_tenant_cursor(cursor, tenant_id, tuple[int, int])[1] if cursor else None
        rows = await queries.runs(self.conn, rule_id, limit + 1, before_id=before)
        return page([RuleRun(**dict(r)) for r in rows], limit, lambda r: (tenant_id, r.id))
