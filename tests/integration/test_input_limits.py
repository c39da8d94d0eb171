"""Integers at and beyond what PostgreSQL can hold (int64) in paths, filters, cursors and
bodies: at the limit looked up, past it a problem document naming the field, never a 500;
nothing is stored. NUL characters, nesting, money and times: test_input_text_limits."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import msgspec
import pytest

from tests.factories import SeededTenant
from tests.integration.test_bad_input import PROBLEM, counts, valid_account

INT64_MAX = 9223372036854775807
INT64_MIN = -9223372036854775808
BEYOND = (INT64_MAX + 1, INT64_MIN - 1)


def fields_of(response: Any) -> list[str]:
    assert response.headers["content-type"].startswith(PROBLEM), response.text
    body = response.json()
    assert body["detail"]
    return [e["field"] for e in body.get("errors") or []]


def cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).rstrip(b"=").decode()


ID_PATHS = [
    ("GET", "/api/v1/accounts/{}", "account_id"),
    ("GET", "/api/v1/accounts/{}/interactions", "account_id"),
    ("GET", "/api/v1/accounts/{}/payments", "account_id"),
    ("GET", "/api/v1/accounts/{}/promises", "account_id"),
    ("GET", "/api/v1/accounts/{}/contact-status", "account_id"),
    ("POST", "/api/v1/accounts/{}/payment-links", "account_id"),
    ("DELETE", "/api/v1/payment-links/{}", "link_id"),
    ("GET", "/api/v1/debtors/{}", "debtor_id"),
    ("GET", "/api/v1/users/{}", "user_id"),
    ("GET", "/api/v1/agent-groups/{}", "group_id"),
    ("GET", "/api/v1/api-keys/{}", "key_id"),
    ("GET", "/api/v1/queues/{}", "queue_id"),
    ("GET", "/api/v1/rules/{}", "rule_id"),
    ("GET", "/api/v1/rules/{}/runs", "rule_id"),
    ("GET", "/api/v1/tasks/{}", "task_id"),
    ("GET", "/api/v1/payments/{}", "payment_id"),
]


@pytest.mark.parametrize(("method", "path", "field"), ID_PATHS)
async def test_ids_in_paths_at_the_int64_limits_are_looked_up_and_beyond_them_refused(
    client, tenant: SeededTenant, method: str, path: str, field: str
) -> None:
    for edge in (INT64_MAX, INT64_MIN):
        response = await client.request(method, path.format(edge), headers=tenant.admin.headers)
        assert response.status_code == 404, (edge, response.text)
    for beyond in BEYOND:
        response = await client.request(method, path.format(beyond), headers=tenant.admin.headers)
        assert response.status_code == 422, (beyond, response.text)
        assert fields_of(response) == [field]


ID_FILTERS = [
    ("/api/v1/accounts", "owner_id"),
    ("/api/v1/accounts", "debtor_id"),
    ("/api/v1/tasks", "assignee_id"),
    ("/api/v1/tasks", "queue_id"),
    ("/api/v1/tasks", "rule_id"),
    ("/api/v1/tasks", "account_id"),
    ("/api/v1/audit", "entity_id"),
    ("/api/v1/audit", "actor_id"),
    ("/api/v1/users", "group_id"),
]
# What a filter needs beside it to be a filter at all.
WITH = {"entity_id": {"entity_type": "account"}, "actor_id": {"actor_type": "user"}}


@pytest.mark.parametrize(("path", "name"), ID_FILTERS)
async def test_id_filters_at_the_int64_limits_find_nothing_and_beyond_them_are_refused(
    client, tenant: SeededTenant, path: str, name: str
) -> None:
    beside = WITH.get(name, {})
    for edge in (INT64_MAX, INT64_MIN):
        params = {name: edge, **beside}
        response = await client.get(path, params=params, headers=tenant.admin.headers)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []
    for beyond in BEYOND:
        params = {name: beyond, **beside}
        response = await client.get(path, params=params, headers=tenant.admin.headers)
        assert response.status_code == 422, response.text
        assert fields_of(response) == [name]


CURSORED = [
    "/api/v1/accounts",
    "/api/v1/debtors",
    "/api/v1/users",
    "/api/v1/tasks",
    "/api/v1/accounts/{account}/payments",
]


@pytest.mark.parametrize("path", CURSORED)
async def test_cursors_at_the_int64_limits_page_and_beyond_them_are_refused(
    client, tenant: SeededTenant, path: str
) -> None:
    url = path.format(account=tenant.accounts[0].id)
    for edge in (INT64_MAX, INT64_MIN):
        response = await client.get(
            url, params={"cursor": cursor(tenant.id, edge)}, headers=tenant.admin.headers
        )
        assert response.status_code == 200, response.text
    for beyond in BEYOND:
        response = await client.get(
            url, params={"cursor": cursor(tenant.id, beyond)}, headers=tenant.admin.headers
        )
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["cursor"]


async def test_an_audit_cursor_with_an_id_beyond_int64_is_refused(client, tenant) -> None:
    """The audit log's cursor is (tenant, time, id), good only for the tenant it was given."""
    now = dt.datetime.now(dt.UTC).isoformat()
    admin = tenant.admin.headers
    for edge in (INT64_MAX, INT64_MIN):
        ok = await client.get(
            "/api/v1/audit", params={"cursor": cursor(tenant.id, now, edge)}, headers=admin
        )
        assert ok.status_code == 200, ok.text
    for beyond in BEYOND:
        response = await client.get(
            "/api/v1/audit", params={"cursor": cursor(tenant.id, now, beyond)}, headers=admin
        )
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["cursor"]


async def test_a_time_cursor_with_an_id_beyond_int64_is_refused(client, tenant) -> None:
    url = f"/api/v1/accounts/{tenant.accounts[0].id}/interactions"
    now = dt.datetime.now(dt.UTC).isoformat()
    ok = await client.get(
        url, params={"cursor": cursor(tenant.id, now, INT64_MAX)}, headers=tenant.admin.headers
    )
    assert ok.status_code == 200, ok.text
    response = await client.get(
        url,
        params={"cursor": cursor(tenant.id, now, INT64_MAX + 1)},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["cursor"]


async def test_ids_in_bodies_at_the_int64_limit_are_looked_up_and_beyond_it_refused(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    for edge in (INT64_MAX, INT64_MIN):
        missing = await client.post(
            "/api/v1/tasks", json={"account_id": edge}, headers=tenant.admin.headers
        )
        assert missing.status_code == 422, missing.text
        assert missing.json()["detail"] == f"account {edge} not found"
        stale = await client.patch(
            f"/api/v1/accounts/{account.id}", json={"version": edge}, headers=tenant.admin.headers
        )
        assert stale.status_code == 409, stale.text
    for beyond in BEYOND:
        task = await client.post(
            "/api/v1/tasks", json={"account_id": beyond}, headers=tenant.admin.headers
        )
        assert task.status_code == 422, task.text
        assert fields_of(task) == ["account_id"]
        version = await client.patch(
            f"/api/v1/accounts/{account.id}", json={"version": beyond}, headers=tenant.admin.headers
        )
        assert version.status_code == 422, version.text
        assert fields_of(version) == ["version"]


BODY_IDS = [
    ("POST", "/api/v1/accounts", valid_account(owner_id=INT64_MAX + 1), "owner_id"),
    (
        "POST",
        "/api/v1/accounts",
        {"external_ref": "BIG-1", "currency": "USD", "principal": "1", "debtor_id": INT64_MIN - 1},
        "debtor_id",
    ),
    ("PATCH", "/api/v1/accounts/{account}", {"owner_id": INT64_MAX + 1}, "owner_id"),
    ("POST", "/api/v1/queues", {"name": "Q", "agent_ids": [INT64_MAX + 1]}, "agent_ids[0]"),
    ("POST", "/api/v1/queues", {"name": "Q", "group_id": INT64_MAX + 1}, "group_id"),
    ("POST", "/api/v1/tasks", {"account_id": 1, "queue_id": INT64_MAX + 1}, "queue_id"),
    (
        "POST",
        "/api/v1/tasks",
        {"account_id": 1, "strategy": {"kind": "agent", "agent_id": INT64_MAX + 1}},
        "strategy.agent_id",
    ),
    ("POST", "/api/v1/rules", {"name": "R", "conditions": [], "queue_id": 10**30}, "queue_id"),
    ("POST", "/api/v1/tasks/1/assign", {"assignee_id": INT64_MIN - 1}, "assignee_id"),
    (
        "POST",
        "/api/v1/users",
        {"email": "big@x.io", "name": "B", "password": "p", "group_id": 10**30},
        "group_id",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BODY_IDS)
async def test_ids_beyond_int64_in_bodies_are_422_naming_the_field(
    client, tenant: SeededTenant, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = await counts(tenant)
    response = await client.request(
        method,
        path.format(account=tenant.accounts[0].id),
        json=body,
        headers=tenant.admin.headers,
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == [field]
    assert await counts(tenant) == before


async def test_rule_conditions_with_ids_beyond_int64_are_refused(client, tenant) -> None:
    def rule(value: Any) -> dict[str, Any]:
        return {"conditions": [{"field": "owner_id", "op": "in", "value": value}]}

    ok = await client.post(
        "/api/v1/rules/preview", json=rule([INT64_MAX, INT64_MIN]), headers=tenant.admin.headers
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["matching"] == 0
    for value in ([INT64_MAX + 1], [1, INT64_MIN - 1], [10**30]):
        for path, extra in (("/api/v1/rules/preview", {}), ("/api/v1/rules", {"name": "Big"})):
            response = await client.post(
                path, json={**rule(value), **extra}, headers=tenant.admin.headers
            )
            assert response.status_code == 422, response.text
            assert fields_of(response) == ["conditions[0].value"]
    assert (await client.get("/api/v1/rules", headers=tenant.admin.headers)).json()["items"] == []
