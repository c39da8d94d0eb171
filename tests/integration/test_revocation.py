"""Revocation takes effect on the very next request: deactivation, a new role, a new
password, signing out (this sign-in or everywhere) and a reused refresh token end the
access tokens they concern at once, for reads, writes and socket tickets alike."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import PASSWORD, SeededTenant

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
TICKET = "/api/v1/realtime/ticket"


async def sign_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def works(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, int]:
    """What a token can still do: read, write and get a socket ticket."""
    read = await client.get("/api/v1/users/me", headers=headers)
    write = await client.patch("/api/v1/users/me", json={"name": "Still Here"}, headers=headers)
    ticket = await client.post(TICKET, headers=headers)
    return {"read": read.status_code, "write": write.status_code, "ticket": ticket.status_code}


ALIVE = {"read": 200, "write": 200, "ticket": 200}
DEAD = {"read": 401, "write": 401, "ticket": 401}


async def test_a_deactivated_user_is_refused_on_the_next_request(
    client, tenant: SeededTenant
) -> None:
    tokens = await sign_in(client, tenant.other_collector.email)
    assert await works(client, bearer(tokens)) == ALIVE
    off = await client.patch(
        f"/api/v1/users/{tenant.other_collector.id}",
        json={"active": False},
        headers=tenant.admin.headers,
    )
    assert off.status_code == 200
    assert await works(client, bearer(tokens)) == DEAD
    refused = await client.get("/api/v1/users/me", headers=bearer(tokens))
    assert refused.json()["detail"] == "your session has ended; sign in again"
    refreshed = await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    # Reactivated, they sign in again; the old tokens stay dead.
    on = await client.patch(
        f"/api/v1/users/{tenant.other_collector.id}",
        json={"active": True},
        headers=tenant.admin.headers,
    )
    assert on.status_code == 200
    assert await works(client, bearer(tokens)) == DEAD
    assert await works(client, bearer(await sign_in(client, tenant.other_collector.email))) == ALIVE


async def test_a_demoted_admin_loses_admin_rights_at_once(client, tenant: SeededTenant) -> None:
    second = await client.post(
        "/api/v1/users",
        json={
            "email": f"second-admin@{tenant.slug}.test",
            "name": "Second Admin",
            "password": PASSWORD,
            "role": "admin",
        },
        headers=tenant.admin.headers,
    )
    assert second.status_code == 201, second.text
    tokens = await sign_in(client, f"second-admin@{tenant.slug}.test")
    demoted = await client.patch(
        f"/api/v1/users/{second.json()['id']}",
        json={"role": "readonly"},
        headers=tenant.admin.headers,
    )
    assert demoted.status_code == 200
    minted = await client.post(
        "/api/v1/api-keys",
        json={"name": "after demotion", "scopes": ["accounts:write"]},
        headers=bearer(tokens),
    )
    assert minted.status_code == 401
    async with tenant.db.tenant(tenant.id) as conn:
        assert not await conn.fetchval("SELECT 1 FROM api_keys WHERE name = 'after demotion'")
    # Refreshing gives a token with the role they have now.
    refreshed = await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    now = bearer(refreshed.json())
    assert (await client.get("/api/v1/users/me", headers=now)).json()["role"] == "readonly"
    refused = await client.post(
        "/api/v1/api-keys", json={"name": "x", "scopes": ["accounts:read"]}, headers=now
    )
    assert refused.status_code == 403


async def test_signing_out_everywhere_ends_every_session(client, tenant: SeededTenant) -> None:
    laptop = await sign_in(client, tenant.supervisor.email)
    phone = await sign_in(client, tenant.supervisor.email)
    out = await client.post("/api/v1/users/me/sign-out-everywhere", headers=bearer(laptop))
    assert out.status_code == 204
    for tokens in (laptop, phone):
        assert await works(client, bearer(tokens)) == DEAD
        again = await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
        assert again.status_code == 401


async def test_an_admin_signs_a_user_out_everywhere(client, tenant: SeededTenant) -> None:
    tokens = await sign_in(client, tenant.collector.email)
    refused = await client.post(
        f"/api/v1/users/{tenant.collector.id}/sign-out-everywhere", headers=bearer(tokens)
    )
    assert refused.status_code == 403  # only admins sign others out
    done = await client.post(
        f"/api/v1/users/{tenant.collector.id}/sign-out-everywhere", headers=tenant.admin.headers
    )
    assert done.status_code == 204
    assert await works(client, bearer(tokens)) == DEAD


async def test_signing_out_ends_this_sign_in_only(client, tenant: SeededTenant) -> None:
    this = await sign_in(client, tenant.supervisor.email)
    other = await sign_in(client, tenant.supervisor.email)
    # A client that sends only its access token signs that token's sign-in out.
    out = await client.post(LOGOUT, headers=bearer(this))
    assert out.status_code == 204
    assert await works(client, bearer(this)) == DEAD
    refreshed = await client.post(REFRESH, json={"refresh_token": this["refresh_token"]})
    assert refreshed.status_code == 401
    assert await works(client, bearer(other)) == ALIVE


async def test_a_reused_refresh_token_ends_the_current_access_token_too(
    client, tenant: SeededTenant
) -> None:
    first = await sign_in(client, tenant.supervisor.email)
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()
    assert await works(client, bearer(second)) == ALIVE
    stolen = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert stolen.status_code == 401
    assert await works(client, bearer(second)) == DEAD
    assert await works(client, bearer(first)) == DEAD


@pytest.mark.parametrize("field", ["role", "active", "password"])
async def test_changes_that_end_sessions_are_told_to_the_open_sockets(
    client, tenant: SeededTenant, field: str
) -> None:
    """Each writes one access.changed notice naming the user, in the change's transaction."""
    value = {"role": "supervisor", "active": False, "password": "a brand new passphrase"}[field]
    async with tenant.db.tenant(tenant.id) as conn:
        before = await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'access.changed'")
    changed = await client.patch(
        f"/api/v1/users/{tenant.other_collector.id}",
        json={field: value},
        headers=tenant.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT channels, data FROM outbox WHERE type = 'access.changed' ORDER BY id"
        )
    assert len(rows) == before + 1
    assert list(rows[-1]["channels"]) == ["access"]
    assert rows[-1]["data"] == {"users": [tenant.other_collector.id]}
