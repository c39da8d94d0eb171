"""Signing in, refreshing, signing out, and API keys.

Authentication starts before any tenant is known, so these services own their
transactions: a narrow cross-tenant look-up first, then everything else inside
the tenant's own row-level security.
"""

from __future__ import annotations

import datetime as dt
import hmac
import uuid

import asyncpg
import msgspec

from domain.actor import Actor
from domain.auth import queries
from domain.auth.passwords import verify_password
from domain.auth.schemas import (
    SCOPE_DESCRIPTIONS,
    SCOPES,
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyScope,
    ApiKeyScopes,
    TokenPair,
)
from domain.auth.tokens import (
    api_key_prefix,
    digest,
    issue_access_token,
    new_api_key,
    new_refresh_token,
)
from domain.channel_access import announce_access_change
from domain.clock import Clock, utcnow
from domain.db import Connection, Database
from domain.errors import InvalidInput, NotFound, Unauthenticated
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.service import Service

INVALID_CREDENTIALS = "e-mail or password is wrong"


class AuthService:
    def __init__(
        self,
        db: Database,
        *,
        secret: str,
        access_ttl: int,
        refresh_ttl: int,
        max_age: int,
        clock: Clock = utcnow,
    ) -> None:
        """``refresh_ttl``: how long a refresh token lives unused (the inactivity limit);
        ``max_age``: how long a sign-in lasts however often it is refreshed."""
        self.db = db
        self.secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.max_age = max_age
        self.clock = clock

    async def login(self, email: str, password: str, *, request_id: str | None = None) -> TokenPair:
        async with self.db.anonymous() as conn:
            found = await queries.find_login(conn, email.strip())
        if found is None:
            await verify_password(None, password)  # same cost as a wrong password
            raise Unauthenticated(INVALID_CREDENTIALS)
        tenant_id = found["tenant_id"]
        async with self.db.tenant(tenant_id) as conn:
            user = await queries.login_user(conn, found["user_id"])
        # Always one verification, and one answer for every failure: telling a deactivated
        # user so would confirm that the password they tried is right.
        ok = await verify_password(user["password_hash"] if user else None, password)
        async with self.db.tenant(tenant_id) as conn:
            actor = Actor(
                tenant_id=tenant_id, type="user", id=found["user_id"], request_id=request_id
            )
            recorder = ChangeRecorder(conn, actor, self.clock)
            if not ok or user is None or not user["active"]:
                await recorder.record(
                    action="auth.login_failed",
                    entity_type="user",
                    entity_id=found["user_id"],
                    before=None,
                    after=None,
                    event_type=None,
                )
                tokens = None
            else:
                await queries.touch_login(conn, user["id"], self.clock())
                await recorder.record(
                    action="auth.login",
                    entity_type="user",
                    entity_id=user["id"],
                    before=None,
                    after=None,
                    event_type=None,
                )
                tokens = await self._issue(
                    conn,
                    tenant_id,
                    user["id"],
                    user["role"],
                    user["session_version"],
                    uuid.uuid4(),
                    ends_at=self.clock() + dt.timedelta(seconds=self.max_age),
                )
        # Refused once the failure's audit row is committed.
        if tokens is None:
            raise Unauthenticated(INVALID_CREDENTIALS)
        return tokens

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent and a new one of the same family returned.

        A token presented a second time means it leaked (or was stolen and used first):
        the whole family is revoked, so whoever holds any token of it must sign in again.
        A token unused for ``refresh_ttl`` is dead, and so is every token of a sign-in older
        than ``max_age``: the new token keeps the sign-in's end.
        """
        token_hash = digest(refresh_token)
        async with self.db.anonymous() as conn:
            found = await queries.find_refresh_token(conn, token_hash)
        if found is None:
            raise Unauthenticated("refresh token is not valid")
        now = self.clock()
        reused = False
        async with self.db.tenant(found["tenant_id"]) as conn:
            live = await queries.use_refresh_token(
                conn,
                found["token_id"],
                now,
                issued_after=now - dt.timedelta(seconds=self.refresh_ttl),
            )
            if live is not None and live["active"]:
                return await self._issue(
                    conn,
                    found["tenant_id"],
                    live["user_id"],
                    live["role"],
                    live["session_version"],
                    live["family_id"],
                    ends_at=live["expires_at"],
                )
            state = await queries.refresh_token_state(conn, found["token_id"])
            if state is None:
                raise Unauthenticated("refresh token is not valid")
            if live is not None or (state["used_at"] is not None and state["revoked_at"] is None):
                # Spent before (reuse), or its user was deactivated: end the whole sign-in,
                # its current access token included.
                reused = live is None
                await self._end_sign_in(
                    conn,
                    found["tenant_id"],
                    state["user_id"],
                    state["family_id"],
                    "auth.refresh_reuse" if reused else "auth.refresh_inactive",
                )
        # The revocation above is committed; now refuse.
        if reused:
            raise Unauthenticated(
                "refresh token was already used; every session of this sign-in is revoked"
            )
        raise Unauthenticated("refresh token expired or revoked; sign in again")

    async def logout(self, refresh_token: str) -> None:
        """Revoke the sign-in the refresh token belongs to (silently, if it is unknown)."""
        async with self.db.anonymous() as conn:
            found = await queries.find_refresh_token(conn, digest(refresh_token))
        if found is None:
            return
        async with self.db.tenant(found["tenant_id"]) as conn:
            state = await queries.refresh_token_state(conn, found["token_id"])
            if state is not None:
                await self._end_sign_in(
                    conn, found["tenant_id"], state["user_id"], state["family_id"], "auth.logout"
                )

    async def end_sign_in(self, actor: Actor) -> None:
        """Sign out the session a user's access token belongs to (its sign-in)."""
        if actor.session is None or actor.id is None:
            return
        async with self.db.tenant(actor.tenant_id) as conn:
            await self._end_sign_in(
                conn, actor.tenant_id, actor.id, actor.session.sign_in, "auth.logout"
            )

    async def _end_sign_in(
        self, conn: Connection, tenant_id: int, user_id: int, family_id: uuid.UUID, action: str
    ) -> None:
        """Revoke a sign-in: its refresh tokens, and with them (checked on every request and
        by every open socket) its access tokens."""
        if not await queries.revoke_family(conn, family_id, self.clock()):
            return  # revoked before: nothing more to say
        changes = ChangeRecorder(
            conn, Actor(tenant_id=tenant_id, type="user", id=user_id), self.clock
        )
        await changes.record(
            action=action,
            entity_type="user",
            entity_id=user_id,
            before=None,
            after={"family_id": str(family_id)},
            event_type=None,
        )
        await announce_access_change(changes, users=[user_id])

    async def _issue(
        self,
        conn: Connection,
        tenant_id: int,
        user_id: int,
        role: str,
        version: int,
        family_id: uuid.UUID,
        *,
        ends_at: dt.datetime,
    ) -> TokenPair:
        """New tokens for the sign-in ``family_id``, which ends at ``ends_at``."""
        now = self.clock()
        # An access token never outlives its sign-in.
        ttl = max(1, min(self.access_ttl, int((ends_at - now).total_seconds())))
        access, _ = issue_access_token(
            self.secret,
            user_id=user_id,
            tenant_id=tenant_id,
            role=role,  # type: ignore[arg-type]
            ttl=ttl,
            now=now,
            sign_in=family_id,
            version=version,
        )
        refresh = new_refresh_token()
        await queries.insert_refresh_token(
            conn,
            tenant_id=tenant_id,
            user_id=user_id,
            family_id=family_id,
            token_hash=digest(refresh),
            created_at=now,
            expires_at=ends_at,
        )
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=ttl)

    async def authenticate_api_key(self, key: str, *, request_id: str | None = None) -> Actor:
        prefix = api_key_prefix(key)
        if prefix is None:
            raise Unauthenticated("API key is not valid")
        async with self.db.anonymous() as conn:
            found = await queries.find_api_key(conn, prefix)
        if found is None:
            raise Unauthenticated("API key is not valid")
        async with self.db.tenant(found["tenant_id"]) as conn:
            row = await queries.api_key_for_auth(conn, found["key_id"])
            if row is None or not hmac.compare_digest(row["key_hash"], digest(key)):
                raise Unauthenticated("API key is not valid")
            if row["revoked_at"] is not None:
                raise Unauthenticated("API key was revoked")
            await queries.touch_api_key(conn, row["id"], self.clock())
        return Actor(
            tenant_id=found["tenant_id"],
            type="api_key",
            id=row["id"],
            scopes=expand_scopes(row["scopes"]),
            request_id=request_id,
        )


def expand_scopes(scopes: list[str]) -> frozenset[str]:
    """Granted scopes, with each ``:write`` also granting the matching ``:read``."""
    granted = set(scopes)
    granted.update(s.replace(":write", ":read") for s in scopes if s.endswith(":write"))
    return frozenset(granted)


def to_api_key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(**dict(row))


class ApiKeyService(Service):
    @staticmethod
    def scopes() -> ApiKeyScopes:
        """The scopes ``create`` admits, with what each allows and grants."""
        return ApiKeyScopes(
            scopes=[
                ApiKeyScope(name=name, allows=allows, grants=sorted(expand_scopes([name])))
                for name, allows in sorted(SCOPE_DESCRIPTIONS.items())
            ]
        )

    async def list(self) -> list[ApiKey]:
        return [to_api_key(r) for r in await queries.list_api_keys(self.conn)]

    async def get(self, key_id: int) -> ApiKey:
        row = await queries.get_api_key(self.conn, key_id)
        if row is None:
            raise NotFound(f"API key {key_id} not found")
        return to_api_key(row)

    async def create(self, data: ApiKeyCreate) -> ApiKeyCreated:
        if not data.name.strip():
            raise InvalidInput(
                "give the key a name, e.g. the system that will use it", field="name"
            )
        for index, scope in enumerate(data.scopes):
            if scope not in SCOPES:
                raise InvalidInput(
                    f"unknown scope {scope!r}; scopes are: {', '.join(sorted(SCOPES))}",
                    field=f"scopes[{index}]",
                )
        key, prefix = new_api_key()
        row = await queries.insert_api_key(
            self.conn,
            tenant_id=self.actor.tenant_id,
            name=data.name.strip(),
            prefix=prefix,
            key_hash=digest(key),
            scopes=sorted(set(data.scopes)),
            created_by=self.actor.id,
        )
        created = to_api_key(row)
        await self.changes.record(
            action="api_key.create",
            entity_type="api_key",
            entity_id=created.id,
            before=None,
            after=msgspec.to_builtins(created),
            event_type=events.API_KEY_CREATED,
        )
        return ApiKeyCreated(
            id=created.id,
            name=created.name,
            prefix=created.prefix,
            scopes=created.scopes,
            created_at=created.created_at,
            key=key,
        )

    async def revoke(self, key_id: int) -> ApiKey:
        before = await self.get(key_id)
        row = await queries.revoke_api_key(self.conn, key_id, self.clock())
        if row is None:
            return before  # already revoked: revoking is idempotent
        after = to_api_key(row)
        await self.changes.record(
            action="api_key.revoke",
            entity_type="api_key",
            entity_id=key_id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type=events.API_KEY_REVOKED,
        )
        await announce_access_change(self.changes, api_keys=[key_id])
        return after
