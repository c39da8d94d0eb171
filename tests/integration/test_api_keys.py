"""API keys: how they are made, listed and revoked (with their audit rows and events), and
how a key signs a request in, with a fixed clock for its use stamps."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest

from domain.actor import Actor
from domain.auth.schemas import ApiKeyCreate
from domain.auth.service import ApiKeyService, AuthService, expand_scopes
from domain.auth.tokens import digest
from domain.db import Database
from domain.errors import InvalidInput, NotFound, Unauthenticated
from tests.conftest import SECRET
from tests.factories import SeededTenant

KEYS = "/api/v1/api-keys"
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(seconds=60)
TICK = dt.timedelta(microseconds=1)


def auth_at(db: Database, at: dt.datetime) -> AuthService:
    return AuthService(
        db, secret=SECRET, access_ttl=900, refresh_ttl=1800, max_age=3600, clock=lambda: at
    )


async def create_key(client: httpx.AsyncClient, tenant: SeededTenant, *scopes: str) -> dict:
    created = await client.post(
        KEYS, json={"name": "crm sync", "scopes": list(scopes)}, headers=tenant.admin.headers
    )
    assert created.status_code == 201, created.text
    return created.json()


async def refusal(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Unauthenticated) as refused:
        await call
    return str(refused.value)


async def last_used(db: Database, tenant: SeededTenant, key_id: int) -> dt.datetime | None:
    async with db.tenant(tenant.id) as conn:
        return await conn.fetchval("SELECT last_used_at FROM api_keys WHERE id = $1", key_id)


def test_a_write_scope_grants_the_matching_read_scope() -> None:
    assert expand_scopes(["accounts:write", "payments:read"]) == {
        "accounts:write",
        "accounts:read",
        "payments:read",
    }
    assert expand_scopes(["tasks:read"]) == {"tasks:read"}


async def test_a_key_signs_in_as_its_own_tenant_with_its_scopes(
    client, db: Database, tenant: SeededTenant
) -> None:
    created = await create_key(client, tenant, "promises:write", "debtors:read")
    assert created["key"].startswith(created["prefix"] + "_")
    actor = await auth_at(db, NOW).authenticate_api_key(created["key"], request_id="req-key")
    assert actor == Actor(
        tenant_id=tenant.id,
        type="api_key",
        id=created["id"],
        scopes=frozenset({"debtors:read", "promises:read", "promises:write"}),
        request_id="req-key",
    )


async def test_use_is_stamped_at_most_once_a_minute(
    client, db: Database, tenant: SeededTenant
) -> None:
    created = await create_key(client, tenant, "accounts:read")
    assert await last_used(db, tenant, created["id"]) is None
    await auth_at(db, NOW).authenticate_api_key(created["key"])
    assert await last_used(db, tenant, created["id"]) == NOW
    await auth_at(db, NOW + MINUTE).authenticate_api_key(created["key"])
    assert await last_used(db, tenant, created["id"]) == NOW
    await auth_at(db, NOW + MINUTE + TICK).authenticate_api_key(created["key"])
    assert await last_used(db, tenant, created["id"]) == NOW + MINUTE + TICK


async def test_keys_that_are_not_ours_are_refused_alike(
    client, db: Database, tenant: SeededTenant
) -> None:
    created = await create_key(client, tenant, "accounts:read")
    key, prefix = created["key"], created["prefix"]
    secret = key.removeprefix(prefix + "_")
    auth = auth_at(db, NOW)
    for wrong in (
        "rt_" + secret,  # not shaped like a key
        "rcp_00000000_" + secret,  # a prefix nobody has
        prefix + "_" + secret[::-1],  # our prefix, another secret
    ):
        assert await refusal(auth.authenticate_api_key(wrong)) == "API key is not valid", wrong
    assert await last_used(db, tenant, created["id"]) is None


async def test_a_revoked_key_says_so(client, db: Database, tenant: SeededTenant) -> None:
    created = await create_key(client, tenant, "accounts:read")
    revoked = await client.delete(f"{KEYS}/{created['id']}", headers=tenant.admin.headers)
    assert revoked.status_code == 200
    auth = auth_at(db, NOW)
    assert await refusal(auth.authenticate_api_key(created["key"])) == "API key was revoked"
    assert await last_used(db, tenant, created["id"]) is None
    response = await client.get(
        "/api/v1/accounts", headers={"Authorization": f"Bearer {created['key']}"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "API key was revoked"


async def audit_of(db: Database, tenant: SeededTenant, key_id: int) -> list[dict[str, Any]]:
    async with db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            """SELECT actor_type, actor_id, action, before, after FROM audit_log
            WHERE entity_type = 'api_key' AND entity_id = $1 ORDER BY id""",
            key_id,
        )
    return [dict(r) for r in rows]


async def events_of(db: Database, tenant: SeededTenant, *types: str) -> list[tuple[str, Any]]:
    async with db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT type, data FROM outbox WHERE tenant_id = $1 AND type = ANY($2) ORDER BY id",
            tenant.id,
            list(types),
        )
    return [
        (r["type"], json.loads(r["data"]) if isinstance(r["data"], str) else r["data"])
        for r in rows
    ]


async def test_creating_a_key_stores_only_its_digest_and_audits_it(
    db: Database, tenant: SeededTenant
) -> None:
    admin = tenant.admin.actor
    async with db.tenant(tenant.id) as conn:
        created = await ApiKeyService(conn, admin, lambda: NOW).create(
            ApiKeyCreate(name="  crm sync  ", scopes=["tasks:read", "accounts:read", "tasks:read"])
        )
        stored = await conn.fetchrow(
            "SELECT tenant_id, key_hash FROM api_keys WHERE id = $1", created.id
        )
    assert (created.name, created.scopes) == ("crm sync", ["accounts:read", "tasks:read"])
    assert created.key.startswith(created.prefix + "_")
    assert dict(stored) == {"tenant_id": tenant.id, "key_hash": digest(created.key)}
    async with db.tenant(tenant.id) as conn:
        listed = await ApiKeyService(conn, admin).get(created.id)
    assert (listed.created_by, listed.last_used_at, listed.revoked_at) == (
        tenant.admin.id,
        None,
        None,
    )
    after = {
        "id": created.id,
        "name": "crm sync",
        "prefix": created.prefix,
        "scopes": ["accounts:read", "tasks:read"],
        "created_by": tenant.admin.id,
        "created_at": created.created_at.isoformat().replace("+00:00", "Z"),
        "last_used_at": None,
        "revoked_at": None,
    }
    assert await audit_of(db, tenant, created.id) == [
        {
            "actor_type": "user",
            "actor_id": tenant.admin.id,
            "action": "api_key.create",
            "before": None,
            "after": after,
        }
    ]
    assert await events_of(db, tenant, "api_key.created") == [("api_key.created", after)]


ALL_SCOPES = (
    "accounts:read, accounts:write, debtors:read, debtors:write, interactions:read, "
    "interactions:write, payments:read, payments:write, promises:read, promises:write, "
    "tasks:read, tasks:write, webhooks:manage"
)


async def test_an_unknown_scope_is_named_in_the_refusal_with_those_there_are(
    db: Database, tenant: SeededTenant
) -> None:
    async with db.tenant(tenant.id) as conn:
        keys = ApiKeyService(conn, tenant.admin.actor)
        with pytest.raises(InvalidInput) as refused:
            await keys.create(
                ApiKeyCreate(name="x", scopes=["accounts:read", "users:write", "everything"])
            )
    assert str(refused.value) == f"unknown scope 'users:write'; scopes are: {ALL_SCOPES}"
    assert refused.value.field == "scopes[1]"


async def test_the_api_lists_the_scopes_when_one_is_unknown(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    refused = await client.post(
        KEYS, json={"name": "crm", "scopes": ["tasks:read", "x"]}, headers=tenant.admin.headers
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == f"unknown scope 'x'; scopes are: {ALL_SCOPES}"
    assert refused.json()["field"] == "scopes[1]"
    listed = await client.get(KEYS, headers=tenant.admin.headers)
    assert listed.json() == {"items": [], "next_cursor": None}


async def test_keys_are_listed_newest_first_and_an_unknown_one_is_not_found(
    db: Database, tenant: SeededTenant
) -> None:
    async with db.tenant(tenant.id) as conn:
        keys = ApiKeyService(conn, tenant.admin.actor)
        first = await keys.create(ApiKeyCreate(name="first", scopes=["accounts:read"]))
        second = await keys.create(ApiKeyCreate(name="second", scopes=["accounts:read"]))
        listed = await keys.list()
        with pytest.raises(NotFound) as missing:
            await keys.get(2**62)
    assert [k.name for k in listed] == ["second", "first"]
    assert [k.id for k in listed] == [second.id, first.id]
    assert str(missing.value) == f"API key {2**62} not found"


async def test_revoking_is_audited_once_and_told_to_open_sockets(
    db: Database, tenant: SeededTenant
) -> None:
    admin = tenant.admin.actor
    async with db.tenant(tenant.id) as conn:
        created = await ApiKeyService(conn, admin).create(
            ApiKeyCreate(name="crm", scopes=["accounts:read"])
        )
    async with db.tenant(tenant.id) as conn:
        revoked = await ApiKeyService(conn, admin, lambda: NOW).revoke(created.id)
    async with db.tenant(tenant.id) as conn:
        again = await ApiKeyService(conn, admin, lambda: NOW + MINUTE).revoke(created.id)
    assert revoked.revoked_at == NOW
    assert again == revoked  # revoking is idempotent: the first time stands
    create_row, revoke_row = await audit_of(db, tenant, created.id)
    assert revoke_row["action"] == "api_key.revoke"
    assert revoke_row["before"] == create_row["after"]
    assert revoke_row["after"] == {**create_row["after"], "revoked_at": "2026-11-30T10:00:00Z"}
    assert await events_of(db, tenant, "api_key.revoked", "access.changed") == [
        ("api_key.revoked", revoke_row["after"]),
        ("access.changed", {"api_keys": [created.id]}),
    ]
