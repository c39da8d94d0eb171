"""Input at and beyond what PostgreSQL can hold: integers past int64, NUL characters, deeply
nested JSON and money written any way but as a plain decimal. Each is a problem document
naming the field, never a 500, and nothing is stored."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import msgspec
import pytest

from tests.factories import SeededTenant
from tests.helpers import keyed
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
    ("/api/v1/users", "group_id"),
]


@pytest.mark.parametrize(("path", "name"), ID_FILTERS)
async def test_id_filters_at_the_int64_limits_find_nothing_and_beyond_them_are_refused(
    client, tenant: SeededTenant, path: str, name: str
) -> None:
    for edge in (INT64_MAX, INT64_MIN):
        response = await client.get(path, params={name: edge}, headers=tenant.admin.headers)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == []
    for beyond in BEYOND:
        response = await client.get(path, params={name: beyond}, headers=tenant.admin.headers)
        assert response.status_code == 422, response.text
        assert fields_of(response) == [name]


CURSORED = [
    "/api/v1/accounts",
    "/api/v1/debtors",
    "/api/v1/audit",
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
            url, params={"cursor": cursor(edge)}, headers=tenant.admin.headers
        )
        assert response.status_code == 200, response.text
    for beyond in BEYOND:
        response = await client.get(
            url, params={"cursor": cursor(beyond)}, headers=tenant.admin.headers
        )
        assert response.status_code == 422, response.text
        assert fields_of(response) == ["cursor"]


async def test_a_time_cursor_with_an_id_beyond_int64_is_refused(client, tenant) -> None:
    url = f"/api/v1/accounts/{tenant.accounts[0].id}/interactions"
    now = dt.datetime.now(dt.UTC).isoformat()
    ok = await client.get(
        url, params={"cursor": cursor(now, INT64_MAX)}, headers=tenant.admin.headers
    )
    assert ok.status_code == 200, ok.text
    response = await client.get(
        url, params={"cursor": cursor(now, INT64_MAX + 1)}, headers=tenant.admin.headers
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


NUL = "nul\x00here"

NUL_BODIES = [
    ("POST", "/api/v1/accounts", valid_account(external_ref=NUL), "external_ref"),
    ("POST", "/api/v1/accounts", valid_account(debtor={"first_name": NUL}), "debtor.first_name"),
    ("POST", "/api/v1/accounts", valid_account(custom={"note": NUL}), "custom.note"),
    ("POST", "/api/v1/accounts", valid_account(custom={"tags": ["ok", NUL]}), "custom.tags[1]"),
    ("PATCH", "/api/v1/accounts/{account}", {"creditor": NUL}, "creditor"),
    ("POST", "/api/v1/accounts/{account}/interactions", {"channel": "note", "notes": NUL}, "notes"),
    (
        "POST",
        "/api/v1/accounts/{account}/payments",
        {"amount": "1.00", "currency": "USD", "reference": NUL},
        "reference",
    ),
    ("POST", "/api/v1/debtors", {"first_name": NUL}, "first_name"),
    ("PATCH", "/api/v1/tenant", {"name": NUL}, "name"),
    ("PATCH", "/api/v1/tenant", {"buckets": [{"name": NUL, "min_days": 0}]}, "buckets[0].name"),
    ("PATCH", "/api/v1/users/me", {"name": NUL}, "name"),
    ("POST", "/api/v1/agent-groups", {"name": NUL}, "name"),
    ("POST", "/api/v1/api-keys", {"name": NUL, "scopes": ["accounts:read"]}, "name"),
    ("POST", "/api/v1/queues", {"name": NUL}, "name"),
    ("POST", "/api/v1/rules", {"name": NUL, "conditions": []}, "name"),
    (
        "POST",
        "/api/v1/rules/preview",
        {"conditions": [{"field": "custom.x", "op": "eq", "value": NUL}]},
        "conditions[0].value",
    ),
    (
        "POST",
        "/api/v1/rules/preview",
        {"conditions": [{"field": "currency", "op": "in", "value": ["USD", NUL]}]},
        "conditions[0].value[1]",
    ),
    ("POST", "/api/v1/accounts", valid_account(custom={NUL: 1}), "custom"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), NUL_BODIES)
async def test_nul_characters_in_bodies_are_422_naming_the_field(
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


async def test_a_nul_character_on_the_unauthenticated_login_is_422(client, tenant) -> None:
    for body, field in (
        ({"email": f"{tenant.admin.email}\x00", "password": "x"}, "email"),
        ({"email": tenant.admin.email, "password": NUL}, "password"),
    ):
        response = await client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 422, response.text
        assert fields_of(response) == [field]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/api/v1/accounts", "q"),
        ("/api/v1/accounts", "bucket"),
        ("/api/v1/debtors", "q"),
        ("/api/v1/audit", "entity_type"),
        ("/api/v1/tasks", "status"),
    ],
)
async def test_nul_characters_in_query_strings_are_422_naming_the_parameter(
    client, tenant, path: str, name: str
) -> None:
    response = await client.get(path, params={name: NUL}, headers=tenant.admin.headers)
    assert response.status_code == 422, response.text
    assert fields_of(response) == [name]


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"in": value}
    return value


async def test_deeply_nested_json_is_refused_even_before_sign_in(client, tenant) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    for path, headers in (
        ("/api/v1/auth/login", {}),
        ("/api/v1/accounts", tenant.admin.headers),
    ):
        response = await client.post(
            path, content=deep, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "urn:recoup:problem:malformed-json"


async def test_json_nested_beyond_the_limit_is_422_naming_where(client, tenant) -> None:
    before = await counts(tenant)
    too_deep = await client.post(
        "/api/v1/accounts",
        json=valid_account(custom={"x": nested(500)}),
        headers=tenant.admin.headers,
    )
    assert too_deep.status_code == 422, too_deep.text
    [field] = fields_of(too_deep)
    assert field.startswith("custom.x.in.in")
    rule = await client.post(
        "/api/v1/rules",
        json={
            "name": "R",
            "conditions": [{"field": "custom.x", "op": "exists", "value": nested(100)}],
        },
        headers=tenant.admin.headers,
    )
    assert rule.status_code == 422, rule.text
    assert fields_of(rule)[0].startswith("conditions[0].value.in")
    assert await counts(tenant) == before


async def test_custom_fields_nest_only_a_few_levels(client, tenant) -> None:
    ok = await client.post(
        "/api/v1/accounts",
        json=valid_account(external_ref="NEST-OK", custom={"x": nested(7)}),
        headers=tenant.admin.headers,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["custom"] == {"x": nested(7)}
    before = await counts(tenant)
    deep = await client.post(
        "/api/v1/accounts",
        json=valid_account(external_ref="NEST-NO", custom={"x": nested(12)}),
        headers=tenant.admin.headers,
    )
    assert deep.status_code == 422, deep.text
    assert fields_of(deep)[0].startswith("custom.x.in")
    debtor = await client.patch(
        f"/api/v1/debtors/{tenant.accounts[0].debtor_id}",
        json={"custom": {"x": nested(12)}},
        headers=tenant.admin.headers,
    )
    assert debtor.status_code == 422, debtor.text
    assert fields_of(debtor)[0].startswith("custom.x.in")
    assert await counts(tenant) == before


NOT_PLAIN = [
    "1e3",
    "1E3",
    "1_000",
    "\u0661\u0662\u0663",
    "\u0661\u0660.\u0665\u0660",
    " 5",
    "5 ",
    "\t5",
    "+5",
    "5.",
    ".5",
    "NaN",
    "-Infinity",
    "0x10",
    "",
    5,
    5.5,
]


@pytest.mark.parametrize("amount", NOT_PLAIN)
async def test_money_is_only_a_plain_decimal_string(client, tenant: SeededTenant, amount) -> None:
    account = tenant.accounts[0]
    before = await counts(tenant)
    for method, path, body, field in (
        ("POST", "/api/v1/accounts", valid_account(principal=amount), "principal"),
        ("POST", "/api/v1/accounts", valid_account(fees=amount), "fees"),
        ("PATCH", f"/api/v1/accounts/{account.id}", {"interest": amount}, "interest"),
        (
            "POST",
            f"/api/v1/accounts/{account.id}/payments",
            {"amount": amount, "currency": "USD"},
            "amount",
        ),
        (
            "POST",
            f"/api/v1/accounts/{account.id}/promises",
            {"instalments": [{"amount": amount, "due_date": str(dt.date.today())}]},
            "instalments[0].amount",
        ),
    ):
        response = await client.request(
            method, path, json=body, headers=keyed(tenant.admin.headers)
        )
        assert response.status_code == 422, (path, response.text)
        assert fields_of(response) == [field]
    assert await counts(tenant) == before
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM payments") == 0


async def test_plain_decimal_strings_are_money(client, tenant: SeededTenant) -> None:
    for n, amount in enumerate(("1000", "1000.5", "0.50", "0", "007.25")):
        response = await client.post(
            "/api/v1/accounts",
            json=valid_account(external_ref=f"PLAIN-{n}", principal=amount),
            headers=tenant.admin.headers,
        )
        assert response.status_code == 201, response.text
    negative = await client.post(
        "/api/v1/accounts", json=valid_account(principal="-5"), headers=tenant.admin.headers
    )
    assert negative.status_code == 422
    assert fields_of(negative) == ["principal"]


@pytest.mark.parametrize("value", ["1e3", "\u0661\u0662\u0663", " 100", "1_000", "Infinity"])
async def test_rule_amounts_are_plain_decimals_too(client, tenant, value: str) -> None:
    response = await client.post(
        "/api/v1/rules/preview",
        json={"conditions": [{"field": "balance", "op": "gt", "value": value}]},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["conditions[0].value"]
    ok = await client.post(
        "/api/v1/rules/preview",
        json={"conditions": [{"field": "balance", "op": "gt", "value": "-100.5"}]},
        headers=tenant.admin.headers,
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_times_that_leave_the_calendar_in_utc_are_422_naming_the_field(
    client, tenant: SeededTenant, moment: str
) -> None:
    account = tenant.accounts[0]
    before = await counts(tenant)
    for path, body, field in (
        (
            f"/api/v1/accounts/{account.id}/interactions",
            {"channel": "note", "occurred_at": moment},
            "occurred_at",
        ),
        (
            f"/api/v1/accounts/{account.id}/payments",
            {"amount": "1.00", "currency": "USD", "received_at": moment},
            "received_at",
        ),
        ("/api/v1/tasks", {"account_id": account.id, "due_at": moment}, "due_at"),
    ):
        response = await client.post(path, json=body, headers=tenant.admin.headers)
        assert response.status_code == 422, (path, response.text)
        assert fields_of(response) == [field]
    assert await counts(tenant) == before
