"""Input PostgreSQL cannot hold as text or numbers: NUL characters, deeply nested JSON,
money written any way but as a plain decimal, times that leave the calendar in UTC. Each is
a problem document naming the field, never a 500, and nothing is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.factories import SeededTenant
from tests.helpers import keyed
from tests.integration.test_bad_input import counts, valid_account
from tests.integration.test_input_limits import fields_of

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
