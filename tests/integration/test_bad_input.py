"""Bad input gets a clear RFC 9457 problem document and stores nothing."""

from __future__ import annotations

import httpx
import msgspec
import pytest

from tests.factories import SeededTenant

PROBLEM = "application/problem+json"


async def counts(tenant: SeededTenant) -> tuple[int, int, int, int]:
    async with tenant.db.tenant(tenant.id) as conn:
        return (
            await conn.fetchval("SELECT count(*) FROM accounts"),
            await conn.fetchval("SELECT count(*) FROM debtors"),
            await conn.fetchval("SELECT count(*) FROM audit_log"),
            await conn.fetchval("SELECT count(*) FROM outbox"),
        )


def valid_account(**overrides):  # type: ignore[no-untyped-def]
    body = {
        "external_ref": "BAD-1",
        "currency": "USD",
        "principal": "100.00",
        "debtor": {"first_name": "Val", "last_name": "Id"},
    }
    body.update(overrides)
    return body


async def test_malformed_json_is_400(client, tenant: SeededTenant) -> None:
    before = await counts(tenant)
    response = await client.post(
        "/api/v1/accounts",
        content=b'{"external_ref": "x",',
        headers={**tenant.admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 400
    assert body["type"] == "urn:recoup:problem:malformed-json"
    assert await counts(tenant) == before
    # A lone surrogate escape is not JSON text either: said as such, not as a cut-off body.
    lone = await client.post(
        "/api/v1/accounts",
        content=b'{"external_ref": "\\ud800"}',
        headers={**tenant.admin.headers, "Content-Type": "application/json"},
    )
    assert lone.status_code == 400
    assert "stands alone where it must be half of a pair" in lone.json()["detail"]
    assert await counts(tenant) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"principal": "-5.00"}, "principal"),
        ({"principal": "10.005"}, "principal"),
        ({"fees": "0.001"}, "fees"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "JPY", "principal": "100.5"}, "principal"),
        ({"principal": "NaN"}, "principal"),
        ({"principal": "1e30"}, "principal"),
        ({"principal": ["1"]}, "principal"),
        ({"external_ref": 42}, "external_ref"),
        ({"due_date": "not a date"}, "due_date"),
        ({"status": "vanished"}, "status"),
        ({"owner_id": "seven"}, "owner_id"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"custom": {"bad key!": 1}}, "custom.bad key!"),
        ({"debtor": {"time_zone": "Mars/Olympus"}}, "time_zone"),
        ({"debtor": {"time_zone": "localtime"}}, "time_zone"),
        ({"debtor": {"time_zone": "posixrules"}}, "time_zone"),
        ({"debtor": {"email": "not-an-email"}}, "email"),
    ],
)
async def test_invalid_account_fields_are_422_naming_the_field(
    client, tenant: SeededTenant, overrides, field
) -> None:
    before = await counts(tenant)
    response = await client.post(
        "/api/v1/accounts", json=valid_account(**overrides), headers=tenant.admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 422
    assert body["detail"]
    fields = [e["field"] for e in body["errors"]]
    assert any(field in f for f in fields), fields
    assert await counts(tenant) == before


async def test_three_decimals_are_fine_where_the_currency_has_them(
    client, tenant: SeededTenant
) -> None:
    response = await client.post(
        "/api/v1/accounts",
        json=valid_account(external_ref="BHD-1", currency="BHD", principal="10.125"),
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["principal"] == "10.125"
    yen = await client.post(
        "/api/v1/accounts",
        json=valid_account(external_ref="JPY-1", currency="JPY", principal="15000"),
        headers=tenant.admin.headers,
    )
    assert yen.json()["principal"] == "15000"


async def test_oversized_body_is_413_and_stores_nothing(client, tenant: SeededTenant) -> None:
    before = await counts(tenant)
    huge = valid_account(custom={"blob": "x" * (2 * 1024 * 1024)})
    response = await client.post("/api/v1/accounts", json=huge, headers=tenant.admin.headers)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
    assert await counts(tenant) == before


async def test_wrong_query_parameter_types_are_problem_documents(client, tenant) -> None:
    for params in (
        {"limit": "many"},
        {"limit": 0},
        {"limit": 1000},
        {"dpd_min": -1},
        {"cursor": "!!not-a-cursor!!"},
        {"bucket": "nope"},
        {"status": "gone"},
    ):
        response = await client.get("/api/v1/accounts", params=params, headers=tenant.admin.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)


async def test_unknown_path_and_method_are_problem_documents(client, tenant) -> None:
    missing = await client.get("/api/v1/nothing-here", headers=tenant.admin.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    wrong = await client.put("/api/v1/accounts", headers=tenant.admin.headers)
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith(PROBLEM)


async def test_duplicate_reference_is_409(client, tenant: SeededTenant) -> None:
    taken = tenant.accounts[0].external_ref
    before = await counts(tenant)
    response = await client.post(
        "/api/v1/accounts", json=valid_account(external_ref=taken), headers=tenant.admin.headers
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "external_ref"
    assert await counts(tenant) == before


async def test_interaction_with_unknown_disposition_is_422(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    response = await client.post(
        f"/api/v1/accounts/{account.id}/interactions",
        json={"channel": "call", "disposition": "hung_up_angrily"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 422
    assert any(e["field"] == "disposition" for e in response.json()["errors"])


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "Factory"])
async def test_zone_files_that_are_not_zones_are_refused_everywhere(
    client, tenant: SeededTenant, zone: str
) -> None:
    """Files of the zone directory Python would read as zones, which PostgreSQL does not know
    (every report of a tenant set to one failed): refused for the tenant, a user, oneself."""
    admin = tenant.admin.headers
    for path, headers in (
        ("/api/v1/tenant", admin),
        (f"/api/v1/users/{tenant.collector.id}", admin),
        ("/api/v1/users/me", tenant.collector.headers),
    ):
        response = await client.patch(path, json={"time_zone": zone}, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["errors"][0]["field"] == "time_zone"
    reports = await client.get("/api/v1/reports/liquidation", headers=admin)
    assert reports.status_code == 200, reports.text


async def test_head_is_get_without_the_body(live_server: str, tenant: SeededTenant) -> None:
    """Through uvicorn, as a client's HEAD arrives: GET's status and headers, no body."""
    async with httpx.AsyncClient(base_url=live_server) as http:
        for path, headers in (
            ("/", {}),
            ("/api/v1/tenant", tenant.admin.headers),
            ("/api/v1/tenant", {}),
            ("/api/v1/nothing-here", tenant.admin.headers),
        ):
            get = await http.get(path, headers=headers)
            head = await http.head(path, headers=headers)
            assert head.status_code == get.status_code, path
            assert head.content == b"", path
            assert head.headers["content-type"] == get.headers["content-type"], path
            assert head.headers.get("content-length") == get.headers.get("content-length"), path
        # A route without GET still refuses HEAD, naming what it takes.
        refused = await http.head("/api/v1/auth/login")
        assert refused.status_code == 405
        assert "POST" in refused.headers["allow"]


async def test_a_body_that_does_not_say_it_is_json_is_415_and_writes_nothing(
    client, tenant: SeededTenant
) -> None:
    """A form or text (what a page on another site can post without asking) is refused,
    whatever it holds; JSON said as such, with a charset or as a +json type, is read."""
    before = await counts(tenant)
    body = msgspec.json.encode(valid_account())
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded", "text/json"):
        headers = dict(tenant.admin.headers)
        headers.pop("Content-Type", None)
        if content_type:
            headers["Content-Type"] = content_type
        response = await client.post("/api/v1/accounts", content=body, headers=headers)
        assert response.status_code == 415, (content_type, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        detail = response.json()["detail"]
        assert detail.startswith("send the body as JSON with Content-Type: application/json")
        assert (content_type or "no Content-Type") in detail
    assert await counts(tenant) == before
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        headers = {**tenant.admin.headers, "Content-Type": content_type}
        body = msgspec.json.encode(valid_account(external_ref=f"CT-{content_type[-5:]}"))
        response = await client.post("/api/v1/accounts", content=body, headers=headers)
        assert response.status_code == 201, (content_type, response.text)


@pytest.mark.parametrize(
    ("due_date", "status"),
    [
        ("0001-01-01", 422),  # the driver would store -infinity
        ("1899-12-31", 422),
        ("1900-01-01", 201),
        ("2999-12-31", 201),
        ("3000-01-01", 422),
        ("9999-12-31", 422),  # the driver would store infinity
    ],
)
async def test_a_date_in_a_body_lies_from_1900_to_2999(
    client, tenant: SeededTenant, due_date: str, status: int
) -> None:
    body = valid_account(external_ref=f"DAY-{due_date}", due_date=due_date)
    response = await client.post("/api/v1/accounts", json=body, headers=tenant.admin.headers)
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["field"] == "due_date"
        assert response.json()["detail"] == "due_date must be a date from 1900-01-01 to 2999-12-31"
    exported = await client.get(
        "/api/v1/exports/accounts.csv", params={"q": "DAY-"}, headers=tenant.admin.headers
    )
    assert exported.status_code == 200, exported.text


@pytest.mark.parametrize("name", ["payments", "interactions"])
async def test_an_export_period_names_the_day_out_of_range(
    client, tenant: SeededTenant, name: str
) -> None:
    for field, params in (("to", {"to": "9999-12-31"}), ("from", {"from": "0001-01-01"})):
        response = await client.get(
            f"/api/v1/exports/{name}.csv", params=params, headers=tenant.admin.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
        assert response.json()["detail"] == f"{field} must be a date from 1900-01-01 to 2999-12-31"


async def test_a_missing_body_and_a_repeated_file_are_said_in_words(
    client, tenant: SeededTenant
) -> None:
    for path in ("/api/v1/import-mappings", "/api/v1/accounts"):
        response = await client.post(path, headers=tenant.admin.headers)
        assert response.status_code == 422, response.text
        assert (response.json()["detail"], response.json()["field"]) == (
            "the request needs a JSON body",
            "body",
        )
    mapping = '{"columns": {"account_ref": "a", "debtor_ref": "d", "currency": "c"}}'
    twice = await client.post(
        "/api/v1/imports",
        headers=tenant.admin.headers,
        files=[
            ("file", ("a.csv", b"a,d,c\n", "text/csv")),
            ("file", ("b.csv", b"x\n", "text/csv")),
        ],
        data={"mapping": mapping},
    )
    assert twice.status_code == 422, twice.text
    assert twice.json()["detail"] == "file: sent more than once: send it once"
