"""Custom field definitions over REST, and the values they govern on every API write: each
type takes a good value (normalised where it has a form) and refuses a bad one with a 422
naming the field; computed fields follow their inputs and cannot be written; another
tenant's definitions are neither seen nor reached."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.factories import SeededTenant, TenantFactory

API = "/api/v1"


async def define(
    client: httpx.AsyncClient, tenant: SeededTenant, key: str, type: str, **extra: Any
) -> dict[str, Any]:
    body = {"entity": "account", "key": key, "label": key.title(), "type": type, **extra}
    response = await client.post(f"{API}/custom-fields", json=body, headers=tenant.admin.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def set_custom(
    client: httpx.AsyncClient, tenant: SeededTenant, account_id: int, custom: dict[str, Any]
) -> httpx.Response:
    return await client.patch(
        f"{API}/accounts/{account_id}", json={"custom": custom}, headers=tenant.admin.headers
    )


# (type, options, a good value, what is stored, a bad value)
CASES: list[tuple[str, list[str], Any, Any, Any]] = [
    ("string", [], "gold", "gold", 12),
    ("number", [], 12.5, 12.5, "12"),
    ("boolean", [], True, True, "yes"),
    ("date", [], "2026-02-28", "2026-02-28", "2026-02-30"),
    ("email", [], " ann@example.com ", "ann@example.com", "ann@"),
    ("phone", [], "+44 20 7946 0958", "+442079460958", "+44 12"),
    ("url", [], "https://example.com/a?b=1", "https://example.com/a?b=1", "ftp://example.com"),
    ("json", [], {"a": [1, 2]}, {"a": [1, 2]}, None),
    ("select", ["gold", "silver"], "silver", "silver", "bronze"),
    ("multi_select", ["a", "b", "c"], ["a", "c"], ["a", "c"], ["a", "d"]),
]


@pytest.mark.parametrize(("type", "options", "good", "stored", "bad"), CASES)
async def test_each_type_takes_a_good_value_and_refuses_a_bad_one(
    client: httpx.AsyncClient,
    tenant: SeededTenant,
    type: str,
    options: list[str],
    good: Any,
    stored: Any,
    bad: Any,
) -> None:
    await define(client, tenant, "extra", type, options=options)
    account = await tenant.account()
    ok = await set_custom(client, tenant, account.id, {"extra": good})
    assert ok.status_code == 200, ok.text
    assert ok.json()["custom"] == {"extra": stored}
    if bad is None:  # json takes anything
        return
    refused = await set_custom(client, tenant, account.id, {"extra": bad})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "custom.extra"
    again = await client.get(f"{API}/accounts/{account.id}", headers=tenant.admin.headers)
    assert again.json()["custom"] == {"extra": stored}


async def test_a_debtor_phone_without_a_plus_is_read_in_the_debtors_country(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    body = {"entity": "debtor", "key": "work_phone", "label": "Work phone", "type": "phone"}
    made = await client.post(f"{API}/custom-fields", json=body, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text
    debtor = {"first_name": "Ann", "last_name": "Lee", "country": "GB"}
    created = await client.post(
        f"{API}/debtors",
        json={**debtor, "custom": {"work_phone": "020 7946 0958"}},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["custom"] == {"work_phone": "+442079460958"}
    refused = await client.post(
        f"{API}/debtors",
        json={**debtor, "custom": {"work_phone": "020 79"}},
        headers=tenant.admin.headers,
    )
    assert (refused.status_code, refused.json()["field"]) == (422, "custom.work_phone")


async def test_unknown_keys_are_refused_once_fields_are_defined_and_old_ones_kept(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = await tenant.account(custom={"legacy": "x"})
    free = await set_custom(client, tenant, account.id, {"legacy": "x", "loose": 1})
    assert free.status_code == 200, free.text  # no definitions yet: free-form
    await define(client, tenant, "tier", "select", options=["a", "b"])
    kept = await set_custom(client, tenant, account.id, {"legacy": "x", "loose": 1, "tier": "a"})
    assert kept.status_code == 200, kept.text
    changed = await set_custom(client, tenant, account.id, {"legacy": "y", "tier": "a"})
    assert (changed.status_code, changed.json()["field"]) == (422, "custom.legacy")
    new = await set_custom(client, tenant, account.id, {"tier": "a", "other": 1})
    assert (new.status_code, new.json()["field"]) == (422, "custom.other")
    created = await client.post(
        f"{API}/accounts",
        json={
            "external_ref": "CF-NEW",
            "currency": "USD",
            "principal": "10",
            "debtor": {"first_name": "A", "last_name": "B"},
            "custom": {"tier": "c"},
        },
        headers=tenant.admin.headers,
    )
    assert (created.status_code, created.json()["field"]) == (422, "custom.tier")


async def test_a_computed_field_follows_its_inputs_and_cannot_be_written(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    before = await tenant.account()  # exists before the field: computed when it is saved
    await define(client, tenant, "score", "number")
    await define(
        client,
        tenant,
        "big",
        "computed",
        expression="account.balance_minor >= 200000"
        " || (has(account.custom.score) && account.custom.score > 700)",
    )
    got = await client.get(f"{API}/accounts/{before.id}", headers=tenant.admin.headers)
    assert got.json()["custom"] == {"big": False}
    raised = await client.patch(
        f"{API}/accounts/{before.id}", json={"principal": "2000"}, headers=tenant.admin.headers
    )
    assert raised.json()["custom"] == {"big": True}
    lowered = await client.patch(
        f"{API}/accounts/{before.id}", json={"principal": "100"}, headers=tenant.admin.headers
    )
    assert lowered.json()["custom"] == {"big": False}
    scored = await set_custom(client, tenant, before.id, {"score": 701, "big": False})
    assert scored.status_code == 200, scored.text
    assert scored.json()["custom"] == {"score": 701, "big": True}
    written = await set_custom(client, tenant, before.id, {"score": 701, "big": False})
    assert (written.status_code, written.json()["field"]) == (422, "custom.big")
    created = await tenant.account(principal=Decimal("5000"), custom={"score": 1})
    assert created.custom == {"score": 1, "big": True}


async def test_a_bad_definition_is_refused(client: httpx.AsyncClient, tenant: SeededTenant) -> None:
    admin = tenant.admin.headers
    cases = [
        ({"type": "select"}, "options"),
        ({"type": "select", "options": ["a", "a"]}, "options"),
        ({"type": "string", "options": ["a"]}, "options"),
        ({"type": "computed"}, "expression"),
        ({"type": "string", "expression": "1"}, "expression"),
        ({"type": "computed", "expression": "account.balance_minor >"}, "expression"),
        ({"type": "computed", "expression": "debtor.first_name"}, "expression"),
        ({"type": "computed", "expression": "account.nothing == 1"}, "expression"),
        ({"type": "computed", "expression": "[1][5]"}, "expression"),  # was a 500
        ({"type": "computed", "expression": "account.custom.nosuch > 1"}, "expression"),
        ({"type": "computed", "expression": "9223372036854775807 * 2"}, "expression"),
        (
            {
                "type": "computed",
                "expression": "[1, 2, 3].map(a, [1, 2, 3].map(b, a * b))",  # loops in loops
            },
            "expression",
        ),
    ]
    for extra, field in cases:
        body = {"entity": "account", "key": "k", "label": "K", **extra}
        response = await client.post(f"{API}/custom-fields", json=body, headers=admin)
        assert (response.status_code, response.json().get("field")) == (422, field), extra
    # An expression that fails only for the sample's values (its zero interest, a text
    # that is not a number) is not at fault: such a record gives null.
    for n, expression in enumerate(
        (
            "account.principal_minor / account.interest_minor",
            "account.balance_minor % account.fees_minor",
            "int(account.custom.code) > 10",
        )
    ):
        body = {"entity": "account", "key": f"ratio{n}", "label": "Ratio", "type": "computed"}
        if "code" in expression:
            code = {"entity": "account", "key": "code", "label": "Code", "type": "string"}
            assert (await client.post(f"{API}/custom-fields", json=code, headers=admin)).is_success
        made = await client.post(
            f"{API}/custom-fields", json={**body, "expression": expression}, headers=admin
        )
        assert made.status_code == 201, (expression, made.text)
        gone = await client.delete(f"{API}/custom-fields/{made.json()['id']}", headers=admin)
        assert gone.status_code == 204, gone.text
    bad_key = {"entity": "account", "key": "1x", "label": "K", "type": "string"}
    assert (
        await client.post(f"{API}/custom-fields", json=bad_key, headers=admin)
    ).status_code == 422
    one_loop = {"type": "computed", "expression": "[1, 2, 3].exists(a, a == 2)"}
    allowed = {"entity": "account", "key": "loop", "label": "Loop", **one_loop}
    assert (
        await client.post(f"{API}/custom-fields", json=allowed, headers=admin)
    ).status_code == 201
    good = {"entity": "account", "key": "k", "label": "K", "type": "string"}
    assert (await client.post(f"{API}/custom-fields", json=good, headers=admin)).status_code == 201
    again = await client.post(f"{API}/custom-fields", json=good, headers=admin)
    assert (again.status_code, again.json()["field"]) == (409, "key")
    debtor_side = {**good, "entity": "debtor"}
    assert (
        await client.post(f"{API}/custom-fields", json=debtor_side, headers=admin)
    ).status_code == 201


async def test_a_type_change_some_values_would_break_is_refused_with_their_count(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    field = await define(client, tenant, "code", "string")
    for value in ("12", "7", "x1", "y2", "z3"):
        account = await tenant.account()
        assert (await set_custom(client, tenant, account.id, {"code": value})).status_code == 200
    blank = await tenant.account()
    await set_custom(client, tenant, blank.id, {"code": None})
    url = f"{API}/custom-fields/{field['id']}"
    refused = await client.patch(url, json={"type": "number"}, headers=tenant.admin.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["offending_rows"] == 5
    assert refused.json()["field"] == "type"
    to_select = {"type": "select", "options": ["12", "7", "x1", "y2"]}
    one_off = await client.patch(url, json=to_select, headers=tenant.admin.headers)
    assert (one_off.status_code, one_off.json()["offending_rows"]) == (409, 1)
    fits = {"type": "select", "options": ["12", "7", "x1", "y2", "z3"]}
    ok = await client.patch(url, json=fits, headers=tenant.admin.headers)
    assert ok.status_code == 200, ok.text
    assert (ok.json()["type"], ok.json()["options"]) == ("select", fits["options"])
    dropped = await client.patch(
        url, json={"options": ["12", "7", "x1", "y2"]}, headers=tenant.admin.headers
    )
    assert (dropped.status_code, dropped.json()["field"]) == (409, "options")
    assert dropped.json()["offending_rows"] == 1
    widened = await client.patch(
        url, json={"type": "string", "label": "Code"}, headers=tenant.admin.headers
    )
    assert widened.status_code == 200, widened.text
    computed = await client.patch(
        url, json={"type": "computed", "expression": "'a'"}, headers=tenant.admin.headers
    )
    assert (computed.status_code, computed.json()["offending_rows"]) == (409, 5)


async def test_definitions_are_the_admins_and_another_tenants_are_not_reached(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    mine = await define(client, tenant, "mine", "string")
    other = await tenants.new(with_accounts=False)
    theirs = await define(client, other, "theirs", "number")
    listed = await client.get(f"{API}/custom-fields", headers=tenant.admin.headers)
    assert [f["key"] for f in listed.json()["items"]] == ["mine"]
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"{API}/custom-fields/{theirs['id']}",
            json={"label": "x"} if method == "PATCH" else None,
            headers=tenant.admin.headers,
        )
        assert response.status_code == 404, (method, response.text)
    account = await tenant.account()
    refused = await set_custom(client, tenant, account.id, {"theirs": 1})
    assert (refused.status_code, refused.json()["field"]) == (422, "custom.theirs")
    # Everyone reads the definitions (of their own tenant); only admins change them.
    for user in (tenant.supervisor, tenant.collector, tenant.readonly):
        read = await client.get(f"{API}/custom-fields", headers=user.headers)
        assert [f["key"] for f in read.json()["items"]] == ["mine"]
        one = await client.get(f"{API}/custom-fields/{mine['id']}", headers=user.headers)
        assert one.json()["key"] == "mine"
        hidden = await client.get(f"{API}/custom-fields/{theirs['id']}", headers=user.headers)
        assert hidden.status_code == 404
        for method, path, body in (
            (
                "POST",
                "/custom-fields",
                {"entity": "account", "key": "x", "label": "X", "type": "string"},
            ),
            ("PATCH", f"/custom-fields/{mine['id']}", {"label": "x"}),
            ("DELETE", f"/custom-fields/{mine['id']}", None),
        ):
            denied = await client.request(method, f"{API}{path}", json=body, headers=user.headers)
            assert denied.status_code == 403, (user.role, method)
    gone = await client.delete(f"{API}/custom-fields/{mine['id']}", headers=tenant.admin.headers)
    assert gone.status_code == 204
    audit = await client.get(
        f"{API}/audit", params={"entity_type": "custom_field"}, headers=tenant.admin.headers
    )
    assert [e["action"] for e in audit.json()["items"]][:2] == [
        "custom_field.delete",
        "custom_field.create",
    ]


async def test_computed_fields_follow_payments_status_changes_and_debtor_edits(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    await define(client, tenant, "owed", "computed", expression="account.balance_minor")
    await define(client, tenant, "state", "computed", expression="account.status")
    account = await tenant.account()  # 1075.00
    assert account.custom == {"owed": 107500, "state": "active"}
    paid = await client.post(
        f"{API}/accounts/{account.id}/payments",
        json={"amount": "75.00", "currency": "USD"},
        headers={**tenant.admin.headers, "Idempotency-Key": f"cf-{account.id}"},
    )
    assert paid.status_code == 201, paid.text
    promised = await client.post(
        f"{API}/accounts/{account.id}/promises",
        json={"amount": "100.00", "due_date": (dt.date.today() + dt.timedelta(days=7)).isoformat()},
        headers=tenant.admin.headers,
    )
    assert promised.status_code == 201, promised.text
    got = await client.get(f"{API}/accounts/{account.id}", headers=tenant.admin.headers)
    assert got.json()["custom"] == {"owed": 100000, "state": "promised"}

    body = {
        "entity": "debtor",
        "key": "full",
        "label": "Full name",
        "type": "computed",
        "expression": "debtor.first_name + ' ' + debtor.last_name",
    }
    made = await client.post(f"{API}/custom-fields", json=body, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text
    renamed = await client.patch(
        f"{API}/debtors/{account.debtor_id}",
        json={"first_name": "Ada", "last_name": "King"},
        headers=tenant.admin.headers,
    )
    assert renamed.json()["custom"] == {"full": "Ada King"}


async def test_the_openapi_document_lists_the_problems_each_route_answers(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    paths = document["paths"]
    expected = {
        ("/api/v1/custom-fields", "get"): {"401", "403", "422", "503"},
        ("/api/v1/custom-fields", "post"): {"400", "401", "403", "409", "413", "422", "503"},
        ("/api/v1/custom-fields/{field_id}", "get"): {"401", "403", "404", "422", "503"},
        ("/api/v1/custom-fields/{field_id}", "patch"): {
            "400",
            "401",
            "403",
            "404",
            "409",
            "413",
            "422",
            "503",
        },
        ("/api/v1/custom-fields/{field_id}", "delete"): {"401", "403", "404", "409", "422", "503"},
    }
    for (path, method), statuses in expected.items():
        answered = {s for s in paths[path][method]["responses"] if s[0] in "45"}
        assert answered == statuses, (path, method, answered)
    problem = document["components"]["schemas"]["Problem"]["properties"]
    assert problem["offending_rows"]["type"] == "integer"


async def test_an_edit_merges_its_custom_values_into_the_stored_ones(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    await define(client, tenant, "tier", "string")
    await define(client, tenant, "score", "number")
    account = await tenant.account()
    first = await set_custom(client, tenant, account.id, {"tier": "gold", "score": 7})
    assert first.json()["custom"] == {"tier": "gold", "score": 7}
    # A key not sent is kept; a key sent is set.
    second = await set_custom(client, tenant, account.id, {"score": 8})
    assert second.json()["custom"] == {"tier": "gold", "score": 8}
    # A key sent as null is removed.
    third = await set_custom(client, tenant, account.id, {"tier": None})
    assert third.json()["custom"] == {"score": 8}
    # An empty object changes nothing.
    same = await set_custom(client, tenant, account.id, {})
    assert same.json()["custom"] == {"score": 8}
    # The same for a debtor.
    await client.post(
        f"{API}/custom-fields",
        json={"entity": "debtor", "key": "vip", "label": "VIP", "type": "boolean"},
        headers=tenant.admin.headers,
    )
    await client.post(
        f"{API}/custom-fields",
        json={"entity": "debtor", "key": "lang", "label": "Lang", "type": "string"},
        headers=tenant.admin.headers,
    )
    debtor = f"{API}/debtors/{first.json()['debtor_id']}"
    headers = tenant.admin.headers
    await client.patch(debtor, json={"custom": {"vip": True, "lang": "es"}}, headers=headers)
    kept = await client.patch(debtor, json={"custom": {"lang": "en"}}, headers=headers)
    assert kept.json()["custom"] == {"vip": True, "lang": "en"}
    dropped = await client.patch(debtor, json={"custom": {"vip": None}}, headers=headers)
    assert dropped.json()["custom"] == {"lang": "en"}


async def test_a_field_defined_over_values_kept_under_its_key_must_accept_them(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    """Values stay on the records when their field is deleted; a field made again under the
    key must accept them (a computed one would overwrite them), as a type change must."""
    admin = tenant.admin.headers
    field = await define(client, tenant, "keep", "string")
    account = await tenant.account()
    assert (await set_custom(client, tenant, account.id, {"keep": "precious"})).status_code == 200
    gone = await client.delete(f"{API}/custom-fields/{field['id']}", headers=admin)
    assert gone.status_code in (200, 204), gone.text
    for kind in ({"type": "computed", "expression": "'overwritten'"}, {"type": "number"}):
        body = {"entity": "account", "key": "keep", "label": "Keep", **kind}
        refused = await client.post(f"{API}/custom-fields", json=body, headers=admin)
        assert refused.status_code == 409, refused.text
        assert (refused.json()["offending_rows"], refused.json()["field"]) == (1, "type")
    again = {"entity": "account", "key": "keep", "label": "Keep", "type": "string"}
    assert (await client.post(f"{API}/custom-fields", json=again, headers=admin)).status_code == 201
    shown = await client.get(f"{API}/accounts/{account.id}", headers=admin)
    assert shown.json()["custom"]["keep"] == "precious"


async def test_a_change_to_phone_counts_the_numbers_phonenumbers_would_refuse(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    field = await define(client, tenant, "line", "string")
    for value in ("+1000000", "+12125550123", "+447911123456", "+1000000"):
        account = await tenant.account()
        assert (await set_custom(client, tenant, account.id, {"line": value})).status_code == 200
    url = f"{API}/custom-fields/{field['id']}"
    refused = await client.patch(url, json={"type": "phone"}, headers=tenant.admin.headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["offending_rows"] == 2  # "+1000000" looks like E.164; it is no number
