"""Signing in, token lifetimes, refresh rotation and reuse, sign-out, rate limits, API keys."""

from __future__ import annotations

import datetime as dt

import httpx
import jwt
import pytest

from config.settings import Settings
from server.app import create_app
from server.resources import Resources
from tests.conftest import SECRET, TEST_CLIENT_IP, asgi_client
from tests.factories import PASSWORD, SeededTenant

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
IP_KEY = f"recoup:login:ip:{TEST_CLIENT_IP}"


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD, **kw):  # type: ignore[no-untyped-def]
    return await client.post(LOGIN, json={"email": email, "password": password}, **kw)


async def test_login_returns_a_token_pair_that_works(client, tenant: SeededTenant) -> None:
    response = await login(client, tenant.admin.email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 15 * 60
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == tenant.admin.email


async def test_wrong_password_and_unknown_email_answer_alike(client, tenant: SeededTenant) -> None:
    wrong = await login(client, tenant.admin.email, "not the password")
    unknown = await login(client, f"nobody-{tenant.slug}@example.com")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == "e-mail or password is wrong"


async def test_expired_access_token_is_refused(client, tenants, tenant: SeededTenant) -> None:
    token = tenants.token_for(tenant.admin.id, tenant.id, "admin", ttl=-60)
    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_of_another_type_or_signature_is_refused(client, tenant: SeededTenant) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "sub": str(tenant.admin.id),
        "tid": tenant.id,
        "role": "admin",
        "jti": "x",
        "iat": now,
        "exp": now + 600,
        "iss": "recoup",
    }
    not_access = jwt.encode({**claims, "typ": "refresh"}, SECRET, algorithm="HS256")
    forged = jwt.encode({**claims, "typ": "access"}, "another-secret-" * 4, algorithm="HS256")
    unsigned = jwt.encode({**claims, "typ": "access"}, None, algorithm="none")
    for token in (not_access, forged, unsigned, "garbage"):
        response = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token


async def test_missing_or_malformed_authorization_is_401(client) -> None:
    assert (await client.get("/api/v1/accounts")).status_code == 401
    response = await client.get("/api/v1/accounts", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


async def test_refresh_rotates_the_token(client, tenant: SeededTenant) -> None:
    first = (await login(client, tenant.admin.email)).json()
    response = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    third = await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


async def test_reused_refresh_token_revokes_family(client, tenant: SeededTenant) -> None:
    first = (await login(client, tenant.admin.email)).json()
    second = (await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})).json()
    reuse = await client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert "already used" in reuse.json()["detail"]
    # The legitimate holder of the newest token is signed out too.
    after = await client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    # Another sign-in of the same user is a different family and keeps working.
    other = (await login(client, tenant.admin.email)).json()
    assert (
        await client.post(REFRESH, json={"refresh_token": other["refresh_token"]})
    ).status_code == 200
    async with tenant.db.tenant(tenant.id) as conn:
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_log WHERE entity_id = $1 AND action LIKE 'auth.%'",
                tenant.admin.id,
            )
        ]
    assert "auth.refresh_reuse" in actions


async def test_unknown_refresh_token_is_401(client) -> None:
    response = await client.post(REFRESH, json={"refresh_token": "rt_not-a-real-token"})
    assert response.status_code == 401


async def test_logout_revokes_refresh_and_access_tokens(client, tenant: SeededTenant) -> None:
    tokens = (await login(client, tenant.supervisor.email)).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
    response = await client.post(
        LOGOUT, json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert response.status_code == 204
    assert (
        await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 401


async def test_browser_session_keeps_refresh_token_in_an_httponly_cookie(
    client, tenant: SeededTenant
) -> None:
    session = {"X-Recoup-Session": "cookie"}
    response = await login(client, tenant.collector.email, headers=session)
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    refresh_cookie, hint = response.headers.get_list("set-cookie")
    for part in ("recoup_refresh=", "HttpOnly", "Path=/api/v1/auth", "SameSite=Strict"):
        assert part.lower() in refresh_cookie.lower(), refresh_cookie
    # Beside it, for the pages' scripts, only that a session exists.
    assert hint.startswith("recoup_signed_in=1;"), hint
    assert "path=/;" in hint.lower(), hint
    assert "samesite=strict" in hint.lower(), hint
    assert "httponly" not in hint.lower(), hint
    refreshed = await client.post(REFRESH, headers=session)
    assert refreshed.status_code == 200, refreshed.text
    assert "access_token" in refreshed.json()
    # Without the session header (what a cross-site form would send) the cookie is not used.
    assert (await client.post(REFRESH)).status_code == 403
    # Nor from another origin.
    foreign = await client.post(REFRESH, headers={**session, "Origin": "https://evil.example"})
    assert foreign.status_code == 403
    # Nor from this host under another scheme (a page served over plain HTTP by whoever
    # sits on the network, for a site reached over HTTPS).
    for origin in ("https://testserver", "http://testserver.evil.example", "null"):
        other = await client.post(REFRESH, headers={**session, "Origin": origin})
        assert other.status_code == 403, origin
    same = await client.post(REFRESH, headers={**session, "Origin": "http://testserver"})
    assert same.status_code == 200, same.text
    out = await client.post(LOGOUT, headers=session)
    assert out.status_code == 204
    assert [c.split(";")[0] for c in out.headers.get_list("set-cookie")] == [
        'recoup_refresh=""',
        'recoup_signed_in=""',
    ]
    assert not client.cookies
    client.cookies.clear()


async def test_a_token_in_the_body_signs_out_that_token_and_leaves_the_cookies(
    client, tenant: SeededTenant
) -> None:
    """Without the session header (a request another site's page could make), a refresh
    token sent in the body ends that sign-in alone: the browser's cookie session stays."""
    session = {"X-Recoup-Session": "cookie"}
    assert (await login(client, tenant.collector.email, headers=session)).status_code == 200
    other = (await login(client, tenant.collector.email)).json()  # a second, body-token sign-in
    out = await client.post(LOGOUT, json={"refresh_token": other["refresh_token"]})
    assert out.status_code == 204
    assert out.headers.get_list("set-cookie") == []
    assert "recoup_refresh" in client.cookies
    assert (
        await client.post(REFRESH, json={"refresh_token": other["refresh_token"]})
    ).status_code == 401
    assert (await client.post(REFRESH, headers=session)).status_code == 200
    # With the header from this origin, both end and both cookies go.
    third = (await login(client, tenant.collector.email)).json()
    out = await client.post(LOGOUT, json={"refresh_token": third["refresh_token"]}, headers=session)
    assert out.status_code == 204
    assert [c.split(";")[0] for c in out.headers.get_list("set-cookie")] == [
        'recoup_refresh=""',
        'recoup_signed_in=""',
    ]
    client.cookies.clear()
    assert (
        await client.post(REFRESH, json={"refresh_token": third["refresh_token"]})
    ).status_code == 401


async def test_a_refused_cookie_refresh_ends_both_cookies(client, tenant: SeededTenant) -> None:
    session = {"X-Recoup-Session": "cookie"}
    assert (await login(client, tenant.collector.email, headers=session)).status_code == 200
    old = client.cookies["recoup_refresh"]
    assert (await client.post(REFRESH, headers=session)).status_code == 200
    client.cookies.set("recoup_refresh", old, path="/api/v1/auth")  # used once already
    refused = await client.post(REFRESH, headers=session)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert [c.split(";")[0] for c in refused.headers.get_list("set-cookie")] == [
        'recoup_refresh=""',
        'recoup_signed_in=""',
    ]
    client.cookies.clear()


async def test_deactivated_user_is_answered_as_for_a_wrong_password(
    client, tenant: SeededTenant
) -> None:
    update = await client.patch(
        f"/api/v1/users/{tenant.readonly.id}", json={"active": False}, headers=tenant.admin.headers
    )
    assert update.status_code == 200
    right = await login(client, tenant.readonly.email)
    wrong = await login(client, tenant.readonly.email, "not the password")
    for response in (right, wrong):
        assert response.status_code == 401
        assert response.json()["detail"] == "e-mail or password is wrong"
        assert response.headers["www-authenticate"] == "Bearer"
    # The right password confirms nothing, and the attempt is audited as a failure.
    assert {k: v for k, v in right.json().items() if k != "request_id"} == {
        k: v for k, v in wrong.json().items() if k != "request_id"
    }
    audit = await client.get(
        "/api/v1/audit",
        params={"entity_type": "user", "entity_id": tenant.readonly.id},
        headers=tenant.admin.headers,
    )
    actions = [row["action"] for row in audit.json()["items"]]
    assert actions.count("auth.login_failed") >= 2
    assert "auth.login" not in actions


@pytest.fixture
async def strict_client(settings: Settings, resources: Resources):  # type: ignore[no-untyped-def]
    """An app whose login limits are low enough to reach in a test."""
    from msgspec.structs import replace

    strict = replace(settings, login_limit_per_email=3, login_limit_per_ip=6)
    strict_resources = await Resources.open(strict, application_name="recoup-tests-strict")
    app = create_app(strict, resources=strict_resources)
    # Every test client comes from one address; start this one's count at zero.
    await strict_resources.redis.delete(IP_KEY)
    async with asgi_client(app) as test_client:
        yield test_client
    await strict_resources.redis.delete(IP_KEY)
    await strict_resources.close()


async def test_login_is_rate_limited_per_email(strict_client, tenant: SeededTenant) -> None:
    for _ in range(3):
        assert (await login(strict_client, tenant.admin.email, "wrong")).status_code == 401
    limited = await login(strict_client, tenant.admin.email)  # even the right password
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.json()["retry_after"] == int(limited.headers["retry-after"])


async def test_login_is_rate_limited_per_address(strict_client, tenants) -> None:
    statuses = []
    for _ in range(7):
        other = await tenants.new(with_accounts=False)
        statuses.append((await login(strict_client, other.admin.email, "wrong")).status_code)
    assert statuses[-1] == 429
    assert "address" in (await login(strict_client, "x@y.test", "z")).json()["detail"]


async def test_api_key_scopes_and_revocation(client, tenant: SeededTenant) -> None:
    admin = tenant.admin.headers
    created = await client.post(
        "/api/v1/api-keys", json={"name": "crm sync", "scopes": ["accounts:read"]}, headers=admin
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith(created.json()["prefix"] + "_")
    listed = (await client.get("/api/v1/api-keys", headers=admin)).json()["items"]
    assert all("key" not in k for k in listed)
    key_headers = {"Authorization": f"Bearer {key}"}

    assert (await client.get("/api/v1/accounts", headers=key_headers)).status_code == 200
    refused = await client.post(
        "/api/v1/accounts",
        json={"external_ref": "K-1", "currency": "USD", "principal": "1.00", "debtor": {}},
        headers=key_headers,
    )
    assert refused.status_code == 403
    assert "accounts:write" in refused.json()["detail"]
    # Keys never reach user administration, whatever their scopes.
    assert (await client.get("/api/v1/users", headers=key_headers)).status_code == 403

    key_row = (await client.get(f"/api/v1/api-keys/{created.json()['id']}", headers=admin)).json()
    assert key_row["last_used_at"] is not None

    revoked = await client.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    after = await client.get("/api/v1/accounts", headers=key_headers)
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]


async def test_tampered_api_key_is_refused(client, tenant: SeededTenant) -> None:
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "scopes": ["accounts:read"]},
        headers=tenant.admin.headers,
    )
    key = created.json()["key"]
    tampered = key[:-3] + ("aaa" if not key.endswith("aaa") else "bbb")
    response = await client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401


async def test_unknown_scope_is_refused_at_creation(client, tenant: SeededTenant) -> None:
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "x", "scopes": ["everything"]},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
