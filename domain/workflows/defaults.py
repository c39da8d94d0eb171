"""The workflows every tenant starts with: a receipt by e-mail for each payment, a text two
days before a promise is due, and on a broken promise a text and a call the next day.

They are made through ``TemplateService`` and ``WorkflowService``, checked like any a
supervisor saves, and are ordinary workflows afterwards: edited, switched off or deleted
the same way. ``install`` runs in the transaction that creates the tenant.
"""

from __future__ import annotations

from domain.actor import system_actor
from domain.db import Connection
from domain.tenancy.schemas import Tenant
from domain.workflows.schemas import (
    CreateTask,
    SendEmail,
    SendSms,
    TemplateCreate,
    Trigger,
    Workflow,
    WorkflowCreate,
)
from domain.workflows.service import TemplateService, WorkflowService
from domain.worklist.schemas import Strategy

RECEIPT = TemplateCreate(
    name="Payment receipt",
    channel="email",
    subject="Receipt {{ payment.receipt }}: we received {{ payment.amount }}",
    body=(
        "Hello {{ debtor.first_name }},\n"
        "\n"
        "Thank you: we received your payment of {{ payment.amount }} on account "
        "{{ account.external_ref }}.\n"
        "\n"
        "Receipt number: {{ payment.receipt }}\n"
        "Amount paid: {{ payment.amount }}\n"
        "New balance: {{ account.balance }}\n"
        "\n"
        "Your payment page shows the same receipt number.\n"
        "\n"
        "{{ tenant.name }}\n"
    ),
)
REMINDER = TemplateCreate(
    name="Promise reminder",
    channel="sms",
    body=(
        "{{ tenant.name }}: a reminder that your payment of {{ promise.amount }} on account "
        "{{ account.external_ref }} is due on {{ promise.due_date }}. "
        "Pay here: {{ payment_link }}"
    ),
)
BROKEN = TemplateCreate(
    name="Broken promise",
    channel="sms",
    body=(
        "{{ tenant.name }}: we have not received the {{ promise.amount }} promised for "
        "{{ promise.due_date }} on account {{ account.external_ref }}. Balance "
        "{{ account.balance }}. Pay or choose a new date: {{ payment_link }}"
    ),
)


async def install(conn: Connection, tenant: Tenant) -> list[Workflow]:
    """Create the default templates and workflows, enabled, in ``tenant``."""
    actor = system_actor(tenant.id)
    templates = TemplateService(conn, actor).knows_tenant(tenant)
    workflows = templates.using(WorkflowService)

    receipt, reminder, broken = [await templates.create(t) for t in (RECEIPT, REMINDER, BROKEN)]
    return [
        await workflows.create(
            WorkflowCreate(
                name="Payment receipt",
                enabled=True,
                trigger=Trigger(type="payment.received"),
                steps=[SendEmail(template_id=receipt.id)],
            )
        ),
        await workflows.create(
            WorkflowCreate(
                name="Promise reminder",
                enabled=True,
                trigger=Trigger(type="promise.due_in", days=2),
                steps=[SendSms(template_id=reminder.id)],
            )
        ),
        await workflows.create(
            WorkflowCreate(
                name="Broken promise follow-up",
                enabled=True,
                trigger=Trigger(type="promise.broken"),
                conditions=["account.balance_minor > 0"],
                steps=[
                    SendSms(template_id=broken.id),
                    CreateTask(
                        type="call",
                        title="Call about the broken promise",
                        priority=70,
                        strategy=Strategy(kind="owner"),
                        due_offset_minutes=24 * 60,
                    ),
                ],
            )
        ),
    ]
