"""What the conformance run found, each pinned by a test of its own: the document declares
what the API answers and takes, and the API takes what the document declares."""

from __future__ import annotations

import re
from typing import Any

import pytest

from domain.auth.schemas import SCOPE_DESCRIPTIONS
from domain.validation import FIRST_DAY, INT64_MAX, INT64_MIN, LAST_DAY
from tests.factories import SeededTenant

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return (await client.get("/schema/openapi.json")).json()


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return document["paths"][path][method.lower()]


def _parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation["parameters"] if p["name"] == name)


async def test_options_lists_every_method_of_the_path_without_a_sign_in(client) -> None:
    """Litestar's OPTIONS left out the methods registered after the first (GET on
    /api/v1/accounts), and ran a controller's guards with no caller (a 500 on /api-keys)."""
    for path, allow in (
        ("/api/v1/accounts", "GET, OPTIONS, POST"),
        ("/api/v1/accounts/1", "GET, OPTIONS, PATCH"),
        ("/api/v1/api-keys", "GET, OPTIONS, POST"),
        ("/api/v1/api-keys/1", "DELETE, GET, OPTIONS"),
        ("/api/v1/audit", "GET, OPTIONS"),
    ):
        response = await client.options(path)
        assert response.status_code == 204, path
        assert response.headers["allow"] == allow, path
    assert (await client.options("/api/v1/nothing-here")).status_code == 404


async def test_options_answers_every_documented_path(client, document) -> None:
    for path, item in document["paths"].items():
        concrete = path.replace("{", "").replace("}", "")
        for name in ("account_id", "debtor_id", "payment_id", "link_id", "task_id", "user_id"):
            concrete = concrete.replace(name, "1")
        concrete = "/".join("1" if part.endswith("_id") else part for part in concrete.split("/"))
        response = await client.options(concrete)
        assert response.status_code == 204, concrete
        methods = {m.strip() for m in response.headers["allow"].split(",")}
        assert {m.upper() for m in item} - {"PARAMETERS"} <= methods, concrete


async def test_a_flag_or_a_number_of_the_wrong_json_type_is_refused(
    client, tenant: SeededTenant
) -> None:
    """Litestar converts bodies leniently: 0 was taken for false and "12" for 12."""
    debtor = {"external_ref": "TYPES-1", "first_name": "Ty", "last_name": "Pes"}
    for field, value in (("opt_out_email", 0), ("opt_out_email", "true"), ("do_not_contact", 1)):
        response = await client.post(
            "/api/v1/debtors", json={**debtor, field: value}, headers=tenant.admin.headers
        )
        assert response.status_code == 422, (field, value)
        assert response.json()["field"] == field
    response = await client.post(
        "/api/v1/queues",
        json={"name": "typed", "age_boost_minutes": "5"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["field"] == "age_boost_minutes"
    # An integer written with a zero fraction is an integer, in JSON Schema as here.
    response = await client.post(
        "/api/v1/queues",
        json={"name": "typed", "age_boost_minutes": 5.0},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201


async def test_filters_sent_empty_are_not_given(client, tenant: SeededTenant) -> None:
    """``?bucket=`` was a 422 ("unknown bucket ''"): a form's empty field means any."""
    everything = await client.get("/api/v1/accounts", headers=tenant.admin.headers)
    for query in ("bucket=", "status=", "bucket=&status=&q=&cursor=", "status=&status=paid"):
        response = await client.get(f"/api/v1/accounts?{query}", headers=tenant.admin.headers)
        assert response.status_code == 200, query
        if "paid" not in query:
            assert response.json() == everything.json(), query
    for query in ("status=", "status=&status=open"):
        response = await client.get(f"/api/v1/tasks?{query}", headers=tenant.admin.headers)
        assert response.status_code == 200, query
    response = await client.get("/api/v1/audit?entity_type=", headers=tenant.admin.headers)
    assert response.status_code == 200
    # An unknown status is still refused, and the document lists the known ones.
    response = await client.get("/api/v1/accounts?status=late", headers=tenant.admin.headers)
    assert response.status_code == 422
    assert response.json()["field"] == "status"


async def test_parameter_bounds_are_written_as_declared(document) -> None:
    """Litestar wrote the int64 bounds as the float 2**63 and left out a minimum of 0."""
    accounts = _operation(document, "GET", "/api/v1/accounts")
    assert _parameter(accounts, "dpd_min")["schema"]["minimum"] == 0
    assert _parameter(accounts, "owner_id")["schema"]["maximum"] == INT64_MAX
    assert _parameter(accounts, "owner_id")["schema"]["minimum"] == INT64_MIN
    one = _operation(document, "GET", "/api/v1/accounts/{account_id}")
    assert _parameter(one, "account_id")["schema"]["maximum"] == INT64_MAX
    rule = document["components"]["schemas"]["RuleUpdate"]["properties"]["priority"]
    assert rule["minimum"] == 0
    agents = document["components"]["schemas"]["QueueCreate"]["properties"]["agent_ids"]
    assert agents["items"]["maximum"] == INT64_MAX


async def test_request_bodies_are_closed_and_money_is_a_decimal_string(document) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["PaymentCreate"]["additionalProperties"] is False
    assert schemas["AccountUpdate"]["additionalProperties"] is False
    status = schemas["AccountUpdate"]["properties"]["status"]
    assert "status-changes" in status["description"], status
    amount = schemas["PaymentCreate"]["properties"]["amount"]
    assert amount["type"] == "string"
    assert amount["pattern"] == r"^0*[0-9]{1,16}(\.[0-9]+)?$"


async def test_days_are_those_the_api_takes(document, client, tenant: SeededTenant) -> None:
    """A ``date`` says its years (1900 to 2999) as a pattern, and the API takes exactly those."""
    export = _operation(document, "GET", "/api/v1/exports/interactions.csv")
    pattern = _parameter(export, "to")["schema"]["oneOf"][0]["pattern"]
    for day, taken in (
        ("1899-12-31", False),
        (FIRST_DAY.isoformat(), True),
        (LAST_DAY.isoformat(), True),
        ("3000-01-01", False),
        ("0227-06-26", False),
    ):
        assert bool(re.search(pattern, day)) is taken, day
        response = await client.get(
            "/api/v1/exports/interactions.csv",
            params={"from": day, "to": day},
            headers=tenant.admin.headers,
        )
        assert (response.status_code == 422) is not taken, (day, response.text)


async def test_api_key_scopes_are_listed_with_what_each_allows(document) -> None:
    scopes = document["components"]["schemas"]["ApiKeyCreate"]["properties"]["scopes"]
    assert scopes["items"]["enum"] == sorted(SCOPE_DESCRIPTIONS)
    assert len(scopes["items"]["enum"]) == 13
    description = scopes["items"]["description"]
    for name, text in SCOPE_DESCRIPTIONS.items():
        assert f"- `{name}`: {text}" in description
    listed = document["components"]["schemas"]["ApiKey"]["properties"]["scopes"]["items"]
    assert listed["enum"] == sorted(SCOPE_DESCRIPTIONS)


async def test_every_error_is_a_documented_problem(document) -> None:
    """Each operation lists the problems its route can answer, as problem+json."""
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance"}
    for name in ("request_id", "field", "errors"):
        assert name in problem["properties"]
    responses = document["components"]["responses"]
    assert responses["Problem401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert responses["Problem429"]["headers"]["Retry-After"]["required"] is True
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert "422" in codes, (method, path)
            for code in codes - {"200", "201", "204"}:
                assert operation["responses"][code]["$ref"].endswith(f"Problem{code}")
            if operation.get("security") == [{"bearer": []}]:
                assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
    login = _operation(document, "POST", "/api/v1/auth/login")
    assert login["security"] == []
    assert {"401", "429"} <= set(login["responses"])
    assert "503" in _operation(document, "POST", "/api/v1/tasks/next")["responses"]
    assert "410" in _operation(document, "GET", "/pay/{token}/summary")["responses"]
    assert _operation(document, "POST", "/api/v1/auth/logout")["security"] == [{}, {"bearer": []}]


async def test_problem_documents_name_their_field_at_the_top(client, tenant: SeededTenant) -> None:
    response = await client.get("/api/v1/accounts?limit=0", headers=tenant.admin.headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["field"] == "limit"
    assert response.json()["errors"][0]["field"] == "limit"
