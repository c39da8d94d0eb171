"""A name of spaces is no name: refused by name (422 on ``name``), never kept as ''."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import SeededTenant

BLANK = "  \t "


async def group_id(client: httpx.AsyncClient, tenant: SeededTenant) -> int:
    made = await client.post(
        "/api/v1/agent-groups", json={"name": "Blankless"}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/users", {"email": "blank@x.test", "password": "long enough pw"}),
        ("PATCH", "/api/v1/users/me", {}),
        ("POST", "/api/v1/agent-groups", {}),
        ("POST", "/api/v1/queues", {"group": True}),
        ("POST", "/api/v1/templates", {"channel": "sms", "body": "Hi"}),
    ],
)
async def test_a_blank_name_is_refused_by_name(
    client: httpx.AsyncClient, tenant: SeededTenant, method: str, path: str, body: dict
) -> None:
    if body.pop("group", False):
        body["group_id"] = await group_id(client, tenant)
    answer = await client.request(
        method, path, json={**body, "name": BLANK}, headers=tenant.admin.headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "name"
    assert answer.json()["detail"] == "name cannot be blank"


async def test_a_name_is_kept_without_its_surrounding_spaces(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    made = await client.post(
        "/api/v1/agent-groups", json={"name": "  North  "}, headers=tenant.admin.headers
    )
    assert (made.status_code, made.json()["name"]) == (201, "North")
