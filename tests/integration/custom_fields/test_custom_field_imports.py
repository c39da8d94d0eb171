"""Custom fields in imports: a mapping feeds them (``custom.<key>``, ``debtor.custom.<key>``),
each value is checked as over the API, a bad one rejects its row with the row, the column and
the reason, and computed fields follow what the file changed."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import msgspec

from domain.db import Database
from domain.imports import runner
from domain.imports.mapping import Mapping
from domain.imports.reader import checksum
from domain.imports.service import ImportService
from tests.factories import SeededTenant
from tests.integration.imports.files import finish

API = "/api/v1"
HEADER = ["Account", "Debtor", "Currency", "Balance", "Tier", "Score", "Country", "Work phone"]
MAPPING: dict[str, Any] = {
    "columns": {
        "account_ref": "Account",
        "debtor_ref": "Debtor",
        "currency": "Currency",
        "principal": "Balance",
        "custom.tier": "Tier",
        "custom.score": "Score",
        "country": "Country",
        "debtor.custom.work_phone": "Work phone",
    }
}


async def _define(client: httpx.AsyncClient, tenant: SeededTenant) -> None:
    bodies = [
        {"entity": "account", "key": "tier", "type": "select", "options": ["gold", "silver"]},
        {"entity": "account", "key": "score", "type": "number"},
        {
            "entity": "account",
            "key": "large",
            "type": "computed",
            "expression": "account.balance_minor >= 100000",
        },
        # Reads a value a file may leave blank (then the stored one counts).
        {
            "entity": "account",
            "key": "hot",
            "type": "computed",
            "expression": "has(account.custom.score) && account.custom.score > 10",
        },
        {"entity": "debtor", "key": "work_phone", "type": "phone"},
    ]
    for body in bodies:
        made = await client.post(
            f"{API}/custom-fields",
            json={**body, "label": body["key"]},
            headers=tenant.admin.headers,
        )
        assert made.status_code == 201, made.text


def _file(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([HEADER, *rows])
    return path


async def _import(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, path: Path
) -> dict[str, Any]:
    with path.open("rb") as f:
        response = await client.post(
            f"{API}/imports",
            headers=tenant.admin.headers,
            files={"file": (path.name, f, "text/csv")},
            data={"mapping": msgspec.json.encode(MAPPING).decode()},
        )
    assert response.status_code == 201, response.text
    await finish(db, tenant.id, response.json()["id"])
    done = await client.get(f"{API}/imports/{response.json()['id']}", headers=tenant.admin.headers)
    return done.json()


async def _account(client: httpx.AsyncClient, tenant: SeededTenant, ref: str) -> dict[str, Any]:
    found = await client.get(f"{API}/accounts", params={"q": ref}, headers=tenant.admin.headers)
    [account] = [a for a in found.json()["items"] if a["external_ref"] == ref]
    return account


async def test_bad_custom_values_reject_their_rows_and_good_ones_are_stored(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    await _define(client, tenant)
    rows = [
        ["CF-1", "CD-1", "USD", "2000.00", "gold", "12", "GB", "020 7946 0958"],
        ["CF-2", "CD-2", "USD", "10.00", "bronze", "1", "US", ""],
        ["CF-3", "CD-3", "USD", "10.00", "", "twelve", "US", ""],
        ["CF-4", "CD-4", "USD", "10.00", "silver", "", "US", "555"],
        ["CF-5", "CD-5", "USD", "10.00", "", "", "US", ""],
    ]
    done = await _import(client, db, tenant, _file(tmp_path / "cf.csv", rows))
    assert (done["status"], done["rows_created"], done["rows_rejected"]) == ("done", 2, 3)
    rejected = await client.get(
        f"{API}/imports/{done['id']}/rejected.csv", headers=tenant.admin.headers
    )
    found = list(csv.reader(io.StringIO(rejected.text)))[1:]
    assert [(int(r[0]), r[1]) for r in found] == [(3, "Tier"), (4, "Score"), (5, "Work phone")]
    assert "'bronze' is not one of gold, silver" in found[0][2]
    assert "not a number" in found[1][2]
    assert "not a valid phone number" in found[2][2]
    first = await _account(client, tenant, "CF-1")
    assert first["custom"] == {"tier": "gold", "score": 12, "large": True, "hot": True}
    debtor = await client.get(f"{API}/debtors/{first['debtor_id']}", headers=tenant.admin.headers)
    assert debtor.json()["custom"] == {"work_phone": "+442079460958"}
    assert (await _account(client, tenant, "CF-5"))["custom"] == {"large": False, "hot": False}

    # The same file again changes nothing; a lower balance turns the computed field.
    again = await _import(client, db, tenant, _file(tmp_path / "cf2.csv", rows))
    assert (again["rows_created"], again["rows_updated"]) == (0, 0)
    rows[0][3], rows[0][5] = "20.00", ""
    lowered = await _import(client, db, tenant, _file(tmp_path / "cf3.csv", rows[:1]))
    assert lowered["rows_updated"] == 1
    assert (await _account(client, tenant, "CF-1"))["custom"] == {
        "tier": "gold",
        "score": 12,  # a blank cell keeps the stored value, which the computed field reads
        "large": False,
        "hot": True,
    }
    again = await _import(client, db, tenant, _file(tmp_path / "cf4.csv", rows[:1]))
    assert (again["rows_created"], again["rows_updated"]) == (0, 0)


async def test_a_mapping_to_an_undefined_or_computed_field_is_refused(
    client: httpx.AsyncClient, tenant: SeededTenant, tmp_path: Path
) -> None:
    await _define(client, tenant)
    path = _file(tmp_path / "x.csv", [])
    for field in ("custom.nothing", "custom.large", "debtor.custom.tier"):
        mapping = {"columns": {**MAPPING["columns"], field: "Tier"}}
        del mapping["columns"]["custom.tier"]
        with path.open("rb") as f:
            response = await client.post(
                f"{API}/imports",
                headers=tenant.admin.headers,
                files={"file": (path.name, f, "text/csv")},
                data={"mapping": msgspec.json.encode(mapping).decode()},
            )
        assert response.status_code == 422, (field, response.text)
        assert response.json()["field"] == f"mapping.columns.{field}"
        preset = await client.post(
            f"{API}/import-mappings",
            json={"name": field, "mapping": mapping},
            headers=tenant.admin.headers,
        )
        assert (preset.status_code, preset.json()["field"]) == (
            422,
            f"mapping.columns.{field}",
        )
    fine = await client.post(
        f"{API}/import-mappings",
        json={"name": "fine", "mapping": MAPPING},
        headers=tenant.admin.headers,
    )
    assert fine.status_code == 201, fine.text


async def test_the_preview_shows_custom_values_as_stored(
    client: httpx.AsyncClient, tenant: SeededTenant, tmp_path: Path
) -> None:
    await _define(client, tenant)
    rows = [
        ["P-1", "PD-1", "USD", "1.00", "silver", "7.5", "GB", "020 7946 0958"],
        ["P-2", "PD-2", "USD", "1.00", "lead", "", "", ""],
    ]
    path = _file(tmp_path / "p.csv", rows)
    with path.open("rb") as f:
        response = await client.post(
            f"{API}/imports/preview",
            headers=tenant.admin.headers,
            files={"file": (path.name, f, "text/csv")},
            data={"mapping": msgspec.json.encode(MAPPING).decode()},
        )
    assert response.status_code == 200, response.text
    first, second = response.json()["rows"]
    assert (first["values"]["custom.tier"], first["values"]["custom.score"]) == ("silver", "7.5")
    assert first["values"]["debtor.custom.work_phone"] == "+442079460958"
    assert [(e["column"], e["row"]) for e in second["errors"]] == [("Tier", 3)]


async def test_an_import_whose_custom_field_was_removed_since_fails_with_the_reason(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    await _define(client, tenant)
    path = _file(tmp_path / "gone.csv", [["G-1", "GD-1", "USD", "1.00", "gold", "1", "US", ""]])
    async with db.tenant(tenant.id) as conn:
        created = await ImportService(conn, tenant.admin.actor).create(
            path=path,
            file_name=path.name,
            size_bytes=path.stat().st_size,
            checksum=checksum(path),
            mapping=msgspec.convert(MAPPING, Mapping),
        )
    fields = await client.get(f"{API}/custom-fields", headers=tenant.admin.headers)
    [tier] = [f for f in fields.json()["items"] if f["key"] == "tier"]
    gone = await client.delete(f"{API}/custom-fields/{tier['id']}", headers=tenant.admin.headers)
    assert gone.status_code == 204
    done = await runner.run_import(db, tenant.id, created.id)
    assert done.status == "failed"
    assert done.error == "custom.tier: the accounts of this tenant have no custom field 'tier'"
    assert done.rows_created == 0


async def test_a_field_a_saved_mapping_feeds_is_not_deleted_from_under_it(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    await _define(client, tenant)
    admin = tenant.admin.headers
    saved = await client.post(
        f"{API}/import-mappings", json={"name": "Daily", "mapping": MAPPING}, headers=admin
    )
    assert saved.status_code == 201, saved.text
    fields = (await client.get(f"{API}/custom-fields", headers=admin)).json()["items"]
    by_path = {
        ("custom." if f["entity"] == "account" else "debtor.custom.") + f["key"]: f["id"]
        for f in fields
    }
    refused = await client.delete(f"{API}/custom-fields/{by_path['custom.tier']}", headers=admin)
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == (
        "the import mapping 'Daily' feeds this field: change it first"
    )
    debtor_side = by_path["debtor.custom.work_phone"]
    refused = await client.delete(f"{API}/custom-fields/{debtor_side}", headers=admin)
    assert refused.status_code == 409, refused.text
    unfed = [path for path in by_path if path not in MAPPING["columns"]]
    assert unfed  # a field no mapping feeds (the computed one) is deleted as before
    gone = await client.delete(f"{API}/custom-fields/{by_path[unfed[0]]}", headers=admin)
    assert gone.status_code in (200, 204), gone.text


async def test_numbers_past_15_digits_and_json_the_api_refuses_reject_their_rows(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    """A number cell is refused from its exponent (``1e300000000`` is never expanded), a
    JSON cell is held to what the API holds a body to (no NUL, 32 levels at most); the
    preview says so too, and the good rows of the same batch are written."""
    await _define(client, tenant)
    made = await client.post(
        f"{API}/custom-fields",
        json={"entity": "account", "key": "blob", "label": "Blob", "type": "json"},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    header = ["Account", "Debtor", "Currency", "Balance", "Score", "Blob"]
    mapping = {
        "columns": {
            "account_ref": "Account",
            "debtor_ref": "Debtor",
            "currency": "Currency",
            "principal": "Balance",
            "custom.score": "Score",
            "custom.blob": "Blob",
        }
    }
    rows = [
        ["BIG-1", "BD-1", "USD", "1.00", "999999999999999", '{"a": 1}'],
        ["BIG-2", "BD-2", "USD", "1.00", "1e5000", ""],
        ["BIG-3", "BD-3", "USD", "1.00", "1e300000000", ""],
        ["BIG-4", "BD-4", "USD", "1.00", "", '"\\u0000"'],
        ["BIG-5", "BD-5", "USD", "1.00", "", "[" * 40 + "]" * 40],
        ["BIG-6", "BD-6", "USD", "1.00", "-1000000000000000", ""],
        ["BIG-7", "BD-7", "USD", "1.00", "2", "[1]"],
    ]
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    with path.open("rb") as f:
        preview = await client.post(
            f"{API}/imports/preview",
            headers=tenant.admin.headers,
            files={"file": (path.name, f, "text/csv")},
            data={"mapping": msgspec.json.encode(mapping).decode()},
        )
    assert preview.status_code == 200, preview.text
    refused = {e["row"]: e["reason"] for r in preview.json()["rows"] for e in r["errors"]}
    assert sorted(refused) == [3, 4, 5, 6, 7]
    assert "at most 15 digits before the point" in refused[3]
    assert "must not contain NUL characters" in refused[5]
    assert "nests deeper than 32 levels" in refused[6]
    with path.open("rb") as f:
        response = await client.post(
            f"{API}/imports",
            headers=tenant.admin.headers,
            files={"file": (path.name, f, "text/csv")},
            data={"mapping": msgspec.json.encode(mapping).decode()},
        )
    assert response.status_code == 201, response.text
    await finish(db, tenant.id, response.json()["id"])
    done = await client.get(f"{API}/imports/{response.json()['id']}", headers=tenant.admin.headers)
    assert (done.json()["status"], done.json()["rows_created"], done.json()["rows_rejected"]) == (
        "done",
        2,
        5,
    )
    assert (await _account(client, tenant, "BIG-1"))["custom"]["score"] == 10**15 - 1
    assert (await _account(client, tenant, "BIG-7"))["custom"]["blob"] == [1]

    # The same figures as a list filter: refused at once, named.
    for figure in ("1e5000", "1e300000000", "-1E+4300"):
        listed = await client.get(
            f"{API}/accounts",
            params={"custom.score": figure, "limit": 1},
            headers=tenant.admin.headers,
        )
        assert listed.status_code == 422, (figure, listed.text)
        assert "at most 15 digits before the point" in listed.json()["detail"]
