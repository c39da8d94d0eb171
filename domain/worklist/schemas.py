"""Tasks, queues and rules as the API shows and accepts them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from domain.validation import Id

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET

TaskType = Literal["call", "email", "review", "follow_up", "custom"]
TASK_TYPES: tuple[str, ...] = TaskType.__args__  # type: ignore[attr-defined]
TaskStatus = Literal["open", "assigned", "in_progress", "completed", "cancelled"]
TASK_STATUSES: tuple[str, ...] = TaskStatus.__args__  # type: ignore[attr-defined]
# The orders a list of tasks comes in: newest first (the default); oldest first; most urgent
# first, then oldest; soonest due first, tasks without a due date last.
TaskSort = Literal["newest", "age", "priority", "due"]
TASK_SORTS: tuple[str, ...] = TaskSort.__args__  # type: ignore[attr-defined]
# Work not yet done: what a rule never duplicates and what counts against capacity.
OPEN_STATUSES: tuple[str, ...] = ("open", "assigned", "in_progress")
HELD_STATUSES: tuple[str, ...] = ("assigned", "in_progress")

StrategyKind = Literal["queue", "agent", "owner", "fewest_open", "round_robin", "longest_idle"]
STRATEGY_KINDS: tuple[str, ...] = StrategyKind.__args__  # type: ignore[attr-defined]
# Strategies the assigner applies; "queue" leaves the task for agents to pull.
PUSH_KINDS: tuple[str, ...] = ("agent", "owner", "fewest_open", "round_robin", "longest_idle")

Priority = Annotated[int, msgspec.Meta(ge=0, le=100)]
Title = Annotated[str, msgspec.Meta(max_length=200)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Outcome = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Notes = Annotated[str, msgspec.Meta(max_length=4000)]


class Strategy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who gets the work: a named agent, the account's owner, an agent of a group (fewest
    open tasks, round robin or longest idle), or nobody yet (a queue agents pull from)."""

    kind: StrategyKind = "queue"
    agent_id: Id | None = None
    group_id: Id | None = None


class Condition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One test of an account: ``{"field": "balance", "op": "gt", "value": "100"}``."""

    field: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    op: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    value: Any = None


class TaskAccount(msgspec.Struct, kw_only=True):
    """The account a task is about, as a worklist row shows it."""

    id: int
    external_ref: str
    debtor_id: int
    debtor_name: str
    currency: str
    balance: Decimal
    days_past_due: int
    bucket: str
    status: str
    owner_id: int | None


class TaskContact(msgspec.Struct, kw_only=True):
    """For a call task: may the debtor be called now, and if not, why and until when."""

    allowed: bool
    reason: str | None = None
    opens_at: dt.datetime | None = None
    # The debtor's zone, in which ``opens_at`` (and a call's due time) is judged.
    time_zone: str | None = None


class Task(msgspec.Struct, kw_only=True):
    id: int
    account_id: int
    type: str
    title: str
    priority: int
    due_at: dt.datetime | None
    status: str
    assignee_id: int | None
    assignee_name: str | None
    group_id: int | None
    queue_id: int | None
    rule_id: int | None
    strategy: str
    assigned_by: str | None
    assignment_reason: str | None
    outcome: str | None
    notes: str
    created_at: dt.datetime
    assigned_at: dt.datetime | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    updated_at: dt.datetime
    account: TaskAccount
    contact: TaskContact | None = None


class TaskCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A task made by hand (a supervisor or an integrator) rather than by a rule."""

    account_id: Id
    type: TaskType = "call"
    title: Title = ""
    priority: Priority = 50
    due_at: dt.datetime | None = None
    queue_id: Id | None = None
    strategy: Strategy = Strategy()
    notes: Notes = ""


class CallbackCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Call the debtor back at ``at``: their local date and time, without an offset."""

    at: Annotated[
        str,
        msgspec.Meta(
            pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$",
            description="the debtor's local date and time, e.g. 2026-12-01T17:30",
        ),
    ]
    notes: Notes = ""
    priority: Priority = 60


class TaskAssign(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Give the task to an agent, or (``assignee_id: null``) back to its queue."""

    assignee_id: Id | None
    reason: Annotated[str, msgspec.Meta(max_length=300)] = ""


class TaskComplete(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    outcome: Outcome
    notes: Notes = ""


class TaskCancel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=300)] = ""


# A supervisor acts on at most this many tasks at once (one transaction, one statement).
MAX_BATCH = 500
TaskIds = Annotated[
    list[Id],
    msgspec.Meta(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} distinct task ids, all of them changed or none",
    ),
]


class TaskBatchAssign(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Give several tasks to one agent."""

    task_ids: TaskIds
    assignee_id: Id
    reason: Annotated[str, msgspec.Meta(max_length=300)] = ""


class TaskBatchCancel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Cancel several tasks, saying why."""

    task_ids: TaskIds
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]


class TaskBatchMove(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Put several tasks in a queue, to wait there for its agents (whoever held them lets
    them go)."""

    task_ids: TaskIds
    queue_id: Id


class TaskBatch(msgspec.Struct, kw_only=True):
    """The tasks as they are now, in id order, and how many of them the action changed
    (the others already were so)."""

    changed: int
    tasks: list[Task]


class TaskFilter(msgspec.Struct, kw_only=True):
    status: list[str] | None = None
    type: list[str] | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    queue_id: int | None = None
    rule_id: int | None = None
    account_id: int | None = None

    def __post_init__(self) -> None:
        # A status sent empty (``?status=``, as a form sends it) is not given.
        self.status = [s for s in self.status if s] or None if self.status else None
        self.type = [t for t in self.type if t] or None if self.type else None


class TaskPage(msgspec.Struct, kw_only=True):
    """A page of tasks and how many match the filters in all (every page, not just this one)."""

    items: list[Task]
    next_cursor: str | None
    total: int


class Queue(msgspec.Struct, kw_only=True):
    id: int
    name: str
    group_id: int | None
    agent_ids: list[int]
    age_boost_minutes: int | None
    # Open tasks waiting in the queue, and when the oldest of them was created.
    waiting: int
    oldest_since: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class QueueCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who may pull: the agents of ``group_id`` and those in ``agent_ids`` (everyone when
    both are empty). Waiting work gains a priority point every ``age_boost_minutes``."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    group_id: Id | None = None
    agent_ids: list[Id] = []
    age_boost_minutes: Annotated[int, msgspec.Meta(ge=1, le=10_080)] | None = None


class QueueUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | Unset = UNSET
    group_id: Id | Unset | None = UNSET
    agent_ids: list[Id] | Unset = UNSET
    age_boost_minutes: Annotated[int, msgspec.Meta(ge=1, le=10080)] | Unset | None = UNSET


class Rule(msgspec.Struct, kw_only=True):
    id: int
    name: str
    enabled: bool
    conditions: list[Condition]
    task_type: str
    priority: int
    due_offset_minutes: int
    strategy: Strategy
    queue_id: int | None
    cadence_minutes: int
    last_run_at: dt.datetime | None
    last_created: int
    created_at: dt.datetime
    updated_at: dt.datetime


DueOffset = Annotated[int, msgspec.Meta(ge=0, le=525_600)]
Cadence = Annotated[int, msgspec.Meta(ge=1, le=10_080)]
Conditions = Annotated[list[Condition], msgspec.Meta(max_length=30)]


class RuleCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    conditions: Conditions
    task_type: TaskType = "call"
    priority: Priority = 50
    due_offset_minutes: DueOffset = 0
    strategy: Strategy = Strategy()
    queue_id: Id | None = None
    cadence_minutes: Cadence = 60
    enabled: bool = True


class RuleUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | Unset = UNSET
    conditions: Conditions | Unset = UNSET
    task_type: TaskType | Unset = UNSET
    priority: Priority | Unset = UNSET
    due_offset_minutes: DueOffset | Unset = UNSET
    strategy: Strategy | Unset = UNSET
    queue_id: Id | Unset | None = UNSET
    cadence_minutes: Cadence | Unset = UNSET
    enabled: bool | Unset = UNSET


class RulePreviewRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    conditions: Conditions
    sample_size: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10


class RulePreview(msgspec.Struct, kw_only=True):
    matching: int
    sample: list[TaskAccount]


class RuleRun(msgspec.Struct, kw_only=True):
    id: int
    rule_id: int
    trigger: str
    created: int
    assigned: int = 0
    started_at: dt.datetime
    finished_at: dt.datetime | None


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    """Why a task went to whom."""

    task_id: int
    agent_id: int
    by: str
    reason: str
