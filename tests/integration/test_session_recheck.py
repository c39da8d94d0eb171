"""Whether an identity still stands, as an open socket asks it (``domain.auth.sessions``), at
a fixed instant: each way a user's session, an API key or a payment link ends, and both sides
of every end in time."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from domain.actor import Actor, Session
from domain.auth import queries
from domain.auth.sessions import recheck
from domain.auth.tokens import digest
from domain.db import Database
from domain.payments import queries as payment_queries
from tests.factories import SeededTenant, SeededUser

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def at_now() -> dt.datetime:
    return NOW


def user_actor(user: SeededUser, sign_in: uuid.UUID, version: int = 1) -> Actor:
    return Actor(
        tenant_id=user.tenant_id,
        type="user",
        id=user.id,
        role=user.role,
        session=Session(sign_in=sign_in, version=version, expires_at=int(NOW.timestamp()) + 900),
    )


async def sign_in_ending(db: Database, user: SeededUser, ends_at: dt.datetime) -> uuid.UUID:
    """A sign-in with one refresh token, issued a minute ago and ending at ``ends_at``."""
    family = uuid.uuid4()
    async with db.tenant(user.tenant_id) as conn:
        await queries.insert_refresh_token(
            conn,
            tenant_id=user.tenant_id,
            user_id=user.id,
            family_id=family,
            token_hash=digest(f"rt_{family}"),
            created_at=NOW - dt.timedelta(minutes=1),
            expires_at=ends_at,
        )
    return family


async def test_a_standing_sign_in_stands_as_it_was(db: Database, tenant: SeededTenant) -> None:
    user = tenant.collector
    # Without refresh tokens (as a test's own token is): neither revoked nor over.
    bare = user_actor(user, uuid.uuid4())
    assert await recheck(db, bare, at_now) is bare
    family = await sign_in_ending(db, user, NOW + SECOND)
    actor = user_actor(user, family)
    assert await recheck(db, actor, at_now) is actor


async def test_a_sign_in_ends_at_its_last_instant(db: Database, tenant: SeededTenant) -> None:
    user = tenant.collector
    ending_now = await sign_in_ending(db, user, NOW)
    assert await recheck(db, user_actor(user, ending_now), at_now) is None
    # The clock given is the one asked: a second earlier, the same sign-in stood.
    actor = user_actor(user, ending_now)
    assert await recheck(db, actor, lambda: NOW - SECOND) is actor


async def test_a_revoked_sign_in_ends_but_another_of_the_same_user_stands(
    db: Database, tenant: SeededTenant
) -> None:
    user = tenant.supervisor
    revoked = await sign_in_ending(db, user, NOW + dt.timedelta(hours=1))
    other = await sign_in_ending(db, user, NOW + dt.timedelta(hours=1))
    async with db.tenant(tenant.id) as conn:
        assert await queries.revoke_family(conn, revoked, NOW) == 1
        assert await queries.revoke_family(conn, revoked, NOW) == 0
    assert await recheck(db, user_actor(user, revoked), at_now) is None
    assert await recheck(db, user_actor(user, other), at_now) == user_actor(user, other)


async def test_session_state_reads_the_user_and_the_sign_in(
    db: Database, tenant: SeededTenant
) -> None:
    user = tenant.readonly
    family = await sign_in_ending(db, user, NOW + SECOND)
    async with db.tenant(tenant.id) as conn:
        state = await queries.session_state(conn, user.id, family, NOW)
        over = await queries.session_state(conn, user.id, family, NOW + SECOND)
        unknown = await queries.session_state(conn, user.id, uuid.uuid4(), NOW)
    assert dict(state) == {
        "active": True,
        "role": "readonly",
        "session_version": 1,
        "sign_in_revoked": False,
        "sign_in_over": False,
    }
    assert over["sign_in_over"] is True
    assert (unknown["sign_in_revoked"], unknown["sign_in_over"]) == (False, False)


async def test_a_deactivated_user_or_a_newer_session_version_ends_the_session(
    db: Database, tenant: SeededTenant
) -> None:
    collector, other = tenant.collector, tenant.other_collector
    kept = await sign_in_ending(db, collector, NOW + dt.timedelta(hours=1))
    ended = await sign_in_ending(db, other, NOW + dt.timedelta(hours=1))
    async with db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET active = false WHERE id = $1", collector.id)
        await queries.end_sessions(conn, other.id, NOW)
        revoked = await conn.fetch(
            "SELECT family_id, revoked_at FROM refresh_tokens WHERE family_id = ANY($1)",
            [kept, ended],
        )
    # Every sign-in of the user is revoked too, and only theirs.
    assert {r["family_id"]: r["revoked_at"] for r in revoked} == {kept: None, ended: NOW}
    assert await recheck(db, user_actor(collector, uuid.uuid4()), at_now) is None
    assert await recheck(db, user_actor(other, uuid.uuid4(), version=1), at_now) is None
    newer = user_actor(other, uuid.uuid4(), version=2)
    assert await recheck(db, newer, at_now) is newer


async def test_a_user_who_is_gone_or_has_no_session_does_not_stand(
    db: Database, tenant: SeededTenant
) -> None:
    gone = Actor(
        tenant_id=tenant.id,
        type="user",
        id=2**62,
        role="admin",
        session=Session(sign_in=uuid.uuid4(), version=1, expires_at=0),
    )
    assert await recheck(db, gone, at_now) is None
    no_session = Actor(tenant_id=tenant.id, type="user", id=tenant.admin.id, role="admin")
    assert await recheck(db, no_session, at_now) is None
    no_id = msgspec.structs.replace(user_actor(tenant.admin, uuid.uuid4()), id=None)
    assert await recheck(db, no_id, at_now) is None
    assert await recheck(db, Actor(tenant_id=tenant.id, type="system"), at_now) is None


async def test_a_changed_role_comes_back_with_the_rest_unchanged(
    db: Database, tenant: SeededTenant
) -> None:
    user = tenant.supervisor
    async with db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE users SET role = 'collector' WHERE id = $1", user.id)
    actor = user_actor(user, uuid.uuid4())
    assert await recheck(db, actor, at_now) == msgspec.structs.replace(actor, role="collector")


async def test_an_api_key_stands_until_revoked_and_one_that_is_gone_does_not(
    db: Database, tenant: SeededTenant
) -> None:
    async with db.tenant(tenant.id) as conn:
        row = await queries.insert_api_key(
            conn,
            tenant_id=tenant.id,
            name="crm",
            prefix="rcp_0a1b2c3d",
            key_hash=digest("rcp_0a1b2c3d_secret"),
            scopes=["accounts:read"],
            created_by=tenant.admin.id,
        )
    key = Actor(tenant_id=tenant.id, type="api_key", id=row["id"], scopes=frozenset())
    assert await recheck(db, key, at_now) is key
    async with db.tenant(tenant.id) as conn:
        assert await queries.api_key_revoked(conn, row["id"]) is False
        await queries.revoke_api_key(conn, row["id"], NOW)
        assert await queries.api_key_revoked(conn, row["id"]) is True
        assert await queries.api_key_revoked(conn, 2**62) is True
    assert await recheck(db, key, at_now) is None
    gone = Actor(tenant_id=tenant.id, type="api_key", id=2**62)
    assert await recheck(db, gone, at_now) is None
    assert await recheck(db, Actor(tenant_id=tenant.id, type="api_key"), at_now) is None


async def test_a_payment_link_stands_until_it_expires_or_is_withdrawn(
    db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    async with db.tenant(tenant.id) as conn:
        link = await payment_queries.insert_link(
            conn, tenant.id, account.id, created_by=None, expires_at=NOW + SECOND
        )
    debtor = Actor(tenant_id=tenant.id, type="debtor", id=link["id"], account_id=account.id)
    assert await recheck(db, debtor, at_now) is debtor
    assert await recheck(db, debtor, lambda: NOW + SECOND) is None  # its last instant
    async with db.tenant(tenant.id) as conn:
        await payment_queries.revoke_link(conn, link["id"], NOW)
    assert await recheck(db, debtor, at_now) is None
    gone = Actor(tenant_id=tenant.id, type="debtor", id=2**62, account_id=account.id)
    assert await recheck(db, gone, at_now) is None
    no_id = Actor(tenant_id=tenant.id, type="debtor", account_id=account.id)
    assert await recheck(db, no_id, at_now) is None


async def test_only_a_debtor_stands_by_a_payment_link(db: Database, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    async with db.tenant(tenant.id) as conn:
        link = await payment_queries.insert_link(
            conn, tenant.id, account.id, created_by=None, expires_at=NOW + dt.timedelta(days=1)
        )
    # A user without a session, or the system, that happens to have the link's id.
    for kind in ("user", "system"):
        other = Actor(tenant_id=tenant.id, type=kind, id=link["id"])  # type: ignore[arg-type]
        assert await recheck(db, other, at_now) is None, kind
