"""Every list the API answers is a page, ``{"items": [...], "next_cursor": ...}``, and a
cursor is good only for the tenant it was given to."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import msgspec

from tests.factories import SeededTenant, TenantFactory

API = "/api/v1"
NOT_OURS = "cursor is not one this API gave out"


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


async def test_every_list_is_a_page_of_items_with_a_cursor(client: httpx.AsyncClient) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    pages = []
    for path, item in document["paths"].items():
        answer = item.get("get", {}).get("responses", {}).get("200", {})
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            continue
        schema = _schema(document, schema)
        assert schema.get("type") != "array", f"GET {path} answers a bare array"
        if "items" in schema.get("properties", {}):
            # The task list also counts everything its filters select (the team view).
            extra = ["total"] if path == "/api/v1/tasks" else []
            assert schema["required"] == ["items", "next_cursor", *extra], path
            pages.append(path)
            parameters = {p["name"] for p in item["get"].get("parameters", [])}
            assert {"cursor", "limit"} <= parameters, path
    for path in (
        "/api/v1/agent-groups",
        "/api/v1/agents",
        "/api/v1/api-keys",
        "/api/v1/accounts/{account_id}/promises",
        "/api/v1/queues",
        "/api/v1/rules",
        "/api/v1/rules/{rule_id}/runs",
        "/api/v1/tasks/mine",
        "/api/v1/workflows",
        "/api/v1/templates",
        "/api/v1/webhook-endpoints",
    ):
        assert path in pages


async def _groups(client: httpx.AsyncClient, tenant: SeededTenant, **params: Any) -> dict:
    response = await client.get(
        f"{API}/agent-groups", params=params, headers=tenant.supervisor.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_short_list_pages_in_its_own_order(client, tenant: SeededTenant) -> None:
    for name in ("Cobalt", "Amber", "Birch"):
        made = await client.post(
            f"{API}/agent-groups", json={"name": name}, headers=tenant.admin.headers
        )
        assert made.status_code == 201, made.text
    whole = await _groups(client, tenant, limit=3)
    assert whole["next_cursor"] is None
    names = [g["name"] for g in whole["items"]]
    assert sorted(names) == ["Amber", "Birch", "Cobalt"]
    first = await _groups(client, tenant, limit=2)
    assert [g["name"] for g in first["items"]] == names[:2]
    second = await _groups(client, tenant, limit=2, cursor=first["next_cursor"])
    assert second == {"items": whole["items"][2:], "next_cursor": None}
    # The item the cursor names went away: the next page starts at the same count.
    gone = first["items"][1]["id"]
    deleted = await client.delete(f"{API}/agent-groups/{gone}", headers=tenant.admin.headers)
    assert deleted.status_code == 204
    after = await _groups(client, tenant, limit=2, cursor=first["next_cursor"])
    assert after == {"items": [], "next_cursor": None}
    for limit in (0, 201):
        refused = await client.get(
            f"{API}/agent-groups", params={"limit": limit}, headers=tenant.supervisor.headers
        )
        assert (refused.status_code, refused.json()["field"]) == (422, "limit")
    assert (await _groups(client, tenant, limit=200))["next_cursor"] is None


async def test_another_tenants_cursor_is_refused(
    client, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    other = await tenants.new(with_accounts=False)
    for who in (tenant, other):
        for name in ("One", "Two"):
            made = await client.post(
                f"{API}/agent-groups", json={"name": name}, headers=who.admin.headers
            )
            assert made.status_code == 201
    theirs = (await _groups(client, other, limit=1))["next_cursor"]
    assert theirs is not None
    refused = await client.get(
        f"{API}/agent-groups", params={"cursor": theirs}, headers=tenant.admin.headers
    )
    assert refused.status_code == 422
    assert (refused.json()["field"], refused.json()["detail"]) == ("cursor", NOT_OURS)
    # The same cursor with this tenant's id in it is this tenant's to use.
    _, last, given = msgspec.json.decode(base64.urlsafe_b64decode(theirs + "=="))
    mine = base64.urlsafe_b64encode(msgspec.json.encode([tenant.id, last, given])).decode()
    assert (await _groups(client, tenant, cursor=mine.rstrip("=")))["next_cursor"] is None
    for broken in ("x", "W10", base64.urlsafe_b64encode(b"[1,2]").decode()):
        refused = await client.get(
            f"{API}/agent-groups", params={"cursor": broken}, headers=tenant.admin.headers
        )
        assert (refused.status_code, refused.json()["detail"]) == (422, NOT_OURS), broken


async def test_a_rules_runs_page_newest_first_with_this_tenants_cursor(
    client, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    rule = await client.post(
        f"{API}/rules",
        json={"name": "Late", "conditions": []},
        headers=tenant.admin.headers,
    )
    assert rule.status_code == 201, rule.text
    runs = f"{API}/rules/{rule.json()['id']}/runs"
    made = []
    for _ in range(3):
        ran = await client.post(
            f"{API}/rules/{rule.json()['id']}/run", headers=tenant.admin.headers
        )
        assert ran.status_code == 201, ran.text
        made.append(ran.json()["id"])
    first = (await client.get(runs, params={"limit": 2}, headers=tenant.admin.headers)).json()
    assert [r["id"] for r in first["items"]] == made[::-1][:2]
    second = await client.get(
        runs, params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.admin.headers
    )
    assert second.json() == {"items": [second.json()["items"][0]], "next_cursor": None}
    assert second.json()["items"][0]["id"] == made[0]
    other = await tenants.new(with_accounts=False)
    refused = await client.get(
        f"{API}/agent-groups", params={"cursor": first["next_cursor"]}, headers=other.admin.headers
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "cursor")


async def test_held_work_pages_up_to_a_thousand_at_a_time(client, tenant: SeededTenant) -> None:
    mine = f"{API}/tasks/mine"
    empty = await client.get(mine, params={"limit": 1000}, headers=tenant.collector.headers)
    assert empty.json() == {"items": [], "next_cursor": None}
    for limit in (0, 1001):
        refused = await client.get(mine, params={"limit": limit}, headers=tenant.collector.headers)
        assert (refused.status_code, refused.json()["field"]) == (422, "limit")
