"""The Piccolo app: every table of the domain, migrations in the top-level ``migrations/``."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from domain.accounts.tables import Account
from domain.audit.tables import AuditEntry
from domain.auth.tables import ApiKey, RefreshToken
from domain.custom_fields.tables import CustomField
from domain.debtors.tables import Debtor, DebtorContact
from domain.imports.tables import Import, ImportMapping, ImportRejection, SftpFile, SftpSource
from domain.interactions.tables import Interaction
from domain.outbox.tables import OutboxEvent
from domain.payments.tables import IdempotencyKey, Payment, PaymentLink, ProviderEvent
from domain.promises.tables import Promise
from domain.tenancy.tables import Tenant
from domain.users.tables import AgentGroup, User
from domain.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from domain.workflows.tables import (
    Message,
    MessageTemplate,
    Workflow,
    WorkflowInbox,
    WorkflowRun,
    WorkflowRunStep,
    WorkflowVersion,
)
from domain.worklist.tables import RuleRun, Task, TaskQueue, TaskRule

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

APP_CONFIG = AppConfig(
    app_name="recoup",
    migrations_folder_path=str(MIGRATIONS),
    table_classes=[
        Tenant,
        AgentGroup,
        User,
        ApiKey,
        RefreshToken,
        Debtor,
        DebtorContact,
        Account,
        Payment,
        IdempotencyKey,
        PaymentLink,
        ProviderEvent,
        Promise,
        Interaction,
        AuditEntry,
        OutboxEvent,
        TaskQueue,
        TaskRule,
        Task,
        RuleRun,
        Workflow,
        WorkflowVersion,
        WorkflowRun,
        WorkflowRunStep,
        WorkflowInbox,
        MessageTemplate,
        ImportMapping,
        Import,
        ImportRejection,
        CustomField,
        SftpSource,
        SftpFile,
        Message,
        WebhookEndpoint,
        WebhookDelivery,
        WebhookAttempt,
    ],
    migration_dependencies=[],
    commands=[],
)
