"""Imports over REST: an admin uploads a file with a mapping (multipart, streamed to disk),
follows it and downloads its rejected rows; mapping presets; nobody else gets in, and
another tenant's ids are not found."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import msgspec

from config.settings import Settings
from domain.db import Database
from tests.factories import SeededTenant, TenantFactory
from tests.integration.imports.files import MAPPING, finish, placement_file

API = "/api/v1"
MAPPING_JSON = msgspec.json.encode(MAPPING).decode()


async def _upload(
    client: httpx.AsyncClient, headers: dict[str, str], path: Path, **form: str
) -> httpx.Response:
    with path.open("rb") as f:
        return await client.post(
            f"{API}/imports",
            headers=headers,
            files={"file": (path.name, f, "text/csv")},
            data=form,
        )


async def test_an_admin_uploads_follows_and_downloads_the_rejected_rows(
    client: httpx.AsyncClient,
    db: Database,
    tenant: SeededTenant,
    settings: Settings,
    tmp_path: Path,
) -> None:
    path = tmp_path / "placements.csv"
    expected = placement_file(path, rows=2_000)
    response = await _upload(client, tenant.admin.headers, path, mapping=MAPPING_JSON)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["status"], created["file_name"], created["size_bytes"]) == (
        "pending",
        "placements.csv",
        path.stat().st_size,
    )
    stored = list((settings.imports_path / str(tenant.id)).iterdir())
    assert [p.read_bytes() for p in stored] == [path.read_bytes()]
    await finish(db, tenant.id, created["id"])
    got = await client.get(f"{API}/imports/{created['id']}", headers=tenant.admin.headers)
    assert got.status_code == 200
    assert (got.json()["status"], got.json()["rows_rejected"]) == ("done", len(expected))
    listed = await client.get(f"{API}/imports", headers=tenant.admin.headers)
    assert [i["id"] for i in listed.json()["items"]] == [created["id"]]
    rejected = await client.get(
        f"{API}/imports/{created['id']}/rejected.csv", headers=tenant.admin.headers
    )
    assert rejected.status_code == 200
    assert rejected.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(rejected.text)))
    assert rows[0] == ["row", "column", "reason"]
    assert [(int(r[0]), r[1]) for r in rows[1:]] == [(n, c) for n, c, _ in expected]


async def test_an_upload_with_a_saved_mapping_and_what_is_refused(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants: TenantFactory, tmp_path: Path
) -> None:
    admin = tenant.admin.headers
    body = {"name": "DebtFlow", "mapping": msgspec.to_builtins(MAPPING)}
    made = await client.post(f"{API}/import-mappings", json=body, headers=admin)
    assert made.status_code == 201, made.text
    again = await client.post(f"{API}/import-mappings", json=body, headers=admin)
    assert (again.status_code, again.json()["field"]) == (409, "name")
    path = tmp_path / "f.csv"
    placement_file(path, rows=10)
    ok = await _upload(client, admin, path, mapping_id=str(made.json()["id"]))
    assert ok.status_code == 201, ok.text
    assert ok.json()["mapping_id"] == made.json()["id"]
    other = await tenants.new(with_accounts=False)
    theirs = await client.post(f"{API}/import-mappings", json=body, headers=other.admin.headers)
    refused = await _upload(client, admin, path, mapping_id=str(theirs.json()["id"]))
    assert (refused.status_code, refused.json()["field"]) == (422, "mapping_id")
    both = await _upload(
        client, admin, path, mapping_id=str(made.json()["id"]), mapping=MAPPING_JSON
    )
    assert (both.status_code, both.json()["field"]) == (422, "mapping_id")
    for odd in ("9223372036854775808", "0", "-1", "x"):
        refused = await _upload(client, admin, path, mapping_id=odd)
        assert refused.status_code in (400, 422), (odd, refused.text)
        assert "mapping_id" in refused.text, (odd, refused.text)
    bad = await _upload(client, admin, path, mapping='{"columns": {"shoe": "S"}}')
    assert (bad.status_code, bad.json()["field"]) == (422, "mapping.columns.shoe")
    junk = await _upload(client, admin, path, mapping="not json")
    assert (junk.status_code, junk.json()["field"]) == (422, "mapping")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    nothing = await _upload(client, admin, empty, mapping=MAPPING_JSON)
    assert (nothing.status_code, nothing.json()["field"]) == (422, "file")


async def test_only_admins_and_only_their_tenants_imports_and_mappings(
    client: httpx.AsyncClient,
    db: Database,
    tenant: SeededTenant,
    tenants: TenantFactory,
    tmp_path: Path,
) -> None:
    path = tmp_path / "f.csv"
    placement_file(path, rows=10)
    for role in ("collector", "supervisor", "readonly"):
        headers = tenant.users[role].headers
        assert (await _upload(client, headers, path, mapping=MAPPING_JSON)).status_code == 403
        assert (await client.get(f"{API}/imports", headers=headers)).status_code == 403
        assert (await client.get(f"{API}/import-mappings", headers=headers)).status_code == 403
    other = await tenants.new(with_accounts=False)
    upload = await _upload(client, other.admin.headers, path, mapping=MAPPING_JSON)
    import_id = upload.json()["id"]
    body = {"name": "Theirs", "mapping": msgspec.to_builtins(MAPPING)}
    mapping = await client.post(f"{API}/import-mappings", json=body, headers=other.admin.headers)
    mapping_id = mapping.json()["id"]
    admin = tenant.admin.headers
    for url in (
        f"{API}/imports/{import_id}",
        f"{API}/imports/{import_id}/rejected.csv",
        f"{API}/import-mappings/{mapping_id}",
    ):
        assert (await client.get(url, headers=admin)).status_code == 404, url
    patched = await client.patch(
        f"{API}/import-mappings/{mapping_id}", json={"name": "Mine"}, headers=admin
    )
    assert patched.status_code == 404
    deleted = await client.delete(f"{API}/import-mappings/{mapping_id}", headers=admin)
    assert deleted.status_code == 404
    still = await client.get(f"{API}/import-mappings/{mapping_id}", headers=other.admin.headers)
    assert still.json()["name"] == "Theirs"
    assert (await client.get(f"{API}/imports", headers=admin)).json()["items"] == []
