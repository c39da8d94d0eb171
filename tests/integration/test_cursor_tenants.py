"""Every list's cursor serves only the tenant it was given to: another tenant's is a 422
naming ``cursor`` (row-level security would hide the rows anyway; the answer says so)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.factories import SeededTenant
from tests.integration.imports.files import placement_file
from tests.integration.imports.test_imports_api import MAPPING_JSON, _upload

LISTS = [
    "/api/v1/users",
    "/api/v1/debtors",
    "/api/v1/accounts",
    "/api/v1/tasks",
    "/api/v1/imports",
    "/api/v1/messages",
]


async def first_cursor(client: httpx.AsyncClient, tenant: SeededTenant, path: str) -> str:
    answer = await client.get(path, params={"limit": 1}, headers=tenant.admin.headers)
    assert answer.status_code == 200, answer.text
    cursor = answer.json()["next_cursor"]
    assert cursor, f"{path} has one item only"
    return cursor


async def two_of_everything(
    client: httpx.AsyncClient, tenant: SeededTenant, tmp_path: Path
) -> None:
    """Enough tasks, imports and messages for a second page of each."""
    for account in tenant.accounts[:2]:
        made = await client.post(
            "/api/v1/tasks",
            json={"account_id": account.id, "title": "Ring", "strategy": {"kind": "queue"}},
            headers=tenant.supervisor.headers,
        )
        assert made.status_code == 201, made.text
        sent = await client.post(
            f"/api/v1/accounts/{account.id}/payment-links/send",
            json={"channel": "sms"},
            headers=tenant.admin.headers,
        )
        assert sent.status_code == 201, sent.text
    for n in range(2):
        path = tmp_path / f"placements-{n}.csv"
        placement_file(path, rows=3)
        uploaded = await _upload(client, tenant.admin.headers, path, mapping=MAPPING_JSON)
        assert uploaded.status_code == 201, uploaded.text


@pytest.mark.parametrize("path", LISTS)
async def test_another_tenants_cursor_is_refused_on_every_list(
    client: httpx.AsyncClient, tenants, tenant: SeededTenant, path: str, tmp_path: Path
) -> None:
    await two_of_everything(client, tenant, tmp_path)
    cursor = await first_cursor(client, tenant, path)
    ours = await client.get(path, params={"cursor": cursor}, headers=tenant.admin.headers)
    assert ours.status_code == 200, ours.text
    other = await tenants.new()
    theirs = await client.get(path, params={"cursor": cursor}, headers=other.admin.headers)
    assert theirs.status_code == 422, theirs.text
    assert theirs.json()["field"] == "cursor"
