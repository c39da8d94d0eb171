from piccolo.columns import (
    JSONB,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.accounts.tables import Account
from domain.tenancy.tables import Tenant
from domain.users.tables import AgentGroup, User


class TaskQueue(Table, tablename="task_queues"):
    """Where unassigned work waits, in an order, for the agents allowed to pull from it."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    group_id = ForeignKey(references=AgentGroup, on_delete=OnDelete.set_null, null=True)
    agent_ids = Array(base_column=BigInt())
    # Waiting work gains a priority point every this many minutes (none when null).
    age_boost_minutes = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class TaskRule(Table, tablename="task_rules"):
    """Which accounts need which work: conditions, the task to create, who should get it."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=120)
    enabled = Boolean(default=True)
    conditions = JSONB(default="[]")
    task_type = Varchar(length=20, default="call")
    priority = Integer(default=50)
    due_offset_minutes = Integer(default=0)
    strategy = JSONB(default="{}")
    queue_id = ForeignKey(references=TaskQueue, on_delete=OnDelete.set_null, null=True)
    cadence_minutes = Integer(default=60)
    last_run_at = Timestamptz(null=True, default=None)
    last_created = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Task(Table, tablename="tasks"):
    """One unit of collector work on an account."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    account_id = ForeignKey(references=Account, on_delete=OnDelete.cascade, null=False)
    type = Varchar(length=20, default="call")
    title = Varchar(length=200, default="")
    priority = Integer(default=50)
    due_at = Timestamptz(null=True, default=None)
    status = Varchar(length=12, default="open")
    assignee_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    group_id = ForeignKey(references=AgentGroup, on_delete=OnDelete.set_null, null=True)
    queue_id = ForeignKey(references=TaskQueue, on_delete=OnDelete.set_null, null=True)
    rule_id = ForeignKey(references=TaskRule, on_delete=OnDelete.set_null, null=True)
    strategy = JSONB(default="{}")
    assigned_by = Varchar(length=40, null=True, default=None)
    assignment_reason = Text(null=True, default=None)
    outcome = Varchar(length=40, null=True, default=None)
    notes = Text(default="")
    # A call task whose debtor may not be called yet is not handed out before this.
    not_before = Timestamptz(null=True, default=None)
    # The person who made it by hand (none for a rule's work).
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    assigned_at = Timestamptz(null=True, default=None)
    started_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())


class RuleRun(Table, tablename="rule_runs"):
    """Each run of a rule: when, how many accounts matched, how many tasks it created."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    rule_id = ForeignKey(references=TaskRule, on_delete=OnDelete.cascade, null=False)
    trigger = Varchar(length=12, default="schedule")
    created = Integer(default=0)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
