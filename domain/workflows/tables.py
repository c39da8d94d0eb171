from piccolo.columns import (
    JSONB,
    UUID,
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
from domain.debtors.tables import Debtor
from domain.tenancy.tables import Tenant


class Workflow(Table, tablename="workflows"):
    """Automation a supervisor set up: a trigger, conditions and steps, versioned."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=120)
    enabled = Boolean(default=False)
    version = Integer(default=1)
    trigger_type = Varchar(length=40)
    # The current version's trigger, conditions and steps (as in workflow_versions).
    definition = JSONB(default="{}")
    last_error = Text(null=True, default=None)
    last_error_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class WorkflowVersion(Table, tablename="workflow_versions"):
    """Each version's definition, kept for the runs that started under it."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    workflow_id = ForeignKey(references=Workflow, on_delete=OnDelete.cascade, null=False)
    version = Integer()
    definition = JSONB(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


class WorkflowRun(Table, tablename="workflow_runs"):
    """One account through one workflow version, started by one event (at most once)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    workflow_id = ForeignKey(references=Workflow, on_delete=OnDelete.cascade, null=False)
    version = Integer()
    account_id = ForeignKey(references=Account, on_delete=OnDelete.cascade, null=False)
    event_id = UUID()
    trigger_type = Varchar(length=40)
    event = JSONB(default="{}")
    arm = Varchar(length=40, null=True, default=None)
    status = Varchar(length=12, default="running")
    # The next step to run, in the run's own list of steps (its arm's, after a branch).
    position = Integer(default=0)
    resume_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    error = Text(null=True, default=None)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class WorkflowRunStep(Table, tablename="workflow_run_steps"):
    """What one step of a run did: done, skipped (and why), waiting, failed."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    run_id = ForeignKey(references=WorkflowRun, on_delete=OnDelete.cascade, null=False)
    position = Integer()
    kind = Varchar(length=20)
    outcome = Varchar(length=10)
    detail = JSONB(default="{}")
    error = Text(null=True, default=None)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)


class WorkflowInbox(Table, tablename="workflow_inbox"):
    """Relayed events some enabled workflow starts on, waiting for the engine."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    event_id = UUID()
    type = Varchar(length=40)
    data = JSONB(default="{}")
    occurred_at = Timestamptz(default=TimestamptzNow())


class MessageTemplate(Table, tablename="message_templates"):
    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=120)
    channel = Varchar(length=10)
    subject = Varchar(length=300, default="")
    body = Text()
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Message(Table, tablename="messages"):
    """An e-mail or text to a debtor: queued in the transaction that decided it, sent after."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    account_id = ForeignKey(references=Account, on_delete=OnDelete.cascade, null=False)
    debtor_id = ForeignKey(references=Debtor, on_delete=OnDelete.cascade, null=False)
    run_id = ForeignKey(references=WorkflowRun, on_delete=OnDelete.set_null, null=True)
    position = Integer(null=True, default=None)
    interaction_id = BigInt(null=True, default=None)
    channel = Varchar(length=10)
    to_address = Varchar(length=254)
    subject = Varchar(length=300, default="")
    body = Text()
    status = Varchar(length=10, default="queued")
    transport = Varchar(length=20, default="")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    error = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
