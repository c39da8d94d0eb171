"""Idempotency keys: the same key and request gets the first response again; the same key
with another request is refused; a request still in flight with that key is refused too.

``idempotent`` wraps any request that moves money. Keys belong to their caller (a user, an
API key), so that two callers never share a response nor block each other's keys. The key
is claimed in a short transaction of its own (so that concurrent requests see it at once),
and the response is stored in the transaction of the change itself, so the two commit
together. A request that fails lets go of its key; one whose process died is taken over
after a while. A key already used answers only once the caller's access has been checked
again, as a first request's would be: access lost since then is not found, not a replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from domain.actor import Actor
from domain.clock import utcnow
from domain.db import Connection, Database
from domain.errors import Conflict, InvalidInput, RecoupError
from domain.payments import queries

# A claim older than this belongs to a request that died; it may be taken over.
ABANDONED_AFTER = dt.timedelta(seconds=60)
# Keys are kept at least this long.
RETENTION = dt.timedelta(hours=48)

# The work of a request, in its tenant transaction: the status and body of its response.
Work = Callable[[Connection], Awaitable[tuple[int, Any]]]
# The access check of a request, in its tenant transaction: raises (NotFound, Forbidden)
# when the caller may not make it now.
Check = Callable[[Connection], Awaitable[None]]


class KeyInFlight(Conflict):
    slug = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still being handled"


class KeyReused(InvalidInput):
    slug = "idempotency-key-reused"
    title = "This Idempotency-Key was used for another request"


class KeyMissing(RecoupError):
    slug = "idempotency-key-missing"
    title = "This request needs an Idempotency-Key"


def required_key(key: str | None) -> str:
    """The Idempotency-Key a request that moves money must carry (400 without one), so that
    a retry after a lost answer never pays twice."""
    if key is None:
        raise KeyMissing(
            "send an Idempotency-Key header: a unique value for each payment, and the same "
            "one again when you retry it",
            field="Idempotency-Key",
        )
    return key


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any


@dataclass(frozen=True)
class Outcome:
    """A request's response: fresh from its work, or ``replayed`` from the key's first use."""

    status: int
    body: Any
    replayed: bool = False


@dataclass(frozen=True)
class _Key:
    """One caller's Idempotency-Key."""

    tenant_id: int
    caller: str
    key: str


def request_hash(*parts: Any) -> str:
    """A fingerprint of the request: what it asks for, in a canonical encoding."""
    return hashlib.sha256(
        msgspec.json.encode(msgspec.to_builtins(parts), order="sorted")
    ).hexdigest()


def caller_of(actor: Actor) -> str:
    """Whose keys these are: each user and each API key has its own."""
    if actor.type in ("user", "api_key") and actor.id is not None:
        return f"{actor.type}:{actor.id}"
    if actor.type == "debtor" and actor.account_id is not None:
        return f"debtor:{actor.account_id}"
    return actor.type


def _check_key(key: str) -> None:
    if not key or len(key) > 200 or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key must be 1 to 200 printable characters", field="Idempotency-Key"
        )


async def idempotent(
    db: Database,
    actor: Actor,
    key: str | None,
    fingerprint: str,
    run: Work,
    *,
    allowed: Check,
    clock: Callable[[], dt.datetime] = utcnow,
) -> Outcome:
    """Run ``run`` in the actor's tenant transaction at most once per ``key`` of this caller
    (every time without a key).

    Args:
        db: the pools; the claim and the work each take a transaction of their own.
        actor: who asks; a key is unique per caller (``caller_of``) within their tenant.
        key: the client's Idempotency-Key, or None to just run the work.
        fingerprint: ``request_hash`` of what the request asks for; another request under the
            same key is refused (``KeyReused``, 422).
        run: the work; its body is stored as JSON with the change, for replays.
        allowed: the access check the work makes first, run alone before a key already
            used answers (replay, 422 or 409), so that those answer only a caller who may
            still make the request; the work itself checks a first request.
        clock: now, for taking over abandoned claims.

    Raises:
        KeyInFlight: (409) the first request with this key has not finished.
        KeyReused: (422) the key came with another request before.
    """
    tenant_id = actor.tenant_id
    if key is None:
        async with db.tenant(tenant_id) as conn:
            status, body = await run(conn)
        return Outcome(status, body)
    _check_key(key)
    held = _Key(tenant_id, caller_of(actor), key)
    stored = await _claim(db, held, fingerprint, allowed, clock)
    if stored is not None:
        return Outcome(stored.status, stored.body, replayed=True)
    try:
        async with db.tenant(tenant_id) as conn:
            status, body = await run(conn)
            await queries.complete_key(
                conn, held.caller, held.key, status, msgspec.to_builtins(body), clock()
            )
    except BaseException:
        await _release(db, held)
        raise
    return Outcome(status, body)


async def _claim(
    db: Database,
    held: _Key,
    fingerprint: str,
    allowed: Check,
    clock: Callable[[], dt.datetime] = utcnow,
) -> StoredResponse | None:
    """None: go ahead. A stored response: send it again. Raises when refused."""
    while True:
        async with db.tenant(held.tenant_id) as conn:
            if await queries.claim_key(conn, held.tenant_id, held.caller, held.key, fingerprint):
                return None
            row = await queries.lock_key(conn, held.caller, held.key)
            if row is None:  # released in between: try again
                continue
            await allowed(conn)
            if row["request_hash"] != fingerprint:
                raise KeyReused(
                    "this Idempotency-Key was already used with a different request",
                    field="Idempotency-Key",
                )
            if row["status"] == "completed":
                return StoredResponse(row["response_status"], row["response_body"])
            if row["created_at"] < clock() - ABANDONED_AFTER:
                await queries.retake_key(conn, held.caller, held.key, clock())
                return None
        raise KeyInFlight(
            "a request with this Idempotency-Key is still in progress; retry in a moment",
            field="Idempotency-Key",
        )


async def _release(db: Database, held: _Key) -> None:
    """The request failed: let the key be used again."""
    async with db.tenant(held.tenant_id) as conn:
        await queries.release_key(conn, held.caller, held.key)


async def prune(conn: Connection, now: dt.datetime) -> int:
    """Forget keys past their retention (a scheduled job)."""
    return await queries.prune_keys(conn, now - RETENTION)
