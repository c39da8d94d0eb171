"""Roles in practice: collectors see only their own accounts, read-only users write nothing.
Every route, role and scope is walked from the route table in ``test_route_walk.py``."""

from __future__ import annotations

from tests.factories import SeededTenant


async def test_collector_cannot_create_users(client, tenant: SeededTenant) -> None:
    response = await client.post(
        "/api/v1/users",
        json={"email": f"new@{tenant.slug}.test", "name": "New", "password": "long enough pw"},
        headers=tenant.collector.headers,
    )
    assert response.status_code == 403
    assert response.json()["status"] == 403
    assert "collector" in response.json()["detail"]


async def test_collector_sees_only_own_accounts(client, tenant: SeededTenant) -> None:
    mine, theirs, unowned = tenant.accounts[:3]
    listed = (await client.get("/api/v1/accounts", headers=tenant.collector.headers)).json()
    assert [a["id"] for a in listed["items"]] == [mine.id]
    assert (
        await client.get(f"/api/v1/accounts/{mine.id}", headers=tenant.collector.headers)
    ).status_code == 200
    for account in (theirs, unowned):
        response = await client.get(
            f"/api/v1/accounts/{account.id}", headers=tenant.collector.headers
        )
        assert response.status_code == 404
        history = await client.get(
            f"/api/v1/accounts/{account.id}/interactions", headers=tenant.collector.headers
        )
        assert history.status_code == 404
    debtor = await client.get(
        f"/api/v1/debtors/{theirs.debtor_id}", headers=tenant.collector.headers
    )
    assert debtor.status_code == 404


async def test_collector_logs_interactions_only_on_own_accounts(
    client, tenant: SeededTenant
) -> None:
    mine, theirs = tenant.accounts[:2]
    ok = await client.post(
        f"/api/v1/accounts/{mine.id}/interactions",
        json={"channel": "call", "disposition": "no_answer"},
        headers=tenant.collector.headers,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["user_id"] == tenant.collector.id
    refused = await client.post(
        f"/api/v1/accounts/{theirs.id}/interactions",
        json={"channel": "call", "disposition": "no_answer"},
        headers=tenant.collector.headers,
    )
    assert refused.status_code == 404


async def test_readonly_reads_everything_and_writes_nothing(client, tenant: SeededTenant) -> None:
    headers = tenant.readonly.headers
    listed = (await client.get("/api/v1/accounts", headers=headers)).json()
    assert len(listed["items"]) == 3
    account = tenant.accounts[0]
    attempts = [
        client.post(
            "/api/v1/accounts",
            json={"external_ref": "R", "currency": "USD", "principal": "1", "debtor": {}},
            headers=headers,
        ),
        client.patch(f"/api/v1/accounts/{account.id}", json={"creditor": "x"}, headers=headers),
        client.post(
            f"/api/v1/accounts/{account.id}/interactions", json={"channel": "note"}, headers=headers
        ),
        client.patch(
            f"/api/v1/debtors/{account.debtor_id}", json={"first_name": "x"}, headers=headers
        ),
        client.post("/api/v1/agent-groups", json={"name": "x"}, headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 403, response.text


async def test_supervisor_manages_accounts_but_not_users_or_keys(
    client, tenant: SeededTenant
) -> None:
    headers = tenant.supervisor.headers
    account = tenant.accounts[2]
    assigned = await client.patch(
        f"/api/v1/accounts/{account.id}", json={"owner_id": tenant.collector.id}, headers=headers
    )
    assert assigned.status_code == 200
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 200
    assert (
        await client.post(
            "/api/v1/api-keys", json={"name": "x", "scopes": ["accounts:read"]}, headers=headers
        )
    ).status_code == 403
    assert (
        await client.patch(
            f"/api/v1/users/{tenant.collector.id}", json={"capacity": 3}, headers=headers
        )
    ).status_code == 403
