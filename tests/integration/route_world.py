"""The world the route walk runs in: two tenants, each with its people, API keys by scope and
an object of every kind a path names, some of them on an account its collector cannot see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncssh
import msgspec

from domain.actor import Actor, system_actor
from domain.auth.schemas import SCOPES, ApiKeyCreate
from domain.auth.service import ApiKeyService, expand_scopes
from domain.custom_fields.schemas import CustomFieldCreate
from domain.custom_fields.service import CustomFieldService
from domain.imports.mapping import Mapping, MappingPresetCreate
from domain.imports.service import ImportService
from domain.imports.sftp import SftpSourceCreate, SftpSourceService, key_box
from domain.payments.links import PaymentLinkService
from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from domain.webhooks.schemas import WebhookEndpointCreate
from domain.webhooks.service import WebhookEndpointService
from domain.webhooks.signing import SecretBox
from domain.workflows.schemas import TemplateCreate, WorkflowCreate
from domain.workflows.service import TemplateService, WorkflowService
from domain.worklist.rules import RuleService
from domain.worklist.schemas import RuleCreate
from tests.conftest import SECRET
from tests.factories import SeededTenant, TenantFactory

# What each id in a path names.
PATH_KINDS = {
    "account_id": "account",
    "debtor_id": "debtor",
    "payment_id": "payment",
    "link_id": "link",
    "task_id": "task",
    "user_id": "user",
    "group_id": "group",
    "key_id": "api_key",
    "queue_id": "queue",
    "rule_id": "rule",
    "workflow_id": "workflow",
    "template_id": "template",
    "run_id": "run",
    "endpoint_id": "webhook_endpoint",
    "delivery_id": "webhook_delivery",
    "contact_id": "contact",
    "import_id": "import",
    "mapping_id": "import_mapping",
    "field_id": "custom_field",
    "source_id": "sftp_source",
}
# Objects that belong to an account: a collector sees them only with the account.
ON_AN_ACCOUNT = frozenset({"account", "debtor", "payment", "link", "task", "contact"})

# Least privileged first: what a caller allowed by the guard changes cannot take the
# object away from a less privileged one still to come (a task handed back by a manager
# is no longer the collector's).
ROLES_IN_ORDER = ("collector", "readonly", "supervisor", "admin")

WALK_MAPPING = Mapping(
    columns={"account_ref": "A", "debtor_ref": "D", "principal": "P"}, default_currency="USD"
)
WALK_MAPPING_JSON = msgspec.to_builtins(WALK_MAPPING)
WALK_KEY = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()

LATE = {"field": "days_past_due", "op": "at_least", "value": 30}


@dataclass
class Side:
    """One tenant: its people, API keys by scope, and objects to aim at."""

    tenant: SeededTenant
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    # Ids that bodies name (``Ref``), and one object of each kind (another tenant's target).
    shared: dict[str, int] = field(default_factory=dict)
    # Objects on an account the tenant's collector cannot see.
    hidden: dict[str, int] = field(default_factory=dict)

    @property
    def collector_id(self) -> int:
        return self.tenant.collector.id

    def headers(self, role: str) -> dict[str, str]:
        return self.tenant.users[role].headers

    def key_with(self, scope: str) -> dict[str, str]:
        return self.keys[f"only {scope}"]

    def key_without(self, scope: str | None) -> dict[str, str]:
        return self.keys[f"all but {scope}"] if scope else self.keys["all"]


async def _key(conn: Any, admin: Actor, scopes: list[str]) -> dict[str, str]:
    created = await ApiKeyService(conn, admin).create(ApiKeyCreate(name="walk", scopes=scopes))
    return {"Authorization": f"Bearer {created.key}"}


async def contact_of(tenant: SeededTenant, debtor_id: int) -> int:
    """A new e-mail address of the debtor (a contact is named by its debtor too)."""
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval(
            """INSERT INTO debtor_contacts (tenant_id, debtor_id, kind, type, value)
            VALUES ($1, $2, 'email', 'work', $3) RETURNING id""",
            tenant.id,
            debtor_id,
            f"walk-{uuid.uuid4().hex[:10]}@walk.test",
        )


async def make(
    side: Side, kind: str, *, account_id: int, collector_id: int, debtor_id: int | None = None
) -> int:
    """A new object of ``kind`` in ``side``'s tenant, for the collector ``collector_id``: an
    account (and its debtor) they own; on ``account_id``, a payment, a link, a task they hold."""
    tenant = side.tenant
    if kind == "account":
        return (await tenant.account(owner_id=collector_id)).id
    if kind == "debtor":
        return (await tenant.account(owner_id=collector_id)).debtor_id
    if kind == "contact":
        debtor_id = debtor_id or next(a.debtor_id for a in tenant.accounts if a.id == account_id)
        return await contact_of(tenant, debtor_id)
    system = system_actor(tenant.id)
    name = f"walk-{uuid.uuid4().hex[:10]}"
    async with tenant.db.tenant(tenant.id) as conn:
        if kind == "payment":
            paid = PaymentCreate(amount=Decimal("5.00"), currency="USD")
            return (await PaymentService(conn, system).record(account_id, paid, source="staff")).id
        if kind == "link":
            links = PaymentLinkService(conn, system, secret="walk", base_url="http://walk")
            return (await links.create(account_id, 24)).id
        if kind == "task":
            return await conn.fetchval(
                """INSERT INTO tasks (tenant_id, account_id, type, title, status, assignee_id,
                  assigned_at, strategy)
                VALUES ($1, $2, 'review', 'walk', 'assigned', $3, now(), '{"kind": "queue"}')
                RETURNING id""",
                tenant.id,
                account_id,
                collector_id,
            )
        if kind == "user":
            return await conn.fetchval(
                """INSERT INTO users (tenant_id, email, name, password_hash, role)
                VALUES ($1, $2, 'Walker', 'x', 'collector') RETURNING id""",
                tenant.id,
                f"{name}@walk.test",
            )
        if kind == "group":
            return await conn.fetchval(
                "INSERT INTO agent_groups (tenant_id, name) VALUES ($1, $2) RETURNING id",
                tenant.id,
                name,
            )
        if kind == "queue":
            return await conn.fetchval(
                "INSERT INTO task_queues (tenant_id, name) VALUES ($1, $2) RETURNING id",
                tenant.id,
                name,
            )
        if kind == "rule":
            made = msgspec.convert({"name": name, "conditions": [LATE]}, RuleCreate)
            rule = await RuleService(conn, system).create(made)
            return rule.id
        if kind == "template":
            made = TemplateCreate(name=name, channel="sms", body="Hi {{ debtor.first_name }}")
            return (await TemplateService(conn, system).create(made)).id
        if kind == "workflow":
            made = msgspec.convert(
                {"name": name, "trigger": {"type": "payment.received"}}, WorkflowCreate
            )
            return (await WorkflowService(conn, system).create(made)).id
        if kind == "run":
            workflow = await make(side, "workflow", account_id=account_id, collector_id=0)
            return await conn.fetchval(
                """INSERT INTO workflow_runs (tenant_id, workflow_id, version, account_id,
                  event_id, trigger_type, status)
                VALUES ($1, $2, 1, $3, $4, 'payment.received', 'completed') RETURNING id""",
                tenant.id,
                workflow,
                account_id,
                uuid.uuid4(),
            )
        if kind == "webhook_endpoint":
            made = WebhookEndpointCreate(url="https://93.184.215.14/hooks", description=name)
            service = WebhookEndpointService(conn, system, box=SecretBox(SECRET))
            return (await service.create(made)).endpoint.id
        if kind == "webhook_delivery":
            endpoint = await make(side, "webhook_endpoint", account_id=account_id, collector_id=0)
            return await conn.fetchval(
                """INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, webhook_id,
                  event_type, account_id, payload, status, attempts, occurred_at)
                VALUES ($1, $2, $3, 'msg_walk', 'account.updated', $4, '{}', 'dead', 8, now())
                RETURNING id""",
                tenant.id,
                endpoint,
                uuid.uuid4(),
                account_id,
            )
        if kind == "import_mapping":
            made = MappingPresetCreate(name=name, mapping=WALK_MAPPING)
            return (await ImportService(conn, system).create_preset(made)).id
        if kind == "custom_field":
            made = CustomFieldCreate(
                entity="debtor", key=name.replace("-", "_"), label="Walk", type="string"
            )
            return (await CustomFieldService(conn, system).create(made)).id
        if kind == "sftp_source":
            mapping = await make(side, "import_mapping", account_id=account_id, collector_id=0)
            source = SftpSourceCreate(
                name=name,
                host="sftp.example.com",
                username="walk",
                private_key=WALK_KEY,
                folder="/in",
                processed_folder="/done",
                mapping_id=mapping,
            )
            return (await SftpSourceService(conn, system, box=key_box(SECRET)).create(source)).id
        if kind == "import":
            return await conn.fetchval(
                """INSERT INTO imports (tenant_id, kind, file_name, path, size_bytes, checksum,
                  mapping, status, rows_read, rows_rejected)
                VALUES ($1, 'accounts', 'walk.csv', '/nonexistent/walk.csv', 10, $2, $3,
                  'done', 1, 0) RETURNING id""",
                tenant.id,
                "0" * 64,
                msgspec.to_builtins(WALK_MAPPING),
            )
        if kind == "api_key":
            created = await ApiKeyService(conn, tenant.admin.actor).create(
                ApiKeyCreate(name=name, scopes=["accounts:read"])
            )
            return created.id
    raise AssertionError(f"the walk cannot make a {kind}")


async def furnish(tenants: TenantFactory) -> Side:
    side = Side(await tenants.new())
    tenant = side.tenant
    async with tenant.db.tenant(tenant.id) as conn:
        admin = tenant.admin.actor
        side.keys["all"] = await _key(conn, admin, sorted(SCOPES))
        for scope in sorted(SCOPES):
            side.keys[f"only {scope}"] = await _key(conn, admin, [scope])
            # Every scope that does not grant this one (a :write grants its :read).
            others = sorted(s for s in SCOPES if scope not in expand_scopes([s]))
            side.keys[f"all but {scope}"] = await _key(conn, admin, others)
    mine, theirs = tenant.accounts[0], tenant.accounts[1]  # the collector's; another's
    side.shared = {"account": mine.id, "debtor": mine.debtor_id, "collector": side.collector_id}
    for kind in set(PATH_KINDS.values()) - set(side.shared):
        side.shared[kind] = await make(
            side, kind, account_id=mine.id, collector_id=side.collector_id
        )
    side.hidden = {"account": theirs.id, "debtor": theirs.debtor_id}
    for kind in ("payment", "link", "task", "contact"):
        side.hidden[kind] = await make(
            side, kind, account_id=theirs.id, collector_id=tenant.other_collector.id
        )
    return side


@dataclass(frozen=True)
class Person:
    id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    tenants: TenantFactory
    here: Side
    there: Side

    async def people(self) -> dict[str, Person]:
        """A new user of each role in ``here``, by role: their headers. What a route does
        to its caller (a new password, signing out everywhere) stays with that route."""
        tenant = self.here.tenant
        async with tenant.db.tenant(tenant.id) as conn:
            rows = await conn.fetch(
                """INSERT INTO users (tenant_id, email, name, password_hash, role)
                SELECT $1, r || '-' || $2 || '@walk.test', 'Walker', 'x', r
                FROM unnest($3::text[]) AS r RETURNING id, role""",
                tenant.id,
                uuid.uuid4().hex[:12],
                list(ROLES_IN_ORDER),
            )
        return {
            r["role"]: Person(r["id"], self.tenants.token_for(r["id"], tenant.id, r["role"]))
            for r in rows
        }

    async def fresh(self, kinds: dict[str, str], collector_id: int | None = None) -> dict[str, int]:
        """New objects for the route's path in ``here``, which ``collector_id`` (by default
        the tenant's collector) may work."""
        here = self.here
        collector = collector_id or here.collector_id
        account = here.tenant.accounts[0].id
        if collector_id is not None and set(kinds.values()) & ON_AN_ACCOUNT:
            account = (await here.tenant.account(owner_id=collector)).id
        made: dict[str, int] = {}
        for param, kind in kinds.items():
            # A contact is the path's debtor's.
            made[param] = await make(
                here,
                kind,
                account_id=account,
                collector_id=collector,
                debtor_id=made.get("debtor_id"),
            )
        return made
