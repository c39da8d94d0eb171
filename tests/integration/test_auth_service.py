"""Signing in, refreshing and signing out at the service, with a fixed clock: the limits of
a sign-in's lifetime and of inactivity, the rows each outcome leaves (refresh tokens, audit,
access events) and the exact refusal of each failure."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import jwt
import pytest

from domain.actor import Actor, Session
from domain.auth import queries
from domain.auth.service import INVALID_CREDENTIALS, AuthService
from domain.auth.tokens import digest
from domain.db import Database
from domain.errors import Unauthenticated
from tests.conftest import SECRET
from tests.factories import PASSWORD, SeededTenant, SeededUser

START = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
ACCESS_TTL = 900
REFRESH_TTL = 1800
MAX_AGE = 3600


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(db: Database, clock: Clock) -> AuthService:
    return AuthService(
        db,
        secret=SECRET,
        access_ttl=ACCESS_TTL,
        refresh_ttl=REFRESH_TTL,
        max_age=MAX_AGE,
        clock=clock,
    )


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})


async def refusal(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Unauthenticated) as refused:
        await call
    return str(refused.value)


async def token_rows(tenant: SeededTenant, user: SeededUser) -> list[dict[str, Any]]:
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            """SELECT family_id, token_hash, created_at, expires_at, used_at, revoked_at
            FROM refresh_tokens WHERE user_id = $1 ORDER BY id""",
            user.id,
        )
    return [dict(r) for r in rows]


async def audit_rows(tenant: SeededTenant, user: SeededUser) -> list[dict[str, Any]]:
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            """SELECT actor_type, actor_id, action, entity_type, entity_id, before, after,
              request_id, occurred_at
            FROM audit_log WHERE entity_type = 'user' AND entity_id = $1 ORDER BY id""",
            user.id,
        )
    return [dict(r) for r in rows]


async def access_events(tenant: SeededTenant) -> list[dict[str, Any]]:
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            """SELECT channels, data, occurred_at FROM outbox
            WHERE tenant_id = $1 AND type = 'access.changed' ORDER BY id""",
            tenant.id,
        )
    return [
        {
            "channels": r["channels"],
            "data": json.loads(r["data"]) if isinstance(r["data"], str) else r["data"],
            "occurred_at": r["occurred_at"],
        }
        for r in rows
    ]


def audit(user: SeededUser, action: str, at: dt.datetime, **fields: Any) -> dict[str, Any]:
    return {
        "actor_type": "user",
        "actor_id": user.id,
        "action": action,
        "entity_type": "user",
        "entity_id": user.id,
        "before": None,
        "after": None,
        "request_id": None,
        "occurred_at": at,
        **fields,
    }


async def test_signing_in_issues_tokens_of_a_new_sign_in_and_audits_it(
    auth: AuthService, tenant: SeededTenant
) -> None:
    user = tenant.supervisor
    tokens = await auth.login(f"  {user.email} ", PASSWORD, request_id="req-login")
    access = claims(tokens.access_token)
    assert tokens.expires_in == ACCESS_TTL
    assert (access["sub"], access["tid"], access["role"], access["ver"]) == (
        str(user.id),
        tenant.id,
        "supervisor",
        1,
    )
    assert (access["iat"], access["exp"]) == (
        int(START.timestamp()),
        int(START.timestamp()) + ACCESS_TTL,
    )
    assert tokens.refresh_token.startswith("rt_")
    (row,) = await token_rows(tenant, user)
    assert row == {
        "family_id": uuid.UUID(access["sid"]),
        "token_hash": digest(tokens.refresh_token),
        "created_at": START,
        "expires_at": START + dt.timedelta(seconds=MAX_AGE),
        "used_at": None,
        "revoked_at": None,
    }
    assert await audit_rows(tenant, user) == [
        audit(user, "auth.login", START, request_id="req-login")
    ]
    async with tenant.db.tenant(tenant.id) as conn:
        last = await conn.fetchval("SELECT last_login_at FROM users WHERE id = $1", user.id)
    assert last == START


async def test_each_failed_sign_in_is_refused_alike_once_audited(
    auth: AuthService, db: Database, tenant: SeededTenant
) -> None:
    user = tenant.readonly
    wrong = await refusal(auth.login(user.email, "not the password", request_id="req-1"))
    async with db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET active = false WHERE id = $1", user.id)
    inactive = await refusal(auth.login(user.email, PASSWORD))
    unknown = await refusal(auth.login(f"nobody@{tenant.slug}.test", PASSWORD))
    assert [wrong, inactive, unknown] == [INVALID_CREDENTIALS] * 3
    assert INVALID_CREDENTIALS == "e-mail or password is wrong"
    assert await audit_rows(tenant, user) == [
        audit(user, "auth.login_failed", START, request_id="req-1"),
        audit(user, "auth.login_failed", START),
    ]
    assert await token_rows(tenant, user) == []


async def test_a_user_without_a_password_cannot_sign_in(
    auth: AuthService, db: Database, tenant: SeededTenant
) -> None:
    email = f"no-password@{tenant.slug}.test"
    async with db.tenant(tenant.id) as conn:
        await conn.execute(
            "INSERT INTO users (tenant_id, email, name, role) VALUES ($1, $2, 'No One', 'admin')",
            tenant.id,
            email,
        )
    # Not even with the password of the hash that stands in for a missing one.
    for password in ("recoup-timing-equaliser", "", PASSWORD):
        assert await refusal(auth.login(email, password)) == INVALID_CREDENTIALS


async def test_an_access_token_never_outlives_its_sign_in(
    auth: AuthService, clock: Clock, tenant: SeededTenant
) -> None:
    tokens = await auth.login(tenant.collector.email, PASSWORD)
    ends = int(START.timestamp()) + MAX_AGE
    lifetimes = []
    # Refreshed within the inactivity limit each time, up to the sign-in's end.
    for at in (1500, MAX_AGE - ACCESS_TTL, MAX_AGE - 90, MAX_AGE - 1, MAX_AGE - 0.5):
        clock.now = START + dt.timedelta(seconds=at)
        tokens = await auth.refresh(tokens.refresh_token)
        access = claims(tokens.access_token)
        assert access["exp"] - access["iat"] == tokens.expires_in
        lifetimes.append(tokens.expires_in)
    # The full access lifetime while the sign-in has more; then only what it has left, and
    # never less than a second.
    assert lifetimes == [ACCESS_TTL, ACCESS_TTL, 90, 1, 1]
    assert access["exp"] == ends
    (row,) = [r for r in await token_rows(tenant, tenant.collector) if r["used_at"] is None]
    assert row["expires_at"] == START + dt.timedelta(seconds=MAX_AGE)
    clock.now = START + dt.timedelta(seconds=MAX_AGE)
    assert await refusal(auth.refresh(tokens.refresh_token)) == (
        "refresh token expired or revoked; sign in again"
    )


async def test_a_refresh_token_lives_until_the_inactivity_limit_and_not_at_it(
    auth: AuthService, clock: Clock, tenant: SeededTenant
) -> None:
    user = tenant.collector
    first = await auth.login(user.email, PASSWORD)
    clock.move(REFRESH_TTL - 1)
    second = await auth.refresh(first.refresh_token)
    assert claims(second.access_token)["sid"] == claims(first.access_token)["sid"]
    clock.move(REFRESH_TTL)
    assert await refusal(auth.refresh(second.refresh_token)) == (
        "refresh token expired or revoked; sign in again"
    )
    used, idle = await token_rows(tenant, user)
    assert (used["used_at"], used["revoked_at"]) == (START + dt.timedelta(seconds=1799), None)
    # Left to die, not revoked: nothing was stolen.
    assert (idle["used_at"], idle["revoked_at"]) == (None, None)
    assert [row["action"] for row in await audit_rows(tenant, user)] == ["auth.login"]


async def test_a_refresh_keeps_the_sign_in_and_takes_the_users_role_and_version_now(
    auth: AuthService, clock: Clock, db: Database, tenant: SeededTenant
) -> None:
    user = tenant.supervisor
    first = await auth.login(user.email, PASSWORD)
    async with db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE users SET role = 'readonly', session_version = 7 WHERE id = $1", user.id
        )
    clock.move(60)
    second = await auth.refresh(first.refresh_token)
    access = claims(second.access_token)
    assert (access["role"], access["ver"], access["iat"]) == (
        "readonly",
        7,
        int(START.timestamp()) + 60,
    )
    spent, fresh = await token_rows(tenant, user)
    assert spent["used_at"] == START + dt.timedelta(seconds=60)
    assert fresh == {
        "family_id": spent["family_id"],
        "token_hash": digest(second.refresh_token),
        "created_at": START + dt.timedelta(seconds=60),
        "expires_at": START + dt.timedelta(seconds=MAX_AGE),
        "used_at": None,
        "revoked_at": None,
    }


async def test_a_spent_token_presented_again_ends_the_whole_sign_in(
    auth: AuthService, clock: Clock, tenant: SeededTenant
) -> None:
    user = tenant.other_collector
    first = await auth.login(user.email, PASSWORD)
    other = await auth.login(user.email, PASSWORD)
    clock.move(10)
    await auth.refresh(first.refresh_token)
    clock.move(10)
    assert await refusal(auth.refresh(first.refresh_token)) == (
        "refresh token was already used; every session of this sign-in is revoked"
    )
    ended = START + dt.timedelta(seconds=20)
    family = claims(first.access_token)["sid"]
    rows = await token_rows(tenant, user)
    assert [(str(r["family_id"]) == family, r["revoked_at"]) for r in rows] == [
        (True, ended),
        (False, None),
        (True, ended),
    ]
    assert (await audit_rows(tenant, user))[-1] == audit(
        user, "auth.refresh_reuse", ended, after={"family_id": family}
    )
    assert (await access_events(tenant))[-1] == {
        "channels": ["access"],
        "data": {"users": [user.id]},
        "occurred_at": ended,
    }
    # Revoked now, not reused: refused, and revoked once only.
    clock.move(10)
    assert await refusal(auth.refresh(first.refresh_token)) == (
        "refresh token expired or revoked; sign in again"
    )
    assert [row["action"] for row in await audit_rows(tenant, user)] == [
        "auth.login",
        "auth.login",
        "auth.refresh_reuse",
    ]
    assert (await auth.refresh(other.refresh_token)).expires_in == ACCESS_TTL


async def test_a_deactivated_users_refresh_ends_the_sign_in(
    auth: AuthService, clock: Clock, db: Database, tenant: SeededTenant
) -> None:
    user = tenant.readonly
    tokens = await auth.login(user.email, PASSWORD)
    async with db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET active = false WHERE id = $1", user.id)
    clock.move(30)
    assert await refusal(auth.refresh(tokens.refresh_token)) == (
        "refresh token expired or revoked; sign in again"
    )
    at = START + dt.timedelta(seconds=30)
    (row,) = await token_rows(tenant, user)
    assert (row["used_at"], row["revoked_at"]) == (at, at)
    family = claims(tokens.access_token)["sid"]
    assert (await audit_rows(tenant, user))[-1] == audit(
        user, "auth.refresh_inactive", at, after={"family_id": family}
    )


async def test_an_unknown_refresh_token_is_refused(auth: AuthService) -> None:
    assert await refusal(auth.refresh("rt_not-a-real-token")) == "refresh token is not valid"


async def test_signing_out_revokes_the_sign_in_once_and_ignores_unknown_tokens(
    auth: AuthService, clock: Clock, tenant: SeededTenant
) -> None:
    user = tenant.admin
    tokens = await auth.login(user.email, PASSWORD)
    other = await auth.login(user.email, PASSWORD)
    clock.move(5)
    await auth.logout(tokens.refresh_token)
    await auth.logout(tokens.refresh_token)  # already out: nothing more happens
    await auth.logout("rt_not-a-real-token")
    out = START + dt.timedelta(seconds=5)
    assert [r["revoked_at"] for r in await token_rows(tenant, user)] == [out, None]
    family = claims(tokens.access_token)["sid"]
    assert (await audit_rows(tenant, user))[2:] == [
        audit(user, "auth.logout", out, after={"family_id": family})
    ]
    assert (await access_events(tenant))[-1]["data"] == {"users": [user.id]}
    assert (await auth.refresh(other.refresh_token)).expires_in == ACCESS_TTL


async def test_signing_out_with_an_access_token_ends_its_own_sign_in(
    auth: AuthService, clock: Clock, tenant: SeededTenant
) -> None:
    user = tenant.collector
    tokens = await auth.login(user.email, PASSWORD)
    other = await auth.login(user.email, PASSWORD)
    access = claims(tokens.access_token)
    session = Session(sign_in=uuid.UUID(access["sid"]), version=1, expires_at=access["exp"])
    actor = Actor(tenant_id=tenant.id, type="user", id=user.id, role="collector")
    clock.move(5)
    # Without a session (or a user id) there is nothing to end.
    await auth.end_sign_in(actor)
    await auth.end_sign_in(Actor(tenant_id=tenant.id, type="api_key", session=session))
    assert [r["revoked_at"] for r in await token_rows(tenant, user)] == [None, None]
    await auth.end_sign_in(Actor(tenant_id=tenant.id, type="user", id=user.id, session=session))
    out = START + dt.timedelta(seconds=5)
    assert [r["revoked_at"] for r in await token_rows(tenant, user)] == [out, None]
    assert (await audit_rows(tenant, user))[-1] == audit(
        user, "auth.logout", out, after={"family_id": access["sid"]}
    )
    assert (await auth.refresh(other.refresh_token)).expires_in == ACCESS_TTL


async def test_pruning_deletes_the_tokens_that_ended_before_the_cutoff(
    db: Database, tenant: SeededTenant
) -> None:
    # Long before any other test's tokens, so that the count is this test's alone.
    cutoff = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
    user = tenant.collector
    async with db.tenant(tenant.id) as conn:
        for ends in (cutoff - dt.timedelta(microseconds=1), cutoff):
            await queries.insert_refresh_token(
                conn,
                tenant_id=tenant.id,
                user_id=user.id,
                family_id=uuid.uuid4(),
                token_hash=digest(f"rt_{ends.isoformat()}_{tenant.id}"),
                created_at=ends - dt.timedelta(hours=1),
                expires_at=ends,
            )
    async with db.system() as conn:
        assert await queries.prune_refresh_tokens(conn, cutoff) == 1
        assert await queries.prune_refresh_tokens(conn, cutoff) == 0
    assert [row["expires_at"] for row in await token_rows(tenant, user)] == [cutoff]


async def test_a_user_removed_while_signing_in_is_refused_alike_once_audited(
    auth: AuthService, db: Database, monkeypatch: pytest.MonkeyPatch, tenant: SeededTenant
) -> None:
    email = f"leaving@{tenant.slug}.test"
    async with db.tenant(tenant.id) as conn:
        user_id = await conn.fetchval(
            """INSERT INTO users (tenant_id, email, name, role, password_hash)
            SELECT tenant_id, $2, 'Leaving Soon', role, password_hash FROM users WHERE id = $1
            RETURNING id""",
            tenant.collector.id,
            email,
        )
    find_login = queries.find_login

    async def found_then_removed(conn, email):  # type: ignore[no-untyped-def]
        found = await find_login(conn, email)
        async with db.system() as other:
            await other.execute("DELETE FROM users WHERE id = $1", user_id)
        return found

    monkeypatch.setattr(queries, "find_login", found_then_removed)
    # The right password of a user who is gone between the look-up and the read.
    assert await refusal(auth.login(email, PASSWORD, request_id="req-gone")) == (
        INVALID_CREDENTIALS
    )
    async with db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            """SELECT actor_id, action, entity_id, request_id FROM audit_log
            WHERE entity_type = 'user' AND entity_id = $1""",
            user_id,
        )
    assert [dict(r) for r in rows] == [
        {
            "actor_id": user_id,
            "action": "auth.login_failed",
            "entity_id": user_id,
            "request_id": "req-gone",
        }
    ]


async def test_a_refresh_token_pruned_while_presented_is_not_valid(
    auth: AuthService, db: Database, monkeypatch: pytest.MonkeyPatch, tenant: SeededTenant
) -> None:
    user = tenant.collector
    tokens = await auth.login(user.email, PASSWORD)
    find_refresh_token = queries.find_refresh_token

    async def found_then_pruned(conn, token_hash):  # type: ignore[no-untyped-def]
        found = await find_refresh_token(conn, token_hash)
        async with db.system() as other:
            await other.execute("DELETE FROM refresh_tokens WHERE id = $1", found["token_id"])
        return found

    monkeypatch.setattr(queries, "find_refresh_token", found_then_pruned)
    assert await refusal(auth.refresh(tokens.refresh_token)) == "refresh token is not valid"
    assert [row["action"] for row in await audit_rows(tenant, user)] == ["auth.login"]
