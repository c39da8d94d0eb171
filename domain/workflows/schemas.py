"""Workflows, their runs and message templates as the API shows and accepts them.

A workflow's steps are a list of tagged objects (``{"kind": "send_sms", ...}``); one
``branch`` step splits accounts between weighted arms, each a list of steps of its own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from domain.accounts.schemas import AccountStatus
from domain.payments.schemas import PaymentLink
from domain.validation import Id
from domain.worklist.schemas import Priority, Strategy, TaskType, Title

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET

# Events a workflow can start on, as the outbox names them.
EventTrigger = Literal[
    "payment.received",
    "payment.failed",
    "promise.made",
    "promise.kept",
    "promise.broken",
    "task.completed",
    "interaction.logged",
    "account.updated",
]
EVENT_TRIGGERS: tuple[str, ...] = EventTrigger.__args__  # type: ignore[attr-defined]
# Triggers the scheduler evaluates once a day per account (in the tenant's calendar).
TimeTrigger = Literal["account.days_past_due", "account.bucket_entered", "promise.due_in"]
TIME_TRIGGERS: tuple[str, ...] = TimeTrigger.__args__  # type: ignore[attr-defined]
TriggerType = Literal[EventTrigger, TimeTrigger]
TRIGGER_TYPES: tuple[str, ...] = EVENT_TRIGGERS + TIME_TRIGGERS

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Expression = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=366 * 24 * 60)]
Weight = Annotated[int, msgspec.Meta(ge=1, le=1000)]
ArmName = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
EventName = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.]{0,59}$")]
Channel = Literal["email", "sms"]


class Trigger(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What starts a run: an event, or a point an account reaches (``days`` past due, a
    ``bucket`` entered, a promise due in ``days``)."""

    type: TriggerType
    days: Days | None = None
    bucket: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] | None = None


class StepBase(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class SendEmail(StepBase, tag="send_email", tag_field="kind"):
    template_id: Id


class SendSms(StepBase, tag="send_sms", tag_field="kind"):
    template_id: Id


class SetStatus(StepBase, tag="set_status", tag_field="kind"):
    status: AccountStatus


class CreateTask(StepBase, tag="create_task", tag_field="kind"):
    type: TaskType = "call"
    title: Title = ""
    priority: Priority = 50
    strategy: Strategy = Strategy()
    queue_id: Id | None = None
    # Due this many minutes after the step runs (1440: the same time tomorrow).
    due_offset_minutes: Annotated[int, msgspec.Meta(ge=0, le=366 * 24 * 60)] | None = None


class Wait(StepBase, tag="wait", tag_field="kind"):
    """Either ``minutes`` from now, or ``until`` a time of day (``"08:00"``: its next
    occurrence) or a date and time (``"2026-12-24T09:00"``) in the debtor's time zone."""

    minutes: Minutes | None = None
    until: Annotated[str, msgspec.Meta(min_length=4, max_length=19)] | None = None


class Emit(StepBase, tag="emit", tag_field="kind"):
    """A custom event for webhooks and sockets, typed ``workflow.<event>``."""

    event: EventName
    data: dict[str, Any] = {}


class StopIf(StepBase, tag="stop_if", tag_field="kind"):
    condition: Expression


Action = SendEmail | SendSms | SetStatus | CreateTask | Wait | Emit | StopIf


class Arm(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: ArmName
    weight: Weight
    steps: list[Action] = []


class Branch(StepBase, tag="branch", tag_field="kind"):
    """Weighted arms; an account always lands in the same arm of a workflow version."""

    arms: Annotated[list[Arm], msgspec.Meta(min_length=2, max_length=10)]


Step = Action | Branch
Steps = Annotated[list[Step], msgspec.Meta(max_length=50)]
Conditions = Annotated[list[Expression], msgspec.Meta(max_length=20)]


class Definition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a version of a workflow does: stored whole with each version."""

    trigger: Trigger
    conditions: Conditions = []
    steps: Steps = []


class Workflow(msgspec.Struct, kw_only=True):
    id: int
    name: str
    enabled: bool
    version: int
    trigger: Trigger
    conditions: list[str]
    steps: list[Step]
    runs_today: int = 0
    last_error: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


class WorkflowCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    trigger: Trigger
    enabled: bool = False
    conditions: Conditions = []
    steps: Steps = []


class WorkflowUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Any of the fields; a change to the trigger, conditions or steps makes a new version."""

    name: Name | Unset = UNSET
    enabled: bool | Unset = UNSET
    trigger: Trigger | Unset = UNSET
    conditions: Conditions | Unset = UNSET
    steps: Steps | Unset = UNSET


class ConditionCheck(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A condition to check as it is typed; ``trigger`` gives ``event`` its shape."""

    condition: Expression
    trigger: TriggerType = "account.updated"


class ConditionResult(msgspec.Struct, kw_only=True):
    valid: bool
    # Accounts of the tenant the condition holds for now (only when valid).
    matches: int | None = None
    accounts: int | None = None
    error: str | None = None
    line: int | None = None
    column: int | None = None


RunStatus = Literal["running", "waiting", "completed", "stopped", "failed"]
StepOutcome = Literal["done", "skipped", "waiting", "failed"]


class RunStep(msgspec.Struct, kw_only=True):
    position: int
    kind: str
    outcome: StepOutcome
    detail: dict[str, Any]
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


class Run(msgspec.Struct, kw_only=True):
    id: int
    workflow_id: int
    workflow_name: str
    version: int
    account_id: int
    # The account's own reference, as people name it.
    account_ref: str
    trigger_event_id: uuid.UUID
    trigger_type: str
    arm: str | None
    status: RunStatus
    position: int
    resume_at: dt.datetime | None
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    steps: list[RunStep] = []


TemplateName = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Subject = Annotated[str, msgspec.Meta(max_length=300)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]


class Template(msgspec.Struct, kw_only=True):
    id: int
    name: str
    channel: Channel
    subject: str
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime


class TemplateCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: TemplateName
    channel: Channel
    body: Body
    subject: Subject = ""


class TemplateUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: TemplateName | Unset = UNSET
    subject: Subject | Unset = UNSET
    body: Body | Unset = UNSET


class TemplatePreviewRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    account_id: Id


class RenderedMessage(msgspec.Struct, kw_only=True):
    channel: Channel
    to: str | None
    subject: str
    body: str


MessageStatus = Literal["queued", "sent", "failed", "skipped"]


class Message(msgspec.Struct, kw_only=True):
    id: int
    account_id: int
    account_ref: str
    channel: Channel
    to: str
    subject: str
    body: str
    status: MessageStatus
    transport: str
    attempts: int
    error: str | None
    run_id: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    # While queued: when it goes (out of the debtor's hours, the window's opening; after a
    # failed try, the next one).
    send_at: dt.datetime | None = None


class PaymentLinkSend(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    channel: Channel
    expires_in_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 30)] = 72


class PaymentLinkSent(msgspec.Struct, kw_only=True):
    """``sending``: queued, going out now; ``waiting``: queued until ``send_at``, when the
    debtor's contact window opens."""

    outcome: Literal["sending", "waiting"]
    message_id: int
    channel: Channel
    to: str
    send_at: dt.datetime
    reason: str | None
    link: PaymentLink
