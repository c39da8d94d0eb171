"""The preview of a file's first rows over REST: values as the import would store them,
each bad row's reasons, the mapped columns the header lacks; nothing stored; admins only,
and another tenant's mapping is not found."""

from __future__ import annotations

import json

import httpx

from config.settings import Settings
from tests.factories import SeededTenant, TenantFactory

API = "/api/v1"
COLUMNS = {"account_ref": "Ref", "debtor_ref": "Customer", "principal": "Balance"}
MAPPING = {
    "columns": {**COLUMNS, "due_date": "Due"},
    "default_currency": "EUR",
    "date_format": "%d/%m/%Y",
}


def csv_with(rows: int) -> bytes:
    lines = [
        "Ref,Customer,Balance,Due",
        *[f'R-{i},"D, {i}",{i}.50,31/01/2026' for i in range(rows)],
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


async def preview(
    client: httpx.AsyncClient, who: SeededTenant | object, body: bytes, **form: str
) -> httpx.Response:
    return await client.post(
        f"{API}/imports/preview",
        headers=who.headers,  # type: ignore[attr-defined]
        files={"file": ("head.csv", body, "text/csv")},
        data=form,
    )


async def test_the_first_twenty_rows_as_they_would_be_stored(
    client: httpx.AsyncClient, tenant: SeededTenant, settings: Settings
) -> None:
    body = csv_with(25) + b"BAD,D-9,12\xc3\xa9,31/02/2026\r\n"
    response = await preview(client, tenant.admin, body, mapping=json.dumps(MAPPING))
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["header"] == ["Ref", "Customer", "Balance", "Due"]
    assert shown["missing"] == {}
    assert [r["row"] for r in shown["rows"]] == list(range(2, 22))  # 20 rows, no more
    first = shown["rows"][0]
    assert first["errors"] == []
    assert first["values"] == {
        "account_ref": "R-0",
        "debtor_ref": "D, 0",
        "currency": "EUR",
        "principal": "0.50",
        "due_date": "2026-01-31",
    }
    assert not (settings.imports_path / str(tenant.id)).exists()  # nothing stored

    bad = b"Ref,Customer,Balance,Due\r\nBAD,D-9,12\xc3\xa9,31/02/2026\r\n"
    refused = (await preview(client, tenant.admin, bad, mapping=json.dumps(MAPPING))).json()
    [row] = refused["rows"]
    assert [(e["row"], e["column"]) for e in row["errors"]] == [(2, "Balance"), (2, "Due")]
    assert row["values"]["principal"] == "12é"


async def test_missing_columns_bad_mappings_and_who_may(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    mapping = {**MAPPING, "columns": {**COLUMNS, "email": "Mail"}}
    shown = await preview(client, tenant.admin, csv_with(1), mapping=json.dumps(mapping))
    assert shown.status_code == 200
    assert shown.json()["missing"] == {"email": "Mail"}

    unfed = {"columns": {"account_ref": "Ref"}}
    refused = await preview(client, tenant.admin, csv_with(1), mapping=json.dumps(unfed))
    assert refused.status_code == 422
    assert refused.json()["field"] == "mapping.columns.debtor_ref"
    for wrong, said in (
        ({**MAPPING, "date_format": "%s"}, "date_format is not one of the values this field takes"),
        ({**MAPPING, "columns": "Ref"}, "columns must be an object, not text"),
        ({"date_format": "%Y%m%d"}, "columns is required"),
    ):
        refused = await preview(client, tenant.admin, csv_with(1), mapping=json.dumps(wrong))
        assert refused.status_code == 422
        assert refused.json()["field"] == "mapping"
        assert refused.json()["detail"].startswith(f"the mapping is not valid: {said}")
    neither = await preview(client, tenant.admin, csv_with(1))
    assert (neither.status_code, neither.json()["field"]) == (422, "mapping_id")
    unreadable = await preview(
        client, tenant.admin, b'Ref,Customer\r\n"R-1,D\r\n', mapping=json.dumps(MAPPING)
    )
    assert (unreadable.status_code, unreadable.json()["field"]) == (422, "file")

    other = await tenants.new(with_accounts=False)
    theirs = await client.post(
        f"{API}/import-mappings",
        headers=other.admin.headers,
        json={"name": "Theirs", "mapping": MAPPING},
    )
    assert theirs.status_code == 201
    foreign = await preview(client, tenant.admin, csv_with(1), mapping_id=str(theirs.json()["id"]))
    assert (foreign.status_code, foreign.json()["field"]) == (422, "mapping_id")
    mine = await client.post(
        f"{API}/import-mappings",
        headers=tenant.admin.headers,
        json={"name": "Mine", "mapping": MAPPING},
    )
    by_preset = await preview(client, tenant.admin, csv_with(1), mapping_id=str(mine.json()["id"]))
    assert by_preset.status_code == 200
    assert by_preset.json()["rows"][0]["values"]["currency"] == "EUR"

    for user in (tenant.supervisor, tenant.collector):
        denied = await preview(client, user, csv_with(1), mapping=json.dumps(MAPPING))
        assert denied.status_code == 403

    too_big = await preview(
        client, tenant.admin, b"x" * (1024 * 1024 + 1), mapping=json.dumps(MAPPING)
    )
    assert too_big.status_code == 413
