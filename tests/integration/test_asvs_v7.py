"""OWASP ASVS 5.0, V7 Session Management: a test for each level 1 and 2 requirement that
applies to Recoup, named after it (docs/security.md holds the table)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import re
import uuid

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from channels.protocol import CLOSE_SIGNED_OUT
from config.settings import Settings
from domain.auth.tokens import issue_access_token
from domain.clock import utcnow
from server.resources import Resources
from tests.conftest import SECRET
from tests.factories import PASSWORD, SeededTenant
from tests.integration.asvs_helpers import (
    COOKIE_SESSION,
    LOGIN,
    LOGOUT,
    ME,
    USERS,
    bearer,
    browser,
    claims_of,
    closed_with,
    doc_section,
    login_status,
    me,
    refresh,
    sign_in,
    still_open,
)

TICKET = "/api/v1/realtime/ticket"
SCREENS = ("/", "/accounts", "/accounts/1", "/queue", "/admin")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def set_refresh_token(tenant: SeededTenant, tokens: dict, **values: dt.datetime) -> None:
    """Move a refresh token in time (``created_at``, ``expires_at``): a clock of our own."""
    sets = ", ".join(f"{column} = ${i}" for i, column in enumerate(values, start=2))
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            f"UPDATE refresh_tokens SET {sets} WHERE token_hash = $1",
            token_hash(tokens["refresh_token"]),
            *values.values(),
        )


async def end_of_sign_in(tenant: SeededTenant, tokens: dict) -> set[dt.datetime]:
    """When the sign-in of ``tokens`` ends, by each of its refresh tokens."""
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT expires_at FROM refresh_tokens WHERE family_id = $1",
            uuid.UUID(claims_of(tokens["access_token"])["sid"]),
        )
    return {r["expires_at"] for r in rows}


async def socket_of(client: httpx.AsyncClient, live_server: str, token: str) -> ClientConnection:
    issued = await client.post(TICKET, headers=bearer(token))
    assert issued.status_code == 200, issued.text
    url = live_server.replace("http://", "ws://") + f"/ws?ticket={issued.json()['ticket']}"
    return await connect(url)


# V7.1 Session management documentation -----------------------------------------------------


def test_asvs_v7_1_1_session_lifetimes_are_documented_as_configured() -> None:
    lifetimes = Settings()
    section = doc_section("V7 Session management")
    for documented in (
        f"{lifetimes.access_token_ttl // 60} minutes (`ACCESS_TOKEN_TTL`)",
        f"{lifetimes.refresh_token_ttl // 60} minutes (`REFRESH_TOKEN_TTL`)",
        f"{lifetimes.session_max_age // 3600} hours (`SESSION_MAX_AGE`)",
        "NIST SP 800-63B",
    ):
        assert documented in section, documented


async def test_asvs_v7_1_2_concurrent_sign_ins_are_allowed_and_end_one_by_one(
    client, tenant: SeededTenant
) -> None:
    assert "as many sign-ins at once" in doc_section("V7 Session management")
    first, second, third = [await sign_in(client, tenant.collector.email) for _ in range(3)]
    assert [await me(client, t) for t in (first, second, third)] == [200, 200, 200]
    out = await client.post(LOGOUT, json={"refresh_token": second["refresh_token"]})
    assert out.status_code == 204
    assert [await me(client, t) for t in (first, second, third)] == [200, 401, 200]


# V7.2 Fundamental session management security ----------------------------------------------


async def test_asvs_v7_2_1_the_server_verifies_every_token_against_its_own_records(
    client, tenant: SeededTenant
) -> None:
    tokens = await sign_in(client, tenant.collector.email)
    assert await me(client, tokens) == 200
    head, _, signature = tokens["access_token"].split(".")
    claims = claims_of(tokens["access_token"])
    promoted = json.dumps({**claims, "role": "admin"}).encode()
    payload = base64.urlsafe_b64encode(promoted).rstrip(b"=").decode()
    assert await me(client, f"{head}.{payload}.{signature}") == 401  # the signature fails
    # Revoked in the database only (no notice, nothing sent to the client): refused at once.
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1",
            uuid.UUID(claims["sid"]),
        )
    assert await me(client, tokens) == 401


async def test_asvs_v7_2_2_each_sign_in_gets_tokens_of_its_own_not_a_static_secret(
    client, tenant: SeededTenant
) -> None:
    one, two = [await sign_in(client, tenant.supervisor.email) for _ in range(2)]
    assert one["access_token"] != two["access_token"]
    assert one["refresh_token"] != two["refresh_token"]
    assert claims_of(one["access_token"])["sid"] != claims_of(two["access_token"])["sid"]
    rotated = (await refresh(client, one)).json()
    assert rotated["refresh_token"] != one["refresh_token"]
    # An integrator's API key is a static secret: it never stands for a person's session.
    key = await client.post(
        "/api/v1/api-keys",
        json={"name": "crm", "scopes": ["accounts:read"]},
        headers=tenant.admin.headers,
    )
    as_key = bearer(key.json()["key"])
    assert (await client.get(ME, headers=as_key)).status_code == 403
    everywhere = await client.post(f"{ME}/sign-out-everywhere", headers=as_key)
    assert everywhere.status_code == 403


async def test_asvs_v7_2_3_reference_tokens_are_unique_random_and_at_least_128_bits(
    client, tenant: SeededTenant
) -> None:
    pairs = [await sign_in(client, tenant.readonly.email) for _ in range(12)]
    refresh_tokens = [p["refresh_token"] for p in pairs]
    tickets = [
        (await client.post(TICKET, headers=bearer(pairs[0]))).json()["ticket"] for _ in range(12)
    ]
    for made in (refresh_tokens, tickets):
        assert len(set(made)) == len(made)
        for token in made:
            random_part = token.removeprefix("rt_")
            assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", random_part), token  # 6 bits each
    async with tenant.db.tenant(tenant.id) as conn:
        stored = {
            r["token_hash"] for r in await conn.fetch("SELECT token_hash FROM refresh_tokens")
        }
    assert {token_hash(t) for t in refresh_tokens} <= stored  # kept as SHA-256 only
    assert not stored & set(refresh_tokens)


async def test_asvs_v7_2_4_signing_in_again_replaces_and_ends_the_current_session(
    client, settings: Settings, resources: Resources, tenant: SeededTenant
) -> None:
    credentials = {"email": tenant.admin.email, "password": PASSWORD}
    async with browser(settings, resources) as tab:
        first = await tab.post(LOGIN, json=credentials, headers=COOKIE_SESSION)
        old_cookie = tab.cookies["recoup_refresh"]
        again = await tab.post(LOGIN, json=credentials, headers=COOKIE_SESSION)
        assert again.status_code == 200, again.text
        assert tab.cookies["recoup_refresh"] != old_cookie
        assert again.json()["access_token"] != first.json()["access_token"]
        # The session this browser held ends: its access token and its refresh token.
        assert await me(tab, first.json()) == 401
        assert (await refresh(tab, {"refresh_token": old_cookie})).status_code == 401
        assert await me(tab, again.json()) == 200
        # A sign-in elsewhere (without this browser's cookie) leaves this one standing.
        await sign_in(client, tenant.admin.email)
        assert await me(tab, again.json()) == 200
        assert (await tab.post("/api/v1/auth/refresh", headers=COOKIE_SESSION)).status_code == 200


# V7.3 Session timeout ----------------------------------------------------------------------


async def test_asvs_v7_3_1_a_sign_in_unused_for_the_inactivity_limit_ends(
    client, settings: Settings, tenant: SeededTenant
) -> None:
    idle = dt.timedelta(seconds=settings.refresh_token_ttl)
    tokens = await sign_in(client, tenant.collector.email)
    await set_refresh_token(tenant, tokens, created_at=utcnow() - idle + dt.timedelta(minutes=1))
    rotated = await refresh(client, tokens)
    assert rotated.status_code == 200, rotated.text  # a minute short of the limit: still on
    await set_refresh_token(tenant, rotated.json(), created_at=utcnow() - idle)
    expired = await refresh(client, rotated.json())
    assert expired.status_code == 401
    assert "sign in again" in expired.json()["detail"]


async def test_asvs_v7_3_2_a_sign_in_ends_at_its_absolute_lifetime_however_often_refreshed(
    client, settings: Settings, tenant: SeededTenant
) -> None:
    tokens = await sign_in(client, tenant.collector.email)
    (ends,) = await end_of_sign_in(tenant, tokens)
    lifetime = dt.timedelta(seconds=settings.session_max_age)
    assert abs(ends - (utcnow() + lifetime)) < dt.timedelta(minutes=1)
    for _ in range(3):
        tokens = (await refresh(client, tokens)).json()
    assert await end_of_sign_in(tenant, tokens) == {ends}  # refreshing does not extend it
    # Close to its end, an access token lasts only until then.
    soon = utcnow() + dt.timedelta(seconds=90)
    await set_refresh_token(tenant, tokens, expires_at=soon)
    last = (await refresh(client, tokens)).json()
    assert last["expires_in"] <= 90
    assert claims_of(last["access_token"])["exp"] <= soon.timestamp() + 1
    await set_refresh_token(tenant, last, expires_at=utcnow() - dt.timedelta(seconds=1))
    assert (await refresh(client, last)).status_code == 401


async def test_asvs_v7_3_2_an_open_socket_ends_with_its_sign_in(
    client, live_server: str, tenant: SeededTenant
) -> None:
    sockets = []
    for user in (tenant.collector, tenant.other_collector):
        tokens = await sign_in(client, user.email)
        claims = claims_of(tokens["access_token"])
        # Its access token expires in two seconds: the socket is checked then.
        short, _ = issue_access_token(
            SECRET,
            user_id=user.id,
            tenant_id=tenant.id,
            role=user.role,
            ttl=2,
            now=utcnow(),
            sign_in=uuid.UUID(claims["sid"]),
            version=claims["ver"],
        )
        sockets.append((tokens, await socket_of(client, live_server, short)))
    (over, ended), (_, going_on) = sockets
    await set_refresh_token(tenant, over, expires_at=utcnow() - dt.timedelta(seconds=1))
    assert await closed_with(ended) == CLOSE_SIGNED_OUT
    await asyncio.sleep(6)  # another sweep: the other one was checked too, and stays
    assert await still_open(going_on)
    await going_on.close()


# V7.4 Session termination ------------------------------------------------------------------


@pytest.mark.usefixtures("relay")
async def test_asvs_v7_4_1_logout_disallows_further_use_of_the_session(
    client, live_server: str, tenant: SeededTenant
) -> None:
    tokens = await sign_in(client, tenant.supervisor.email)
    ws = await socket_of(client, live_server, tokens["access_token"])
    out = await client.post(
        LOGOUT, json={"refresh_token": tokens["refresh_token"]}, headers=bearer(tokens)
    )
    assert out.status_code == 204
    assert await me(client, tokens) == 401
    assert (await refresh(client, tokens)).status_code == 401
    assert (await client.post(TICKET, headers=bearer(tokens))).status_code == 401
    assert await closed_with(ws) == CLOSE_SIGNED_OUT


@pytest.mark.usefixtures("relay")
async def test_asvs_v7_4_2_disabling_a_user_ends_all_their_sessions(
    client, live_server: str, tenant: SeededTenant
) -> None:
    user = tenant.other_collector
    first, second = [await sign_in(client, user.email) for _ in range(2)]
    ws = await socket_of(client, live_server, first["access_token"])
    off = await client.patch(
        f"{USERS}/{user.id}", json={"active": False}, headers=tenant.admin.headers
    )
    assert off.status_code == 200
    assert [await me(client, t) for t in (first, second)] == [401, 401]
    assert [(await refresh(client, t)).status_code for t in (first, second)] == [401, 401]
    assert await closed_with(ws) == CLOSE_SIGNED_OUT
    assert await login_status(client, user.email, PASSWORD) == 401


async def test_asvs_v7_4_3_a_new_password_ends_the_other_sessions(
    client, tenant: SeededTenant
) -> None:
    user = tenant.collector
    here, elsewhere = [await sign_in(client, user.email) for _ in range(2)]
    changed = await client.patch(
        ME,
        json={"password": "saffron ferry timetable", "current_password": PASSWORD},
        headers=bearer(here),
    )
    assert changed.status_code == 200, changed.text
    # Every session ends, this one included: the new password signs in afresh.
    assert [await me(client, t) for t in (here, elsewhere)] == [401, 401]
    assert [(await refresh(client, t)).status_code for t in (here, elsewhere)] == [401, 401]
    assert await me(client, await sign_in(client, user.email, "saffron ferry timetable")) == 200


async def test_asvs_v7_4_4_every_signed_in_screen_offers_sign_out(client) -> None:
    for path in SCREENS:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert re.search(r'<button[^>]*id="sign-out"', page.text), path
    frame = (await client.get("/static/js/app.js")).text
    assert 'querySelector("#sign-out")' in frame
    assert "await signOut()" in frame
    assert "sign-out" not in (await client.get("/login")).text


async def test_asvs_v7_4_5_admins_end_the_sessions_of_one_user_or_of_everyone(
    client, tenant: SeededTenant
) -> None:
    user = tenant.collector
    tokens = await sign_in(client, user.email)
    path = f"{USERS}/{user.id}/sign-out-everywhere"
    assert (await client.post(path, headers=tenant.supervisor.headers)).status_code == 403
    assert await me(client, tokens) == 200
    assert (await client.post(path, headers=tenant.admin.headers)).status_code == 204
    assert await me(client, tokens) == 401
    # Everyone: one call per user, the admin's own session last.
    everyone = {role: await sign_in(client, u.email) for role, u in tenant.users.items()}
    admin = bearer(everyone["admin"])
    listed = (await client.get(USERS, params={"limit": 200}, headers=admin)).json()["items"]
    for listed_user in sorted(listed, key=lambda u: u["id"] == tenant.admin.id):
        ended = await client.post(f"{USERS}/{listed_user['id']}/sign-out-everywhere", headers=admin)
        assert ended.status_code == 204
    assert {await me(client, t) for t in everyone.values()} == {401}


# V7.5 Defenses against session abuse -------------------------------------------------------


async def test_asvs_v7_5_1_what_signs_a_user_in_changes_only_with_their_password(
    client, tenant: SeededTenant
) -> None:
    user = tenant.readonly
    no_password = await client.patch(
        ME, json={"password": "amber quay lighthouse"}, headers=user.headers
    )
    assert no_password.status_code == 422
    # The e-mail one signs in with cannot be changed, by its user or by an admin.
    email = {"email": f"taken-over@{tenant.slug}.test"}
    assert (await client.patch(ME, json=email, headers=user.headers)).status_code == 422
    by_admin = await client.patch(f"{USERS}/{user.id}", json=email, headers=tenant.admin.headers)
    assert by_admin.status_code == 422
    assert await login_status(client, user.email, PASSWORD) == 200
    with_password = await client.patch(
        ME,
        json={"password": "amber quay lighthouse", "current_password": PASSWORD},
        headers=user.headers,
    )
    assert with_password.status_code == 200
