"""Tenancy as the schema says it, not as a list here says it: every table of schema
``public`` with a ``tenant_id`` column (and ``tenants`` itself, by its ``id``) is under
forced row-level security with a policy for the application role, and behaves so.

The tables are found twice: at collection, from the Piccolo app's tables, so that each gets
tests of its own; and at run time, from the catalog, which must name the same tables (a
table made by a migration in SQL alone fails the first test). The behaviour is tried on a
world where one tenant has rows in every tenant table, made through the real API and
services; a table without a row there fails, so a new table cannot pass untried.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import httpx
import msgspec
import pytest

from config.settings import DEV_SANDBOX_SECRET
from domain.db import APP_ROLE, Connection, Database
from domain.imports import sftp_queries
from domain.payments.service import PaymentService
from domain.piccolo_app import APP_CONFIG
from domain.webhooks import queries as webhook_queries
from tasks.workflows import process_tenant
from tests.factories import PASSWORD, SeededTenant, TenantFactory
from tests.integration.imports.files import HEADER, MAPPING, finish, good_row
from tests.integration.imports.sftp_server import new_key, private_text
from tests.integration.test_provider_webhooks import event, stripe_signature
from tests.integration.workflow_helpers import LINKS, a_month_ahead, deliver

# The column that names a row's tenant: tenant_id, except on the tenants table itself.
TENANT_COLUMN = "tenant_id"
TENANTS = ("tenants", "id")

# Tables of schema public with a tenant column, as the catalog has them.
CATALOG_TENANT_TABLES = """
SELECT c.relname AS name
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND EXISTS (
    SELECT 1 FROM pg_attribute a
    WHERE a.attrelid = c.oid AND a.attname = $1 AND a.attnum > 0 AND NOT a.attisdropped
  )
ORDER BY 1
"""

# What row-level security the catalog holds for one table, and the policies that apply to a
# role (by name, or to PUBLIC).
TABLE_SECURITY = """
SELECT c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname = $1
"""
POLICIES = """
SELECT p.polname AS name, p.polcmd::text AS command, p.polpermissive AS permissive,
  pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS check
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname = $1
  AND (0::oid = ANY (p.polroles) OR $2::regrole = ANY (p.polroles))
ORDER BY p.polname
"""
# Commands whose policies need a WITH CHECK: ALL ('*'), INSERT ('a') and UPDATE ('w').
WRITES = frozenset({"*", "a", "w"})


def piccolo_tenant_tables() -> list[tuple[str, str]]:
    """(table, tenant column) of every Piccolo table with a tenant, and ``tenants``."""
    tables = [
        (table._meta.tablename, TENANT_COLUMN)
        for table in APP_CONFIG.table_classes
        if TENANT_COLUMN in {c._meta.db_column_name for c in table._meta.columns}
    ]
    return sorted([*tables, TENANTS])


TABLES = piccolo_tenant_tables()


async def catalog_tenant_tables(conn: Connection) -> list[str]:
    return [r["name"] for r in await conn.fetch(CATALOG_TENANT_TABLES, TENANT_COLUMN)]


async def isolation_gaps(conn: Connection, table: str, column: str = TENANT_COLUMN) -> list[str]:
    """What keeps ``table`` from being isolated per tenant under the application role, as
    the catalog says (empty when nothing does)."""
    security = await conn.fetchrow(TABLE_SECURITY, table)
    if security is None:
        return [f"{table}: no such table in schema public"]
    gaps = []
    if not security["enabled"]:
        gaps.append(f"{table}: row-level security is not enabled")
    if not security["forced"]:
        gaps.append(f"{table}: row-level security is not forced (its owner bypasses it)")
    policies = await conn.fetch(POLICIES, table, APP_ROLE)
    if not any(p["permissive"] for p in policies):
        gaps.append(f"{table}: no policy lets {APP_ROLE} see its tenant's rows")
    for policy in policies:
        name = f"{table}: policy {policy['name']}"
        if not _names_the_tenant(policy["using"], column):
            gaps.append(f"{name} does not limit what it shows to app.tenant_id: {policy['using']}")
        if policy["command"] in WRITES:
            if policy["check"] is None:
                gaps.append(f"{name} has no WITH CHECK (writes are held to USING only)")
            elif not _names_the_tenant(policy["check"], column):
                gaps.append(f"{name}'s WITH CHECK does not hold rows to app.tenant_id")
    return gaps


def _names_the_tenant(expression: str | None, column: str) -> bool:
    return expression is not None and column in expression and "app.tenant_id" in expression


# The world -------------------------------------------------------------------------------


@dataclass
class World:
    owner: SeededTenant  # has a row in every tenant table
    stranger: SeededTenant  # looks at them


def _ok(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()


async def furnish(client: httpx.AsyncClient, tenant: SeededTenant) -> None:
    """Rows in every tenant table for ``tenant``, made as its people and its payment
    provider would make them (the factory made its users, debtors and accounts)."""
    admin, supervisor = tenant.admin.headers, tenant.supervisor.headers
    collector = tenant.collector
    account = tenant.accounts[0].id
    api = "/api/v1"
    unique = uuid.uuid4().hex[:8]

    # A sign-in: a refresh token.
    login = {"email": collector.email, "password": PASSWORD}
    _ok(await client.post(f"{api}/auth/login", json=login), 200)
    group = _ok(
        await client.post(f"{api}/agent-groups", json={"name": f"g-{unique}"}, headers=admin), 201
    )
    key = {"name": "world", "scopes": ["accounts:read"]}
    _ok(await client.post(f"{api}/api-keys", json=key, headers=admin), 201)

    # A collector's work on their account: a call, a payment (its idempotency key), a
    # promise and a payment link.
    work = {**collector.headers, "Idempotency-Key": f"world-{unique}"}
    note = {"channel": "note"}
    _ok(await client.post(f"{api}/accounts/{account}/interactions", json=note, headers=work), 201)
    paid = {"amount": "1.00", "currency": "USD"}
    _ok(await client.post(f"{api}/accounts/{account}/payments", json=paid, headers=work), 201)
    in_a_week = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    promised = {"amount": "500.00", "due_date": in_a_week}
    _ok(await client.post(f"{api}/accounts/{account}/promises", json=promised, headers=work), 201)
    _ok(await client.post(f"{api}/accounts/{account}/payment-links", headers=work), 201)

    # The provider's word on a checkout: a provider event.
    ref = f"pi_world_{unique}"
    async with tenant.db.tenant(tenant.id) as conn:
        await PaymentService(conn, tenant.admin.actor).start_checkout(
            account, Decimal("2.00"), provider="sandbox", provider_ref=ref
        )
    body = event(ref, 200)
    signed = {"Stripe-Signature": stripe_signature(body, DEV_SANDBOX_SECRET)}
    webhook = await client.post(
        f"{api}/webhooks/payments/sandbox",
        content=body,
        headers={**signed, "Content-Type": "application/json"},
    )
    assert _ok(webhook, 200)["status"] == "processed"

    # The worklist: a queue, a rule and its run, a task by hand.
    queue = {"name": f"q-{unique}", "group_id": group["id"], "agent_ids": [collector.id]}
    queue_id = _ok(await client.post(f"{api}/queues", json=queue, headers=supervisor), 201)["id"]
    late = {"field": "days_past_due", "op": "at_least", "value": 30}
    rule = {"name": "World", "conditions": [late], "queue_id": queue_id}
    rule_id = _ok(await client.post(f"{api}/rules", json=rule, headers=supervisor), 201)["id"]
    _ok(await client.post(f"{api}/rules/{rule_id}/run", headers=supervisor), 201)
    task = {
        "account_id": tenant.accounts[1].id,
        "type": "review",
        "strategy": {"kind": "agent", "agent_id": tenant.other_collector.id},
    }
    _ok(await client.post(f"{api}/tasks", json=task, headers=supervisor), 201)

    # Workflows: a template and a workflow (its first version), a run of it with its step
    # and the text it queued, and an event still waiting in the engine's inbox.
    text = {"name": f"t-{unique}", "channel": "sms", "body": "Hi {{ debtor.first_name }}"}
    template_id = _ok(await client.post(f"{api}/templates", json=text, headers=supervisor), 201)[
        "id"
    ]
    flow = {
        "name": f"w-{unique}",
        "enabled": True,
        "trigger": {"type": "task.completed"},
        "steps": [{"kind": "send_sms", "template_id": template_id}],
    }
    _ok(await client.post(f"{api}/workflows", json=flow, headers=supervisor), 201)
    completed = {"id": 0, "account_id": account, "status": "completed"}
    await deliver(tenant.db, tenant.id, "task.completed", completed)
    await process_tenant(tenant.db, tenant.id, LINKS, a_month_ahead())
    await deliver(tenant.db, tenant.id, "task.completed", completed)

    # Imports: a saved mapping, a file imported with it, and the row it refused.
    preset = {"name": f"m-{unique}", "mapping": msgspec.to_builtins(MAPPING)}
    mapping_id = _ok(await client.post(f"{api}/import-mappings", json=preset, headers=admin), 201)[
        "id"
    ]
    lines = [HEADER, good_row(0, prefix=f"W{unique}"), [f"W{unique}-bad", "D-x", "", "", "", "USD"]]
    placed = "\n".join(",".join(line) for line in lines).encode()
    upload = await client.post(
        f"{api}/imports",
        headers=admin,
        files={"file": ("world.csv", placed, "text/csv")},
        data={"mapping_id": str(mapping_id)},
    )
    await finish(tenant.db, tenant.id, _ok(upload, 201)["id"])
    # An SFTP source with that mapping, and a file taken from it (as its poll claims one).
    sftp = {
        "name": f"s-{unique}",
        "host": "sftp.example.com",
        "username": "recoup",
        "private_key": private_text(new_key()),
        "folder": "/in",
        "processed_folder": "/done",
        "mapping_id": mapping_id,
    }
    source = _ok(await client.post(f"{api}/sftp-sources", json=sftp, headers=admin), 201)
    async with tenant.db.tenant(tenant.id) as conn:
        await sftp_queries.claim_file(conn, tenant.id, source["id"], "a.csv", "0" * 64, 1)

    # Custom fields: one definition.
    field = {"entity": "account", "key": "segment", "label": "Segment", "type": "string"}
    _ok(await client.post(f"{api}/custom-fields", json=field, headers=admin), 201)

    # Webhooks: an endpoint, the deliveries the relay stages for it, and an attempt.
    hook = {"url": "https://93.184.215.14/hooks"}
    _ok(await client.post(f"{api}/webhook-endpoints", json=hook, headers=admin), 201)
    async with tenant.db.system() as conn:
        outbox = await conn.fetch("SELECT id FROM outbox WHERE tenant_id = $1", tenant.id)
        await webhook_queries.stage(conn, [r["id"] for r in outbox])
        endpoint = await conn.fetchval(
            "SELECT endpoint_id FROM webhook_deliveries WHERE tenant_id = $1 LIMIT 1", tenant.id
        )
        now = dt.datetime.now(dt.UTC)
        lease = uuid.uuid4()
        [claimed] = await webhook_queries.claim(
            conn, endpoint, now, dt.timedelta(seconds=30), 1, lease
        )
        recorded = await webhook_queries.record_attempts(
            conn,
            now,
            lease,
            [
                webhook_queries.Attempt(
                    delivery_id=claimed["id"],
                    status=503,
                    latency_ms=12,
                    response="busy",
                    error=None,
                    outcome="pending",
                    next_attempt_at=now + dt.timedelta(seconds=5),
                )
            ],
        )
        assert recorded == [claimed["id"]]


@pytest.fixture(scope="module")
async def world(client: httpx.AsyncClient, tenants: TenantFactory) -> World:
    owner = await tenants.new()
    await furnish(client, owner)
    return World(owner=owner, stranger=await tenants.new())


# The tests -------------------------------------------------------------------------------


async def test_the_catalog_and_the_tests_know_the_same_tenant_tables(db: Database) -> None:
    async with db.system() as conn:
        catalog = await catalog_tenant_tables(conn)
    collected = sorted(t for t, column in TABLES if column == TENANT_COLUMN)
    assert catalog == collected, (
        "a table with a tenant_id that the Piccolo app does not declare goes untested here: "
        "add its Table to domain/piccolo_app.py"
    )


async def test_the_application_role_cannot_bypass_row_level_security(
    db: Database, world: World
) -> None:
    async with db.tenant(world.stranger.id) as conn:
        role = await conn.fetchrow(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        owns = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
        )
    assert (role["rolsuper"], role["rolbypassrls"], owns) == (False, False, 0)


@pytest.mark.parametrize(("table", "column"), TABLES, ids=[t for t, _ in TABLES])
async def test_the_table_is_under_forced_row_level_security_with_a_tenant_policy(
    db: Database, table: str, column: str
) -> None:
    async with db.system() as conn:
        gaps = await isolation_gaps(conn, table, column)
    assert not gaps, "\n".join(gaps)


@pytest.mark.parametrize(("table", "column"), TABLES, ids=[t for t, _ in TABLES])
async def test_another_tenant_cannot_see_change_delete_or_add_the_tables_rows(
    db: Database, world: World, table: str, column: str
) -> None:
    owner, stranger = world.owner.id, world.stranger.id
    async with db.system() as conn:
        theirs = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", owner)
        row = await conn.fetchval(
            f"SELECT to_jsonb(t)::text FROM {table} t WHERE {column} = $1 LIMIT 1", owner
        )
    assert theirs, (
        f"{table}: the world has no row of its owner in this table; extend furnish() in "
        f"{__name__} so that it makes one, through the API or a service"
    )
    wrong = await _trespass(db, table, column, owner=owner, stranger=stranger, row=row)
    async with db.system() as conn:
        still = await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", owner)
    assert still == theirs, f"{table}: the stranger changed the owner's rows"
    assert not wrong, "\n".join(wrong)


async def _trespass(
    db: Database, table: str, column: str, *, owner: int, stranger: int, row: str
) -> list[str]:
    """What ``stranger`` manages to do to ``owner``'s rows of ``table`` under the application
    role, in a transaction that is rolled back whatever happens."""
    transaction = await db.begin(stranger)
    conn = transaction.conn
    try:
        wrong = []
        seen = await conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE {column} IS DISTINCT FROM $1", stranger
        )
        if seen:
            wrong.append(f"SELECT: {seen} rows of other tenants")
        columns = await _insertable_columns(conn, table)
        listed = ", ".join(columns)
        statements = {
            "UPDATE": (f"UPDATE {table} SET {column} = {column} WHERE {column} = $1", owner),
            "DELETE": (f"DELETE FROM {table} WHERE {column} = $1", owner),
            "INSERT": (
                f"INSERT INTO {table} ({listed}) "
                f"SELECT {listed} FROM jsonb_populate_record(NULL::{table}, $1::text::jsonb)",
                row,
            ),
        }
        for command, (sql, argument) in statements.items():
            granted = await conn.fetchval(
                "SELECT has_table_privilege(current_user, $1, $2)", table, command
            )
            outcome = await _attempt(conn, sql, argument)
            if not granted:
                expected = "refused: permission denied"
            elif command == "INSERT":
                expected = "refused: new row violates row-level security policy"
            else:
                expected = f"{command} 0"
            if not outcome.startswith(expected):
                wrong.append(f"{command}: expected {expected!r}, got {outcome!r}")
        return wrong
    finally:
        await transaction.rollback()


async def _insertable_columns(conn: Connection, table: str) -> list[str]:
    return [
        r["column_name"]
        for r in await conn.fetch(
            """SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = $1 AND is_generated = 'NEVER'
              AND identity_generation IS DISTINCT FROM 'ALWAYS'
            ORDER BY ordinal_position""",
            table,
        )
    ]


async def _attempt(conn: Connection, sql: str, argument: object) -> str:
    """The command's status, or ``refused: <message>``; undone either way (the transaction
    goes on)."""
    await conn.execute("SAVEPOINT attempt")
    try:
        return await conn.execute(sql, argument)
    except asyncpg.InsufficientPrivilegeError as exc:
        return f"refused: {exc}"
    except asyncpg.PostgresError as exc:
        return f"failed otherwise: {type(exc).__name__}: {exc}"
    finally:
        await conn.execute("ROLLBACK TO SAVEPOINT attempt")


# The check can fail ----------------------------------------------------------------------


async def test_the_check_finds_a_tenant_table_left_open_or_half_closed(database_url: str) -> None:
    """A new table with a tenant_id is found by the catalog and flagged until its policy is
    whole (all of it in a transaction that is rolled back)."""
    conn = await asyncpg.connect(database_url)  # the owner: it may create tables
    scratch = conn.transaction()
    await scratch.start()
    try:
        await conn.execute("CREATE TABLE scratch_ledger (id bigserial, tenant_id bigint)")
        assert "scratch_ledger" in await catalog_tenant_tables(conn)
        assert await isolation_gaps(conn, "scratch_ledger") == [
            "scratch_ledger: row-level security is not enabled",
            "scratch_ledger: row-level security is not forced (its owner bypasses it)",
            f"scratch_ledger: no policy lets {APP_ROLE} see its tenant's rows",
        ]
        tenant = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
        await conn.execute(
            "ALTER TABLE scratch_ledger ENABLE ROW LEVEL SECURITY;"
            f"CREATE POLICY tenant_isolation ON scratch_ledger TO {APP_ROLE} "
            f"USING (tenant_id = {tenant})"
        )
        assert await isolation_gaps(conn, "scratch_ledger") == [
            "scratch_ledger: row-level security is not forced (its owner bypasses it)",
            "scratch_ledger: policy tenant_isolation has no WITH CHECK "
            "(writes are held to USING only)",
        ]
        await conn.execute(
            "ALTER TABLE scratch_ledger FORCE ROW LEVEL SECURITY;"
            "CREATE POLICY peek ON scratch_ledger FOR SELECT TO PUBLIC USING (true);"
            f"ALTER POLICY tenant_isolation ON scratch_ledger WITH CHECK (tenant_id = {tenant})"
        )
        assert await isolation_gaps(conn, "scratch_ledger") == [
            "scratch_ledger: policy peek does not limit what it shows to app.tenant_id: true"
        ]
        await conn.execute("DROP POLICY peek ON scratch_ledger")
        assert await isolation_gaps(conn, "scratch_ledger") == []
    finally:
        await scratch.rollback()
        await conn.close()
