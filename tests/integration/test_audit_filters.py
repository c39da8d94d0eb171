"""The audit log's filters (who, what, when), its tenant-bound cursor, the indexes its
filters plan on, and the list of API key scopes the admin screen chooses from."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg
import httpx

from domain.audit import queries as audit_queries
from domain.auth.schemas import SCOPE_DESCRIPTIONS
from tests.factories import SeededTenant

AUDIT = "/api/v1/audit"
KEYS = "/api/v1/api-keys"
TICK = dt.timedelta(microseconds=1)


async def audit(
    client: httpx.AsyncClient, tenant: SeededTenant, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(AUDIT, params=params, headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def refused(client: httpx.AsyncClient, tenant: SeededTenant, **params: Any) -> str:
    response = await client.get(AUDIT, params=params, headers=tenant.admin.headers)
    assert response.status_code == 422, response.text
    return response.json()["field"]


async def key_that_writes(client: httpx.AsyncClient, tenant: SeededTenant) -> dict[str, Any]:
    created = await client.post(
        KEYS,
        json={"name": "crm", "scopes": ["accounts:write", "payments:read"]},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    return created.json()


async def test_filter_by_actor_finds_a_user_or_a_key_and_nothing_else(client, tenant) -> None:
    key = await key_that_writes(client, tenant)
    account = tenant.accounts[0]
    changed = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "Keyed Bank"},
        headers={"Authorization": f"Bearer {key['key']}"},
    )
    assert changed.status_code == 200, changed.text

    by_key = await audit(client, tenant, actor_type="api_key", actor_id=key["id"])
    assert [(e["action"], e["entity_id"]) for e in by_key] == [("account.update", account.id)]
    assert by_key[0]["after"]["creditor"] == "Keyed Bank"
    assert [e["actor_type"] for e in await audit(client, tenant, actor_type="api_key")] == [
        "api_key"
    ]
    by_admin = await audit(client, tenant, actor_type="user", actor_id=tenant.admin.id)
    assert [e["action"] for e in by_admin] == ["api_key.create"]
    assert by_admin[0]["entity_id"] == key["id"]
    # The same id as a user is someone else: nothing.
    assert await audit(client, tenant, actor_type="user", actor_id=key["id"] + 10**9) == []
    # Actor and entity together: the key's own creation, found from both sides.
    both = await audit(
        client,
        tenant,
        actor_type="user",
        actor_id=tenant.admin.id,
        entity_type="api_key",
        entity_id=key["id"],
    )
    assert [e["action"] for e in both] == ["api_key.create"]
    assert "key" not in both[0]["after"]
    assert "key_hash" not in both[0]["after"]
    assert await audit(client, tenant, entity_type="api_key", entity_id=key["id"] + 1) == []


async def test_time_range_takes_its_start_and_not_its_end(client, tenant) -> None:
    await key_that_writes(client, tenant)
    entry = (await audit(client, tenant, entity_type="api_key"))[0]
    at = dt.datetime.fromisoformat(entry["occurred_at"])

    def ids(entries: list[dict[str, Any]]) -> list[int]:
        return [e["id"] for e in entries]

    async def within(**bounds: dt.datetime) -> list[int]:
        params = {name: value.isoformat() for name, value in bounds.items()}
        return ids(await audit(client, tenant, entity_type="api_key", **params))

    assert await within(occurred_from=at) == [entry["id"]]
    assert await within(occurred_from=at + TICK) == []
    assert await within(occurred_before=at) == []
    assert await within(occurred_before=at + TICK) == [entry["id"]]
    assert await within(occurred_from=at, occurred_before=at + TICK) == [entry["id"]]
    # Another offset for the same instant is the same instant.
    assert await within(occurred_from=at.astimezone(dt.timezone(dt.timedelta(hours=-5)))) == [
        entry["id"]
    ]


async def test_bad_filters_are_refused_naming_the_parameter(client, tenant) -> None:
    at = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    assert await refused(client, tenant, actor_type="robot") == "actor_type"
    assert await refused(client, tenant, actor_id=1) == "actor_id"
    assert await refused(client, tenant, actor_id="x", actor_type="user") == "actor_id"
    assert await refused(client, tenant, entity_id=1) == "entity_id"
    assert await refused(client, tenant, entity_type="x" * 41) == "entity_type"
    assert await audit(client, tenant, entity_type="x" * 40) == []
    assert await refused(client, tenant, occurred_from="2026-11-30T12:00:00") == "occurred_from"
    assert await refused(client, tenant, occurred_before="2026-11-30T12:00:00") == "occurred_before"
    assert await refused(client, tenant, occurred_from="yesterday") == "occurred_from"
    assert await refused(client, tenant, occurred_from="0.5") == "occurred_from"
    assert await refused(client, tenant, occurred_from="2026-02-30T12:00:00Z") == "occurred_from"
    same = {"occurred_from": at.isoformat(), "occurred_before": at.isoformat()}
    assert await refused(client, tenant, **same) == "occurred_before"
    later = {"occurred_from": at.isoformat(), "occurred_before": (at + TICK).isoformat()}
    assert await audit(client, tenant, **later) == []
    # Sent empty: not given.
    assert await audit(client, tenant, actor_type="", entity_type="") == await audit(client, tenant)


async def test_another_tenants_ids_find_nothing_and_its_cursor_is_refused(
    client, tenant, tenants
) -> None:
    other = await tenants.new()
    theirs = await key_that_writes(client, other)
    await key_that_writes(client, tenant)
    await key_that_writes(client, other)
    assert await audit(client, tenant, entity_type="api_key", entity_id=theirs["id"]) == []
    assert await audit(client, tenant, actor_type="user", actor_id=other.admin.id) == []
    assert await audit(client, other, entity_type="api_key", entity_id=theirs["id"]) != []

    first = await client.get(AUDIT, params={"limit": 1}, headers=other.admin.headers)
    their_cursor = first.json()["next_cursor"]
    assert their_cursor
    response = await client.get(
        AUDIT, params={"limit": 1, "cursor": their_cursor}, headers=tenant.admin.headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "cursor"


async def test_pages_run_newest_first_without_gap_or_repeat(client, tenant) -> None:
    for _ in range(3):
        await key_that_writes(client, tenant)
    whole = [e["id"] for e in await audit(client, tenant, entity_type="api_key")]
    assert len(whole) == 3
    assert whole == sorted(whole, reverse=True)
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"entity_type": "api_key", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get(AUDIT, params=params, headers=tenant.admin.headers)).json()
        seen += [e["id"] for e in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == whole


def _index_names(plan: Any) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Index Name" in node:
                found.append(node["Index Name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(plan)
    return found


async def test_each_filter_plans_on_its_index(client, tenant, database_url, monkeypatch) -> None:
    """With a year of the system's entries behind it (and statistics that know them), each
    filter reads its own index: no walk through the whole tenant's log."""
    owner = await asyncpg.connect(database_url)
    try:
        await owner.execute(
            """INSERT INTO audit_log (tenant_id, actor_type, action, entity_type, entity_id,
              occurred_at)
            SELECT $1, 'system', 'task.timeout', 'task', n, now() - n * interval '30 minutes'
            FROM generate_series(100, 20000) AS n""",
            tenant.id,
        )
        await owner.execute("ANALYZE audit_log")
    finally:
        await owner.close()
    ran: list[tuple[str, list[Any]]] = []

    class Recording:
        def __init__(self, conn: Any) -> None:
            self.conn = conn

        async def fetch(self, sql: str, *args: Any) -> list[Any]:
            ran.append((sql, list(args)))
            return await self.conn.fetch(sql, *args)

    entries = audit_queries.entries

    async def recorded(conn: Any, **filters: Any) -> list[Any]:
        return await entries(Recording(conn), **filters)

    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    wanted = [
        ("audit_log_actor_time_idx", {"actor_type": "user", "actor_id": tenant.admin.id}),
        ("audit_log_entity_time_idx", {"entity_type": "account", "entity_id": 1}),
        ("audit_log_occurred_idx", {"occurred_from": recent}),
        ("audit_log_occurred_idx", {}),
    ]
    monkeypatch.setattr(audit_queries, "entries", recorded)
    for _, params in wanted:
        await audit(client, tenant, **params)
    monkeypatch.undo()
    assert len(ran) == len(wanted)
    for (sql, args), (index, _) in zip(ran, wanted, strict=True):
        async with tenant.db.tenant(tenant.id) as conn:
            plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
        names = _index_names(json.loads(plan) if isinstance(plan, str) else plan)
        assert names == [index], (index, plan)
        assert '"Sort"' not in str(plan), plan


async def test_scopes_are_listed_for_admins_from_the_table_keys_are_checked_against(
    client, tenant
) -> None:
    response = await client.get(f"{KEYS}/scopes", headers=tenant.admin.headers)
    assert response.status_code == 200
    scopes = {s["name"]: s for s in response.json()["scopes"]}
    assert list(scopes) == sorted(SCOPE_DESCRIPTIONS)
    assert {name: s["allows"] for name, s in scopes.items()} == SCOPE_DESCRIPTIONS
    assert scopes["accounts:write"]["grants"] == ["accounts:read", "accounts:write"]
    assert scopes["accounts:read"]["grants"] == ["accounts:read"]
    assert scopes["webhooks:manage"]["grants"] == ["webhooks:manage"]
    for who in (tenant.supervisor, tenant.collector, tenant.readonly):
        assert (await client.get(f"{KEYS}/scopes", headers=who.headers)).status_code == 403
    key = await key_that_writes(client, tenant)
    as_key = {"Authorization": f"Bearer {key['key']}"}
    assert (await client.get(f"{KEYS}/scopes", headers=as_key)).status_code == 403
