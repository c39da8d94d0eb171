"""The worklist: queues, rules that create tasks, and the life of a task.

A task goes open -> assigned -> in progress -> completed (or cancelled at any point
before); assigned work not started in time, or held by a collector who went offline
(when the tenant says so), goes back to open. Every transition writes its audit row and
its event (``task.created``, ``task.assigned``, ``task.updated``, ``task.completed``) on
the assignee's agent channel (and the previous assignee's, when it changes hands), the
queue's channel, the account's channel and the wallboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from channels import names
from domain.accounts.service import bucket_for, days_past_due
from domain.accounts.visibility import collector_sees
from domain.actor import Actor
from domain.clock import utcnow
from domain.compliance import service as compliance
from domain.db import Connection, Database
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, RecoupError
from domain.money import minor_digits
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.sql import Where
from domain.tenancy.schemas import Tenant
from domain.tenancy.service import TenantService, local_today, to_tenant
from domain.worklist import queries
from domain.worklist.assignment import assign_round
from domain.worklist.conditions import Context, compile_into, validate
from domain.worklist.schemas import (
    HELD_STATUSES,
    PUSH_KINDS,
    TASK_STATUSES,
    UNSET,
    Assignment,
    Condition,
    Queue,
    QueueCreate,
    QueueUpdate,
    Rule,
    RuleCreate,
    RulePreview,
    RulePreviewRequest,
    RuleRun,
    RuleUpdate,
    Strategy,
    Task,
    TaskAccount,
    TaskAssign,
    TaskCancel,
    TaskComplete,
    TaskContact,
    TaskCreate,
    TaskFilter,
)

# Above this many tasks a rule run announces itself with one event instead of one per task.
EVENTS_PER_TASK_UP_TO = 1_000
# A call that only a person can reopen (an opt-out, a dispute) is looked at again after this.
RECHECK_BLOCKED = dt.timedelta(hours=1)
# Candidates per queue in each round of a pull: the first usually serves; later rounds are
# wider, to pass over calls that may not be made yet in fewer round trips.
PULL_BATCHES = (1, 8, 8, 8, 8)


def _money(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_digits(currency)))


def task_account(row: asyncpg.Record, tenant: Tenant, today: dt.date) -> TaskAccount:
    dpd = days_past_due(row["due_date"], today)
    currency = row["currency"]
    return TaskAccount(
        id=row["account_id"] if "account_id" in row else row["id"],
        external_ref=row["external_ref"],
        debtor_id=row["debtor_id"],
        debtor_name=row["debtor_name"],
        currency=currency,
        balance=_money(row["principal"] + row["interest"] + row["fees"], currency),
        days_past_due=dpd,
        bucket=bucket_for(tenant, dpd),
        status=row["account_status"],
        owner_id=row["owner_id"],
    )


def to_task(
    row: asyncpg.Record, tenant: Tenant, today: dt.date, contact: TaskContact | None = None
) -> Task:
    return Task(
        id=row["id"],
        account_id=row["account_id"],
        type=row["type"],
        title=row["title"],
        priority=row["priority"],
        due_at=row["due_at"],
        status=row["status"],
        assignee_id=row["assignee_id"],
        assignee_name=row["assignee_name"],
        group_id=row["group_id"],
        queue_id=row["queue_id"],
        rule_id=row["rule_id"],
        strategy=(row["strategy"] or {}).get("kind", "queue"),
        assigned_by=row["assigned_by"],
        assignment_reason=row["assignment_reason"],
        outcome=row["outcome"],
        notes=row["notes"],
        created_at=row["created_at"],
        assigned_at=row["assigned_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        cancelled_at=row["cancelled_at"],
        updated_at=row["updated_at"],
        account=task_account(row, tenant, today),
        contact=contact,
    )


def to_queue(row: asyncpg.Record) -> Queue:
    return Queue(
        id=row["id"],
        name=row["name"],
        group_id=row["group_id"],
        agent_ids=list(row["agent_ids"] or []),
        age_boost_minutes=row["age_boost_minutes"],
        waiting=row["waiting"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_rule(row: asyncpg.Record) -> Rule:
    return Rule(
        id=row["id"],
        name=row["name"],
        enabled=row["enabled"],
        conditions=msgspec.convert(row["conditions"], list[Condition]),
        task_type=row["task_type"],
        priority=row["priority"],
        due_offset_minutes=row["due_offset_minutes"],
        strategy=msgspec.convert(row["strategy"] or {}, Strategy),
        queue_id=row["queue_id"],
        cadence_minutes=row["cadence_minutes"],
        last_run_at=row["last_run_at"],
        last_created=row["last_created"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def task_channels(task: Task, *also_agents: int | None) -> list[str]:
    channels = [names.account(task.account_id), names.WALLBOARD]
    if task.queue_id is not None:
        channels.append(names.queue(task.queue_id))
    agents = {task.assignee_id, *also_agents} - {None}
    channels += [names.agent(a) for a in sorted(agents)]  # type: ignore[arg-type]
    return channels


class Worklist:
    """Shared plumbing: the tenant, its clock, loading tasks and announcing them."""

    def __init__(
        self, conn: Connection, actor: Actor, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.conn = conn
        self.actor = actor
        self.clock = clock
        self.changes = ChangeRecorder(conn, actor, clock)
        self._tenant: Tenant | None = None

    async def tenant(self) -> Tenant:
        if self._tenant is None:
            self._tenant = await TenantService(self.conn, self.actor).current()
        return self._tenant

    async def context(self) -> Context:
        tenant = await self.tenant()
        now = self.clock()
        return Context(tenant=tenant, today=local_today(tenant, now), now=now)

    async def contacts(self, rows: Sequence[asyncpg.Record]) -> dict[int, TaskContact]:
        """Whether each open call task's debtor may be called now (two statements)."""
        accounts = sorted(
            {
                r["account_id"]
                for r in rows
                if r["type"] == "call" and r["status"] not in ("completed", "cancelled")
            }
        )
        if not accounts:
            return {}
        tenant = await self.tenant()
        decided = await compliance.decisions(
            self.conn, accounts, "call", self.clock(), tenant.settings.contact
        )
        found = {}
        for account_id, decision in decided.items():
            reason = decision.refusals[0].message if decision.refusals else None
            found[account_id] = TaskContact(
                allowed=decision.allowed, reason=reason, opens_at=decision.opens_at
            )
        return found

    async def load(self, ids: list[int]) -> list[Task]:
        if not ids:
            return []
        rows = await queries.tasks_by_ids(self.conn, ids)
        return await self.to_tasks(rows)

    async def to_tasks(
        self, rows: Sequence[asyncpg.Record], *, known: dict[int, TaskContact] | None = None
    ) -> list[Task]:
        """Tasks as shown; ``known`` contact decisions (by account) are not asked again."""
        tenant = await self.tenant()
        today = local_today(tenant, self.clock())
        pending = [r for r in rows if not known or r["account_id"] not in known]
        contacts = {**(known or {}), **(await self.contacts(pending))}
        return [
            to_task(
                r, tenant, today, contacts.get(r["account_id"]) if r["type"] == "call" else None
            )
            for r in rows
        ]

    async def announce(
        self,
        action: str,
        event_type: str,
        tasks: list[Task],
        *,
        before: dict[int, Task] | None = None,
        previous_assignees: dict[int, int | None] | None = None,
    ) -> None:
        """Audit and publish a transition of ``tasks`` (each as it is now)."""
        if not tasks:
            return
        before = before or {}
        previous = previous_assignees or {}
        changes = []
        announced = []
        for task in tasks:
            prior = before.get(task.id)
            was = previous.get(task.id, prior.assignee_id if prior else None)
            data = msgspec.to_builtins(task)
            changes.append((task.id, _audit_view(prior) if prior else None, _audit_view(task)))
            event_data = {"task": data}
            if was is not None and was != task.assignee_id:
                event_data["previous_assignee_id"] = was
            announced.append((event_type, task_channels(task, was), event_data))
        await self.changes.record_many(
            action=action, entity_type="task", changes=changes, events=announced
        )


def _audit_view(task: Task) -> dict[str, Any]:
    return {
        "status": task.status,
        "assignee_id": task.assignee_id,
        "queue_id": task.queue_id,
        "priority": task.priority,
        "assigned_by": task.assigned_by,
        "assignment_reason": task.assignment_reason,
        "outcome": task.outcome,
    }


# Queues ----------------------------------------------------------------------------------


class QueueService(Worklist):
    async def list(self) -> list[Queue]:
        return [to_queue(r) for r in await queries.queues(self.conn)]

    async def get(self, queue_id: int) -> Queue:
        row = await queries.queue(self.conn, queue_id)
        if row is None:
            raise NotFound(f"queue {queue_id} not found")
        return to_queue(row)

    async def _check(self, group_id: int | None, agent_ids: list[int]) -> None:
        if group_id is not None and not await self.conn.fetchval(
            "SELECT 1 FROM agent_groups WHERE id = $1", group_id
        ):
            raise InvalidInput(f"agent group {group_id} not found", field="group_id")
        if agent_ids:
            found = {
                r["id"]
                for r in await self.conn.fetch(
                    "SELECT id FROM users WHERE id = ANY($1::bigint[]) AND role <> 'readonly'",
                    agent_ids,
                )
            }
            missing = [a for a in agent_ids if a not in found]
            if missing:
                raise InvalidInput(
                    f"user {missing[0]} is not an agent of this tenant", field="agent_ids"
                )

    async def create(self, data: QueueCreate) -> Queue:
        await self._check(data.group_id, data.agent_ids)
        try:
            queue_id = await self.conn.fetchval(
                """INSERT INTO task_queues (tenant_id, name, group_id, agent_ids, age_boost_minutes)
                VALUES ($1, $2, $3, $4, $5) RETURNING id""",
                self.actor.tenant_id,
                data.name.strip(),
                data.group_id,
                sorted(set(data.agent_ids)),
                data.age_boost_minutes,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a queue named {data.name!r} already exists", field="name") from None
        queue = await self.get(queue_id)
        await self.changes.record(
            action="queue.create",
            entity_type="queue",
            entity_id=queue_id,
            before=None,
            after=msgspec.to_builtins(queue),
            event_type=None,
        )
        return queue

    async def update(self, queue_id: int, data: QueueUpdate) -> Queue:
        before = await self.get(queue_id)
        changes: dict[str, Any] = {
            k: getattr(data, k)
            for k in ("name", "group_id", "agent_ids", "age_boost_minutes")
            if getattr(data, k) is not UNSET
        }
        if "name" in changes:
            changes["name"] = changes["name"].strip()
        if "agent_ids" in changes:
            changes["agent_ids"] = sorted(set(changes["agent_ids"]))
        await self._check(changes.get("group_id"), changes.get("agent_ids", []))
        if changes:
            try:
                await self.conn.execute(
                    "UPDATE task_queues SET "
                    + ", ".join(f"{k} = ${i}" for i, k in enumerate(changes, start=2))
                    + f", updated_at = ${len(changes) + 2} WHERE id = $1",
                    queue_id,
                    *changes.values(),
                    self.clock(),
                )
            except asyncpg.UniqueViolationError:
                raise Conflict("a queue with that name already exists", field="name") from None
        after = await self.get(queue_id)
        await self.changes.record(
            action="queue.update",
            entity_type="queue",
            entity_id=queue_id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type=None,
        )
        return after

    async def delete(self, queue_id: int) -> None:
        before = await self.get(queue_id)
        if before.waiting:
            raise Conflict(
                f"queue {before.name!r} still has {before.waiting} waiting tasks; "
                "move or cancel them first"
            )
        await self.conn.execute("DELETE FROM task_queues WHERE id = $1", queue_id)
        await self.changes.record(
            action="queue.delete",
            entity_type="queue",
            entity_id=queue_id,
            before=msgspec.to_builtins(before),
            after=None,
            event_type=None,
        )


# Rules -----------------------------------------------------------------------------------

_RULE_COLUMNS = """id, name, enabled, conditions, task_type, priority, due_offset_minutes,
  strategy, queue_id, cadence_minutes, last_run_at, last_created, created_at, updated_at"""


class RuleService(Worklist):
    async def list(self) -> list[Rule]:
        rows = await self.conn.fetch(f"SELECT {_RULE_COLUMNS} FROM task_rules ORDER BY id")
        return [to_rule(r) for r in rows]

    async def get(self, rule_id: int, *, for_update: bool = False) -> Rule:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_RULE_COLUMNS} FROM task_rules WHERE id = $1{lock}", rule_id
        )
        if row is None:
            raise NotFound(f"rule {rule_id} not found")
        return to_rule(row)

    async def _check(
        self, conditions: list[Condition], strategy: Strategy, queue_id: int | None
    ) -> None:
        validate(conditions, await self.context())
        await check_strategy(self.conn, strategy, queue_id)

    async def create(self, data: RuleCreate) -> Rule:
        await self._check(data.conditions, data.strategy, data.queue_id)
        rule_id = await self.conn.fetchval(
            """INSERT INTO task_rules (tenant_id, name, enabled, conditions, task_type, priority,
              due_offset_minutes, strategy, queue_id, cadence_minutes)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id""",
            self.actor.tenant_id,
            data.name.strip(),
            data.enabled,
            msgspec.to_builtins(data.conditions),
            data.task_type,
            data.priority,
            data.due_offset_minutes,
            msgspec.to_builtins(data.strategy),
            data.queue_id,
            data.cadence_minutes,
        )
        rule = await self.get(rule_id)
        await self._audit("rule.create", None, rule)
        return rule

    async def update(self, rule_id: int, data: RuleUpdate) -> Rule:
        before = await self.get(rule_id, for_update=True)
        merged = msgspec.structs.replace(
            before,
            **{
                f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET
            },
        )
        await self._check(merged.conditions, merged.strategy, merged.queue_id)
        await self.conn.execute(
            """UPDATE task_rules SET name = $2, enabled = $3, conditions = $4, task_type = $5,
              priority = $6, due_offset_minutes = $7, strategy = $8, queue_id = $9,
              cadence_minutes = $10, updated_at = $11 WHERE id = $1""",
            rule_id,
            merged.name.strip(),
            merged.enabled,
            msgspec.to_builtins(merged.conditions),
            merged.task_type,
            merged.priority,
            merged.due_offset_minutes,
            msgspec.to_builtins(merged.strategy),
            merged.queue_id,
            merged.cadence_minutes,
            self.clock(),
        )
        after = await self.get(rule_id)
        await self._audit("rule.update", before, after)
        return after

    async def delete(self, rule_id: int) -> None:
        before = await self.get(rule_id, for_update=True)
        # Its tasks stay, no longer anyone's rule (tasks.rule_id carries no foreign key).
        await self.conn.execute(
            "UPDATE tasks SET rule_id = NULL WHERE tenant_id = $1 AND rule_id = $2",
            self.actor.tenant_id,
            rule_id,
        )
        await self.conn.execute("DELETE FROM task_rules WHERE id = $1", rule_id)
        await self._audit("rule.delete", before, None)

    async def _audit(self, action: str, before: Rule | None, after: Rule | None) -> None:
        await self.changes.record(
            action=action,
            entity_type="rule",
            entity_id=(after or before).id,  # type: ignore[union-attr]
            before=msgspec.to_builtins(before) if before else None,
            after=msgspec.to_builtins(after) if after else None,
            event_type=None,
        )

    def _matching(self, conditions: list[Condition], ctx: Context) -> Where:
        where = Where()
        where.add(f"a.tenant_id = {where.param(self.actor.tenant_id)}")
        compile_into(where, conditions, ctx)
        return where

    @staticmethod
    def _from(conditions: list[Condition]) -> str:
        """Accounts, joined to their debtors only when a condition asks about them."""
        if any(c.field.startswith("debtor.") for c in conditions):
            return "accounts a JOIN debtors d ON d.id = a.debtor_id AND d.tenant_id = a.tenant_id"
        return "accounts a"

    async def preview(self, data: RulePreviewRequest) -> RulePreview:
        """How many accounts an (unsaved) rule matches, and a few of them; changes nothing."""
        ctx = await self.context()
        where = self._matching(data.conditions, ctx)
        frm = self._from(data.conditions)
        matching = await self.conn.fetchval(
            f"SELECT count(*) FROM {frm} WHERE {where.sql()}", *where.args
        )
        sample = []
        if data.sample_size:
            rows = await self.conn.fetch(
                f"""SELECT {queries.ACCOUNT_SAMPLE}
                FROM (SELECT a.* FROM {frm} WHERE {where.sql()}
                      ORDER BY a.id LIMIT {int(data.sample_size)}) a
                JOIN debtors d ON d.id = a.debtor_id ORDER BY a.id""",
                *where.args,
            )
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
        FROM {self._from(rule.conditions)}
        WHERE {where.sql()}
        ON CONFLICT (rule_id, account_id)
          WHERE status IN ('open', 'assigned', 'in_progress') AND rule_id IS NOT NULL
          DO NOTHING
        RETURNING id"""
        return sql, where.args

    def _counted(self, sql: str, args: list[Any]) -> tuple[str, list[Any]]:
        """The creation statement, answering how many it created and the first ids (enough
        to know whether to announce them one by one)."""
        args = [*args, EVENTS_PER_TASK_UP_TO + 1]
        return (
            f"""WITH created AS ({sql})
            SELECT (SELECT count(*) FROM created) AS created,
              ARRAY(SELECT id FROM created ORDER BY id LIMIT ${len(args)}) AS first""",
            args,
        )

    async def run(self, rule_id: int, *, trigger: str = "manual") -> RuleRun:
        """Run a rule now: create its tasks in one statement, record the run, announce them
        (one event each, or one for the lot when there are very many)."""
        rule = await self.get(rule_id, for_update=True)
        ctx = await self.context()
        started = ctx.now
        sql, args = self._counted(*self.creation_sql(rule, ctx))
        found = await self.conn.fetchrow(sql, *args)
        count, first = found["created"], list(found["first"])
        finished = self.clock()
        run_row = await self.conn.fetchrow(
            """INSERT INTO rule_runs (tenant_id, rule_id, trigger, created, started_at, finished_at)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
            self.actor.tenant_id,
            rule_id,
            trigger,
            count,
            started,
            finished,
        )
        await self.conn.execute(
            "UPDATE task_rules SET last_run_at = $2, last_created = $3 WHERE id = $1",
            rule_id,
            started,
            count,
        )
        run = RuleRun(
            id=run_row["id"],
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
            event_type=None,
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

    async def runs(self, rule_id: int, limit: int = 20) -> list[RuleRun]:
        await self.get(rule_id)
        rows = await self.conn.fetch(
            """SELECT id, rule_id, trigger, created, started_at, finished_at FROM rule_runs
            WHERE rule_id = $1 ORDER BY id DESC LIMIT $2""",
            rule_id,
            check_limit(limit),
        )
        return [RuleRun(**dict(r)) for r in rows]


async def check_strategy(conn: Connection, strategy: Strategy, queue_id: int | None) -> None:
    if queue_id is not None and not await conn.fetchval(
        "SELECT 1 FROM task_queues WHERE id = $1", queue_id
    ):
        raise InvalidInput(f"queue {queue_id} not found", field="queue_id")
    kind = strategy.kind
    if kind == "agent":
        if strategy.agent_id is None:
            raise InvalidInput("the agent strategy names an agent_id", field="strategy.agent_id")
        if not await conn.fetchval(
            "SELECT 1 FROM users WHERE id = $1 AND active AND role <> 'readonly'", strategy.agent_id
        ):
            raise InvalidInput(
                f"user {strategy.agent_id} is not an active agent", field="strategy.agent_id"
            )
    elif kind in ("fewest_open", "round_robin", "longest_idle") and strategy.group_id is None:
        raise InvalidInput(f"the {kind} strategy names a group_id", field="strategy.group_id")
    if strategy.group_id is not None and not await conn.fetchval(
        "SELECT 1 FROM agent_groups WHERE id = $1", strategy.group_id
    ):
        raise InvalidInput(f"agent group {strategy.group_id} not found", field="strategy.group_id")


# Tasks -----------------------------------------------------------------------------------


class Busy(RecoupError):
    status = 503
    slug = "busy"
    title = "Busy; try again shortly"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = "1"


class PullGate:
    """At most ``concurrency`` "next task" transactions at once in this process; the rest
    wait their turn in order, and beyond ``max_waiting`` waiting ones a pull is refused
    (503) rather than queued without bound. Pulls all want the head of the same queue:
    three at a time get through faster than twenty elbowing for the same rows."""

    def __init__(self, concurrency: int = 3, max_waiting: int = 1000) -> None:
        self._turns = asyncio.Semaphore(max(1, concurrency))
        self.max_waiting = max_waiting
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self.waiting >= self.max_waiting:
            raise Busy(f"{self.waiting} pulls are already waiting; try again in a moment")
        self.waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._turns.release()


async def pull_next(
    db: Database, actor: Actor, gate: PullGate, clock: Callable[[], dt.datetime] = utcnow
) -> NextTask:
    """ "Next task" in its own transaction, taken in turn through the gate."""
    async with gate.turn(), db.tenant(actor.tenant_id, generic_plans=True) as conn:
        return await TaskService(conn, actor, clock).next()


class NextTask(msgspec.Struct, kw_only=True):
    """What "next task" gave: a task, or none and why."""

    task: Task | None
    message: str


class TaskService(Worklist):
    @property
    def _collector(self) -> bool:
        return not self.actor.sees_whole_tenant

    async def get(self, task_id: int) -> Task:
        row = await queries.get_task(self.conn, task_id)
        if row is None or not await self._may_see(row):
            raise NotFound(f"task {task_id} not found")
        return (await self.to_tasks([row]))[0]

    async def _may_see(self, row: asyncpg.Record) -> bool:
        if not self._collector or row["assignee_id"] == self.actor.id:
            return True
        return await self._sees_account(row["account_id"])

    async def _sees_account(self, account_id: int) -> bool:
        return bool(
            await self.conn.fetchval(
                f"SELECT 1 FROM accounts a WHERE a.id = $1 AND {collector_sees('a', '$2')}",
                account_id,
                self.actor.id,
            )
        )

    async def list(
        self, filters: TaskFilter, *, cursor: str | None = None, limit: int = 50
    ) -> Page[Task]:
        check_limit(limit)
        where = Where()
        where.add(f"t.tenant_id = {where.param(self.actor.tenant_id)}")
        for status in filters.status or ():
            if status not in TASK_STATUSES:
                raise InvalidInput(
                    f"unknown status {status!r}; one of {', '.join(TASK_STATUSES)}", field="status"
                )
        if filters.status:
            where.add(f"t.status = ANY({where.param(filters.status)}::text[])")
        if self._collector:
            # Their own work; or, on an account they may see, all of its work (its history).
            if filters.account_id is None or not await self._sees_account(filters.account_id):
                where.add(f"t.assignee_id = {where.param(self.actor.id)}")
        elif filters.assignee_id is not None:
            where.add(f"t.assignee_id = {where.param(filters.assignee_id)}")
        if filters.unassigned:
            where.add("t.assignee_id IS NULL")
        for column in ("queue_id", "rule_id", "account_id"):
            value = getattr(filters, column)
            if value is not None:
                where.add(f"t.{column} = {where.param(value)}")
        if cursor:
            (after,) = decode_cursor(cursor, tuple[int])
            where.add(f"t.id < {where.param(after)}")
        rows = await queries.search_tasks(self.conn, where, order="t.id DESC", limit=limit + 1)
        items = await self.to_tasks(rows[:limit])
        more = len(rows) > limit and items
        return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)

    async def mine(self, limit: int = 500) -> list[Task]:
        """The caller's held work, in the order they should work it."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000", field="limit")
        where = Where()
        where.add(f"t.tenant_id = {where.param(self.actor.tenant_id)}")
        where.add(f"t.assignee_id = {where.param(self.actor.id)}")
        where.add("t.status IN ('assigned', 'in_progress')")
        rows = await queries.search_tasks(self.conn, where, order=queries.HELD_ORDER, limit=limit)
        return await self.to_tasks(rows)

    async def create(self, data: TaskCreate) -> Task:
        account = await self.conn.fetchval("SELECT id FROM accounts WHERE id = $1", data.account_id)
        if account is None:
            raise InvalidInput(f"account {data.account_id} not found", field="account_id")
        await check_strategy(self.conn, data.strategy, data.queue_id)
        now = self.clock()
        task_id = await queries.insert_task(
            self.conn,
            self.actor.tenant_id,
            {
                "account_id": data.account_id,
                "type": data.type,
                "title": data.title.strip(),
                "priority": data.priority,
                "due_at": data.due_at,
                "status": "open",
                "queue_id": data.queue_id,
                "group_id": data.strategy.group_id,
                "strategy": msgspec.to_builtins(data.strategy),
                "notes": data.notes,
                "created_at": now,
                "updated_at": now,
            },
        )
        (task,) = await self.load([task_id])
        await self.announce("task.create", events.TASK_CREATED, [task])
        return task

    async def _held(self, task_id: int) -> Task:
        """The task, locked, for a change by its assignee or a manager."""
        row = await queries.get_task(self.conn, task_id, for_update=True)
        if row is None or not await self._may_see(row):
            raise NotFound(f"task {task_id} not found")
        if self._collector and row["assignee_id"] != self.actor.id:
            raise Forbidden("this task is assigned to someone else")
        return (await self.to_tasks([row]))[0]

    async def _change(
        self, before: Task, changes: dict[str, Any], action: str, event_type: str
    ) -> Task:
        changes["updated_at"] = self.clock()
        await queries.update_task(self.conn, before.id, changes)
        (after,) = await self.load([before.id])
        await self.announce(action, event_type, [after], before={before.id: before})
        return after

    async def start(self, task_id: int) -> Task:
        task = await self._held(task_id)
        if task.status == "in_progress":
            return task
        if task.status != "assigned":
            raise Conflict(f"only assigned work can be started; this task is {task.status}")
        return await self._change(
            task,
            {"status": "in_progress", "started_at": self.clock()},
            "task.start",
            events.TASK_UPDATED,
        )

    async def complete(self, task_id: int, data: TaskComplete) -> Task:
        task = await self._held(task_id)
        if task.status in ("completed", "cancelled"):
            raise Conflict(f"this task is already {task.status}")
        if task.status == "open" and self._collector:
            raise Forbidden("take the task before completing it")
        notes = "\n".join(n for n in (task.notes, data.notes.strip()) if n)
        return await self._change(
            task,
            {
                "status": "completed",
                "outcome": data.outcome.strip(),
                "notes": notes,
                "completed_at": self.clock(),
                "started_at": task.started_at or self.clock(),
            },
            "task.complete",
            events.TASK_COMPLETED,
        )

    async def cancel(self, task_id: int, data: TaskCancel) -> Task:
        task = await self._held(task_id)
        if self._collector:
            raise Forbidden("only a supervisor or admin cancels tasks")
        if task.status in ("completed", "cancelled"):
            raise Conflict(f"this task is already {task.status}")
        notes = "\n".join(n for n in (task.notes, data.reason.strip()) if n)
        return await self._change(
            task,
            {
                "status": "cancelled",
                "cancelled_at": self.clock(),
                "outcome": "cancelled",
                "notes": notes,
            },
            "task.cancel",
            events.TASK_UPDATED,
        )

    async def release(self, task_id: int) -> Task:
        """The assignee hands the task back to its queue."""
        task = await self._held(task_id)
        if task.status not in HELD_STATUSES:
            raise Conflict(f"only held work can be handed back; this task is {task.status}")
        return await self._change(task, _RETURNED.copy(), "task.release", events.TASK_UPDATED)

    async def assign(self, task_id: int, data: TaskAssign) -> Task:
        """A supervisor gives the task to an agent, or back to its queue (no agent)."""
        if self._collector:
            raise Forbidden("only a supervisor or admin reassigns tasks")
        task = await self._held(task_id)
        if task.status in ("completed", "cancelled"):
            raise Conflict(f"this task is already {task.status}")
        if data.assignee_id is None:
            if task.assignee_id is None:
                return task
            return await self._change(task, _RETURNED.copy(), "task.assign", events.TASK_ASSIGNED)
        await queries.lock_agents(self.conn, [data.assignee_id])
        agent = await self.conn.fetchrow(
            "SELECT id, name, status, capacity, active, role FROM users WHERE id = $1",
            data.assignee_id,
        )
        if agent is None or not agent["active"] or agent["role"] == "readonly":
            raise InvalidInput(
                f"user {data.assignee_id} is not an active agent", field="assignee_id"
            )
        if agent["status"] == "offline":
            raise Conflict(f"{agent['name']} is offline", field="assignee_id")
        if agent["id"] == task.assignee_id:
            return task
        held = await queries.held_count(self.conn, agent["id"])
        if held >= agent["capacity"]:
            raise Conflict(
                f"{agent['name']} already holds {held} tasks, their capacity", field="assignee_id"
            )
        who = self.actor.id if self.actor.is_user else self.actor.type
        reason = f"reassigned by {'user ' if self.actor.is_user else ''}{who}"
        if data.reason.strip():
            reason += f": {data.reason.strip()}"
        now = self.clock()
        return await self._change(
            task,
            {
                "status": "assigned",
                "assignee_id": agent["id"],
                "assigned_at": now,
                "started_at": None,
                "assigned_by": "supervisor",
                "assignment_reason": reason,
                "not_before": None,
            },
            "task.assign",
            events.TASK_ASSIGNED,
        )

    async def next(self) -> NextTask:
        """Pull the most urgent waiting task of the caller's queues and start it. Call tasks
        whose debtor may not be called now are passed over until they may."""
        if not self.actor.is_user or self.actor.id is None:
            raise Forbidden("only a signed-in agent pulls tasks")
        found = await queries.lock_agent(self.conn, self.actor.id)
        me = found[0] if found else None
        if me is None or not me["active"] or me["role"] == "readonly":
            raise Forbidden("only an active agent pulls tasks")
        self._tenant = to_tenant(
            {
                "id": me["tenant_id"],
                "slug": me["slug"],
                "name": me["tenant_name"],
                "time_zone": me["time_zone"],
                "settings": me["settings"],
                "created_at": me["tenant_created_at"],
            }
        )
        eligible = [
            {
                "id": r["queue_id"],
                "name": r["queue_name"],
                "age_boost_minutes": r["age_boost_minutes"],
            }
            for r in found
            if r["queue_id"] is not None
        ]
        if me["status"] == "offline":
            await come_online(self.conn, self.actor, me["id"], self.clock)
        if not eligible:
            return NextTask(task=None, message="you are not in any queue")
        queue_ids = [q["id"] for q in eligible]
        boosted = any(q["age_boost_minutes"] for q in eligible)
        now = self.clock()
        chosen = None
        contact: TaskContact | None = None
        skipped = 0
        rules = self._tenant.settings.contact
        window = compliance.state_window(now)
        for batch in PULL_BATCHES:
            rows = await queries.pull_candidates(
                self.conn, self.actor.tenant_id, queue_ids, now, batch, window, boosted=boosted
            )
            if not rows:
                break
            decided = {
                r["account_id"]: compliance.decide_state(r, "call", now, rules)
                for r in rows
                if r["type"] == "call" and r["state_account_id"] is not None
            }
            held_back = []
            for row in rows:
                decision = decided.get(row["account_id"]) if row["type"] == "call" else None
                if decision is not None and not decision.allowed:
                    held_back.append((row["id"], decision.opens_at or now + RECHECK_BLOCKED))
                    continue
                chosen = row
                if decision is not None:
                    contact = TaskContact(allowed=True)
                break
            skipped += len(held_back)
            await queries.hold_back(self.conn, held_back)
            if chosen is not None:
                break
        if chosen is None:
            message = "nothing is waiting in your queues"
            if skipped:
                message += f" that may be worked now ({skipped} calls may not be made yet)"
            return NextTask(task=None, message=message)
        queue_name = next(q["name"] for q in eligible if q["id"] == chosen["queue_id"])
        waited = max(0, int((now - chosen["created_at"]).total_seconds() // 60))
        reason = f"next task from {queue_name}: priority {chosen['priority']}, waited {waited} min"
        row = await queries.take(self.conn, chosen["id"], me["id"], me["capacity"], reason, now)
        if row is None:
            held = await queries.held_count(self.conn, me["id"])
            raise Conflict(
                f"you hold {held} tasks, your capacity; finish one before taking another"
            )
        known = {chosen["account_id"]: contact} if contact is not None else None
        (task,) = await self.to_tasks([row], known=known)
        await self.announce("task.pull", events.TASK_ASSIGNED, [task])
        return NextTask(task=task, message=reason)


_RETURNED: dict[str, Any] = {
    "status": "open",
    "assignee_id": None,
    "assigned_at": None,
    "started_at": None,
    "assigned_by": None,
    "assignment_reason": None,
}


# Background work (taskiq jobs call these) -------------------------------------------------


async def assign_waiting(
    conn: Connection,
    actor: Actor,
    clock: Callable[[], dt.datetime] = utcnow,
    *,
    only: list[int] | None = None,
) -> list[Assignment]:
    """One assignment round for the actor's tenant, announced."""
    made = await assign_round(conn, actor.tenant_id, clock(), only=only)
    if made:
        worklist = Worklist(conn, actor, clock)
        tasks = await worklist.load([m.task_id for m in made])
        await worklist.announce("task.assign", events.TASK_ASSIGNED, tasks)
    return made


_TIMEOUT_WHERE = """t.tenant_id = $1 AND t.status = 'assigned'
  AND t.assigned_at < $2::timestamptz - make_interval(mins => $3::int)"""


async def return_timed_out(
    conn: Connection, actor: Actor, clock: Callable[[], dt.datetime] = utcnow
) -> list[int]:
    """Assigned work not started within the tenant's time goes back to its queue."""
    worklist = Worklist(conn, actor, clock)
    tenant = await worklist.tenant()
    now = clock()
    minutes = tenant.settings.worklist.assignment_timeout_minutes
    rows = await queries.release(conn, _TIMEOUT_WHERE, [actor.tenant_id, now, minutes], now)
    await _announce_returned(worklist, rows, "task.timeout")
    return [r["id"] for r in rows]


async def _announce_returned(worklist: Worklist, rows: list[asyncpg.Record], action: str) -> None:
    if not rows:
        return
    tasks = await worklist.load([r["id"] for r in rows])
    await worklist.announce(
        action,
        events.TASK_UPDATED,
        tasks,
        previous_assignees={r["id"]: r["previous_assignee_id"] for r in rows},
    )


async def mark_offline(
    conn: Connection, actor: Actor, clock: Callable[[], dt.datetime] = utcnow
) -> tuple[list[int], list[int]]:
    """Agents of the tenant unseen for its offline time become offline; their held work
    stays or returns to its queue as the tenant says. Returns (agents, returned tasks)."""
    worklist = Worklist(conn, actor, clock)
    tenant = await worklist.tenant()
    rules = tenant.settings.worklist
    now = clock()
    cutoff = now - dt.timedelta(minutes=rules.offline_after_minutes)
    gone = await conn.fetch(
        """UPDATE users SET status = 'offline', status_changed_at = $2, updated_at = $2
        WHERE tenant_id = $1 AND status <> 'offline' AND role <> 'readonly'
          AND COALESCE(last_seen_at, status_changed_at) < $3
        RETURNING id, name, group_id""",
        actor.tenant_id,
        now,
        cutoff,
    )
    if not gone:
        return [], []
    ids = [g["id"] for g in gone]
    await worklist.changes.record_many(
        action="user.offline",
        entity_type="user",
        changes=[(g["id"], None, {"status": "offline", "reason": "no socket"}) for g in gone],
        events=[(events.AGENT_STATUS, *_status_change(g, "offline")) for g in gone],
    )
    returned: list[int] = []
    if rules.offline_tasks == "return":
        rows = await queries.release(
            conn,
            "t.tenant_id = $1 AND t.assignee_id = ANY($2::bigint[]) "
            "AND t.status IN ('assigned', 'in_progress')",
            [actor.tenant_id, ids],
            now,
        )
        await _announce_returned(worklist, rows, "task.offline_return")
        returned = [r["id"] for r in rows]
    return ids, returned


def _status_change(agent: Mapping[str, Any], status: str) -> tuple[list[str], dict[str, Any]]:
    """The channels and data of an ``agent.status`` event the worklist raises itself."""
    channels = [names.agent(agent["id"]), names.WALLBOARD]
    if agent["group_id"] is not None:
        channels.append(names.group(agent["group_id"]))
    data = {
        "id": agent["id"],
        "name": agent["name"],
        "status": status,
        "group_id": agent["group_id"],
    }
    return channels, data


async def come_online(
    conn: Connection, actor: Actor, user_id: int, clock: Callable[[], dt.datetime] = utcnow
) -> bool:
    """An offline agent who opens a socket is available again; True when that changed."""
    now = clock()
    row = await conn.fetchrow(
        """UPDATE users SET status = 'available', status_changed_at = $2, last_seen_at = $2,
          updated_at = $2
        WHERE id = $1 AND status = 'offline' AND active AND role <> 'readonly'
        RETURNING id, name, group_id""",
        user_id,
        now,
    )
    if row is None:
        return False
    channels, data = _status_change(row, "available")
    await ChangeRecorder(conn, actor, clock).record(
        action="user.online",
        entity_type="user",
        entity_id=user_id,
        before={"status": "offline"},
        after={"status": "available"},
        event_type=events.AGENT_STATUS,
        channels=channels,
        data=data,
    )
    return True


async def due_rules(conn: Connection, now: dt.datetime) -> list[asyncpg.Record]:
    """Enabled rules whose cadence has come round (system connection: every tenant)."""
    return await conn.fetch(
        """SELECT id, tenant_id FROM task_rules
        WHERE enabled AND (last_run_at IS NULL
          OR last_run_at <= $1::timestamptz - make_interval(mins => cadence_minutes))
        ORDER BY tenant_id, id""",
        now,
    )


async def release_held_back(conn: Connection, now: dt.datetime) -> int:
    """Calls held back whose time has come wait in line again (system connection)."""
    return await queries.release_held_back(conn, now)


async def tenants_waiting(conn: Connection) -> list[int]:
    return await queries.tenants_with_waiting_push(conn, PUSH_KINDS)
