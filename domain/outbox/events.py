"""The event envelope and the event types Recoup writes to the outbox."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final

import msgspec

TENANT_CREATED: Final = "tenant.created"
TENANT_UPDATED: Final = "tenant.updated"
# The contact rules or the tenant's zone changed: to every active user's own channel, since
# their queue and account screens show when each debtor may be contacted (the tenant channel
# is not a collector's to hear).
CONTACT_RULES_CHANGED: Final = "tenant.contact_rules_changed"
ACCOUNT_CREATED: Final = "account.created"
ACCOUNT_UPDATED: Final = "account.updated"
DEBTOR_CREATED: Final = "debtor.created"
DEBTOR_UPDATED: Final = "debtor.updated"
INTERACTION_LOGGED: Final = "interaction.logged"
USER_CREATED: Final = "user.created"
USER_UPDATED: Final = "user.updated"
AGENT_STATUS: Final = "agent.status"
ACCESS_CHANGED: Final = "access.changed"
GROUP_CREATED: Final = "group.created"
GROUP_UPDATED: Final = "group.updated"
GROUP_DELETED: Final = "group.deleted"
API_KEY_CREATED: Final = "api_key.created"
API_KEY_REVOKED: Final = "api_key.revoked"
PAYMENT_RECEIVED: Final = "payment.received"
PAYMENT_FAILED: Final = "payment.failed"
PAYMENT_REFUNDED: Final = "payment.refunded"
PAYMENT_REVERSED: Final = "payment.reversed"
PAYMENT_PENDING: Final = "payment.pending"
PAYMENT_LINK_CREATED: Final = "payment_link.created"
PAYMENT_LINK_REVOKED: Final = "payment_link.revoked"
# The debtor opened a link for the first time (later opens are not news).
PAYMENT_LINK_OPENED: Final = "payment_link.opened"
MESSAGE_QUEUED: Final = "message.queued"
DEBTOR_OPTED_OUT: Final = "debtor.opted_out"
PROMISE_MADE: Final = "promise.made"
PROMISE_KEPT: Final = "promise.kept"
PROMISE_BROKEN: Final = "promise.broken"
TASK_CREATED: Final = "task.created"
TASK_ASSIGNED: Final = "task.assigned"
TASK_UPDATED: Final = "task.updated"
TASK_COMPLETED: Final = "task.completed"
QUEUE_CREATED: Final = "queue.created"
QUEUE_UPDATED: Final = "queue.updated"
QUEUE_DELETED: Final = "queue.deleted"
RULE_CREATED: Final = "rule.created"
RULE_UPDATED: Final = "rule.updated"
RULE_DELETED: Final = "rule.deleted"
RULE_RUN: Final = "rule.run"
WORKFLOW_CREATED: Final = "workflow.created"
WORKFLOW_UPDATED: Final = "workflow.updated"
WORKFLOW_DELETED: Final = "workflow.deleted"
TEMPLATE_CREATED: Final = "template.created"
TEMPLATE_UPDATED: Final = "template.updated"
TEMPLATE_DELETED: Final = "template.deleted"
# A workflow run started on an account (as it stands after its first steps), and a run
# that went on later (its wait over, its message sent or failed).
WORKFLOW_TRIGGERED: Final = "workflow.triggered"
WORKFLOW_STEP: Final = "workflow.step"
WEBHOOK_ENDPOINT_CREATED: Final = "webhook_endpoint.created"
WEBHOOK_ENDPOINT_UPDATED: Final = "webhook_endpoint.updated"
WEBHOOK_ENDPOINT_DELETED: Final = "webhook_endpoint.deleted"
# An endpoint the deliveries disabled (a 410, or failing for days): its admins are told.
WEBHOOK_ENDPOINT_DISABLED: Final = "webhook_endpoint.disabled"
WEBHOOK_DELIVERIES_REPLAYED: Final = "webhook_delivery.replayed"
# Sent to one endpoint on request, to try the receiver.
WEBHOOK_TEST: Final = "webhook.test"
# The whole of a tenant's figures of the day, every few seconds, on its wallboard channel.
WALLBOARD_KPIS: Final = "wallboard.kpis"
# One per batch of an import that changed something: counts so far, for its page and the
# wallboard (an import announces its accounts in bulk, never one event per account). Counts
# only: the import itself (its file's name) is the admins'.
IMPORT_PROGRESS: Final = "import.progress"


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """What happened, to whom it matters (channels), and the data to show for it."""

    id: uuid.UUID
    type: str
    tenant_id: int
    occurred_at: dt.datetime
    channels: list[str]
    data: dict[str, Any]


def new_event(
    type: str, *, tenant_id: int, channels: list[str], data: dict[str, Any], at: dt.datetime
) -> Event:
    return Event(
        id=uuid.uuid4(),
        type=type,
        tenant_id=tenant_id,
        occurred_at=at,
        channels=channels,
        data=data,
    )
