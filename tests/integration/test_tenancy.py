"""Tenants never see each other: through the API, and even through a query without a filter."""

from __future__ import annotations

import asyncpg
import pytest

from domain.db import Database, copy_rows
from domain.errors import InvalidInput
from domain.tenancy.service import create_tenant
from tests.factories import SeededTenant, TenantFactory


@pytest.fixture
async def other(tenants: TenantFactory) -> SeededTenant:
    return await tenants.new()


async def test_other_tenants_account_is_404_by_id(client, tenant: SeededTenant, other) -> None:
    account = tenant.accounts[0]
    for user in (other.admin, other.supervisor, other.readonly):
        response = await client.get(f"/api/v1/accounts/{account.id}", headers=user.headers)
        assert response.status_code == 404, user.role
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_other_tenants_rows_never_appear_in_lists(
    client, tenant: SeededTenant, other
) -> None:
    mine = {a.id for a in tenant.accounts}
    seen: set[int] = set()
    cursor = None
    while True:
        page = (
            await client.get(
                "/api/v1/accounts",
                params={"limit": 200, **({"cursor": cursor} if cursor else {})},
                headers=other.admin.headers,
            )
        ).json()
        seen.update(a["id"] for a in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == {a.id for a in other.accounts}
    assert not seen & mine
    debtors = (await client.get("/api/v1/debtors", headers=other.admin.headers)).json()["items"]
    assert {d["id"] for d in debtors}.isdisjoint({a.debtor_id for a in tenant.accounts})
    users = (await client.get("/api/v1/users", headers=other.admin.headers)).json()["items"]
    assert {u["id"] for u in users} == {u.id for u in other.users.values()}


async def test_other_tenant_cannot_update_or_log_on_an_account(
    client, tenant: SeededTenant, other
) -> None:
    account = tenant.accounts[0]
    patched = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "hijacked"},
        headers=other.admin.headers,
    )
    assert patched.status_code == 404
    logged = await client.post(
        f"/api/v1/accounts/{account.id}/interactions",
        json={"channel": "note", "notes": "x"},
        headers=other.admin.headers,
    )
    assert logged.status_code == 404
    debtor = await client.patch(
        f"/api/v1/debtors/{account.debtor_id}",
        json={"first_name": "X"},
        headers=other.admin.headers,
    )
    assert debtor.status_code == 404
    mine = await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    assert mine.json()["creditor"] == account.creditor


async def test_cannot_attach_an_account_to_another_tenants_debtor(
    client, tenant: SeededTenant, other
) -> None:
    response = await client.post(
        "/api/v1/accounts",
        json={
            "external_ref": "X-1",
            "currency": "USD",
            "principal": "10.00",
            "debtor_id": tenant.accounts[0].debtor_id,
        },
        headers=other.admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "debtor_id"


async def test_query_without_tenant_filter_sees_only_the_current_tenant(
    db: Database, tenant: SeededTenant, other
) -> None:
    async with db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT current_user") == "recoup_app"
        tenant_ids = {r["tenant_id"] for r in await conn.fetch("SELECT tenant_id FROM accounts")}
        assert tenant_ids == {tenant.id}
        assert {r["tenant_id"] for r in await conn.fetch("SELECT tenant_id FROM users")} == {
            tenant.id
        }
        assert await conn.fetchval("SELECT count(*) FROM tenants") == 1
        audit = {r["tenant_id"] for r in await conn.fetch("SELECT tenant_id FROM audit_log")}
        assert audit == {tenant.id}


async def test_without_a_tenant_the_application_role_sees_nothing(db: Database, tenant) -> None:
    async with db.anonymous() as conn:
        for table in ("tenants", "users", "debtors", "accounts", "audit_log", "outbox"):
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_writing_a_row_for_another_tenant_is_refused(
    db: Database, tenant: SeededTenant, other
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.tenant(tenant.id) as conn:
            await conn.execute(
                "INSERT INTO agent_groups (tenant_id, name) VALUES ($1, 'sneaky')", other.id
            )
    async with db.tenant(tenant.id) as conn:
        moved = await conn.execute(
            "UPDATE accounts SET creditor = 'x' WHERE tenant_id = $1", other.id
        )
        assert moved == "UPDATE 0"


async def test_application_role_cannot_escape_its_role(db: Database, tenant) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.tenant(tenant.id) as conn:
            await conn.execute("SET ROLE recoup_system")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.tenant(tenant.id) as conn:
            await conn.execute("DELETE FROM audit_log")


async def test_bulk_copied_rows_land_in_the_tenant_and_obey_its_policies(
    db: Database, tenant: SeededTenant, other
) -> None:
    columns = ("tenant_id", "name")
    async with db.tenant(tenant.id) as conn:
        await copy_rows(conn, "agent_groups", columns, [(tenant.id, "North"), (tenant.id, "South")])
        await copy_rows(conn, "agent_groups", columns, [(tenant.id, "East")])  # staging gone
    async with db.tenant(tenant.id) as conn:
        rows = await conn.fetch("SELECT tenant_id, name FROM agent_groups ORDER BY name")
    assert [tuple(r) for r in rows] == [
        (tenant.id, "East"),
        (tenant.id, "North"),
        (tenant.id, "South"),
    ]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.tenant(tenant.id) as conn:
            await copy_rows(conn, "agent_groups", columns, [(other.id, "Sneaky")])
    async with db.system() as conn:
        assert await conn.fetchval("SELECT count(*) FROM agent_groups WHERE name = 'Sneaky'") == 0


@pytest.mark.parametrize(
    ("slug", "taken"),
    [
        ("a", True),
        ("north-bank-2", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("", False),
        ("-north", False),
        ("North", False),
        ("north\n", False),
        ("north bank", False),
    ],
)
async def test_a_tenant_slug_is_one_to_63_lower_case_letters_digits_and_dashes(
    db: Database, slug: str, taken: bool
) -> None:
    async with db.system() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            if taken:
                made = await create_tenant(conn, slug=slug, name="Slug", defaults=False)
                assert made.slug == slug
            else:
                with pytest.raises(InvalidInput, match="1 to 63 lower-case letters") as refused:
                    await create_tenant(conn, slug=slug, name="Slug", defaults=False)
                assert refused.value.field == "slug"
        finally:
            await tx.rollback()
