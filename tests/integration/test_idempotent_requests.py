"""The idempotent-request helper on its own: claim, replay, refusal, release, take-over, keys
per caller, and the access check before a used key answers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from domain.actor import Actor
from domain.db import Connection, Database
from domain.errors import InvalidInput, NotFound
from domain.payments import queries
from domain.payments.idempotency import (
    KeyInFlight,
    KeyReused,
    Outcome,
    caller_of,
    idempotent,
    prune,
    request_hash,
)
from tests.factories import SeededTenant, TenantFactory

FINGERPRINT = request_hash("test", 1, {"amount": "10.00"})
REUSED = "this Idempotency-Key was already used with a different request"
IN_FLIGHT = "a request with this Idempotency-Key is still in progress; retry in a moment"


@pytest.fixture
async def seeded(tenants: TenantFactory) -> SeededTenant:
    return await tenants.new(with_accounts=False)


@pytest.fixture
def actor(seeded: SeededTenant) -> Actor:
    return seeded.admin.actor


class Access:
    """An access check that counts its runs, and refuses once told to."""

    def __init__(self) -> None:
        self.checks = 0
        self.refused = False

    async def __call__(self, conn: Connection) -> None:
        self.checks += 1
        if self.refused:
            raise NotFound("account 1 not found")


async def once(db: Database, actor: Actor, key: str | None, fingerprint: str, work, access=None):  # type: ignore[no-untyped-def]
    return await idempotent(db, actor, key, fingerprint, work, allowed=access or Access())


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


class Counted:
    """Work that counts its runs and answers 201 with its run number and an amount."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self, conn: Connection) -> tuple[int, Any]:
        self.runs += 1
        return 201, {"run": self.runs, "amount": Decimal("10.00")}


async def plant(db: Database, actor: Actor, key: str, created_at: dt.datetime) -> None:
    """A claim of ``key`` by ``actor`` made at ``created_at`` and still in flight."""
    async with db.tenant(actor.tenant_id) as conn:
        await conn.execute(
            """INSERT INTO idempotency_keys (tenant_id, caller, key, request_hash, created_at)
            VALUES ($1, $2, $3, $4, $5)""",
            actor.tenant_id,
            caller_of(actor),
            key,
            FINGERPRINT,
            created_at,
        )


async def stored_keys(db: Database, tenant_id: int) -> list[dict[str, Any]]:
    async with db.tenant(tenant_id) as conn:
        rows = await conn.fetch("SELECT key, status, response_body FROM idempotency_keys")
    return [dict(r) for r in rows]


async def test_a_repeated_key_replays_the_first_response_without_running_again(
    db: Database, actor: Actor
) -> None:
    work, key = Counted(), new_key()
    first = await once(db, actor, key, FINGERPRINT, work)
    again = await once(db, actor, key, FINGERPRINT, work)
    assert (first.status, first.replayed) == (201, False)
    assert first.body == {"run": 1, "amount": Decimal("10.00")}
    assert (again.status, again.replayed) == (201, True)
    assert again.body == {"run": 1, "amount": "10.00"}  # as JSON carries it
    assert work.runs == 1


async def test_the_same_key_with_another_request_is_refused_with_422(
    db: Database, actor: Actor
) -> None:
    work, key = Counted(), new_key()
    await once(db, actor, key, FINGERPRINT, work)
    other = request_hash("test", 1, {"amount": "11.00"})
    with pytest.raises(KeyReused) as refused:
        await once(db, actor, key, other, work)
    assert refused.value.status == 422
    assert (refused.value.field, refused.value.detail) == ("Idempotency-Key", REUSED)
    assert work.runs == 1


@contextlib.asynccontextmanager
async def first_request_in_flight(
    db: Database, actor: Actor, key: str
) -> AsyncIterator[asyncio.Task[Outcome]]:
    """A first request with ``key`` that runs until the block ends, however the block ends
    (a failed assertion must not leave it waiting)."""
    started, finish = asyncio.Event(), asyncio.Event()

    async def slow(conn: Connection) -> tuple[int, Any]:
        started.set()
        await finish.wait()
        return 201, {"slow": True}

    first = asyncio.create_task(once(db, actor, key, FINGERPRINT, slow))
    try:
        await asyncio.wait_for(started.wait(), 10)
        yield first
    finally:
        finish.set()
        await first


async def test_a_key_still_in_flight_is_refused_with_409(db: Database, actor: Actor) -> None:
    key = new_key()
    async with first_request_in_flight(db, actor, key) as first:
        with pytest.raises(KeyInFlight) as refused:
            await once(db, actor, key, FINGERPRINT, Counted())
        assert refused.value.status == 409
        assert (refused.value.field, refused.value.detail) == ("Idempotency-Key", IN_FLIGHT)
    assert (await first).body == {"slow": True}
    replay = await once(db, actor, key, FINGERPRINT, Counted())
    assert (replay.body, replay.replayed) == ({"slow": True}, True)


async def test_a_failed_request_releases_its_key_and_keeps_nothing_of_its_work(
    db: Database, actor: Actor
) -> None:
    key = new_key()

    async def failing(conn: Connection) -> tuple[int, Any]:
        await conn.execute(
            """INSERT INTO idempotency_keys (tenant_id, caller, key, request_hash)
            VALUES ($1, $2, $3, 'x')""",
            actor.tenant_id,
            caller_of(actor),
            f"{key}-written-by-the-work",
        )
        raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError, match="the work failed"):
        await once(db, actor, key, FINGERPRINT, failing)
    assert await stored_keys(db, actor.tenant_id) == []  # the key released, the work rolled back
    work = Counted()
    retried = await once(db, actor, key, FINGERPRINT, work)
    assert (retried.replayed, work.runs) == (False, 1)


async def test_a_cancelled_request_releases_its_key(db: Database, actor: Actor) -> None:
    key, started = new_key(), asyncio.Event()

    async def hanging(conn: Connection) -> tuple[int, Any]:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("never reached")

    task = asyncio.create_task(once(db, actor, key, FINGERPRINT, hanging))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await stored_keys(db, actor.tenant_id) == []
    assert not (await once(db, actor, key, FINGERPRINT, Counted())).replayed


async def test_the_response_is_stored_with_the_work_in_the_tenants_transaction(
    db: Database, actor: Actor
) -> None:
    key = new_key()

    async def work(conn: Connection) -> tuple[int, Any]:
        assert conn.is_in_transaction()
        [row] = await conn.fetch("SELECT key, status FROM idempotency_keys")
        assert dict(row) == {"key": key, "status": "in_flight"}  # claimed, committed before
        return 200, {"tenant": await conn.fetchval("SELECT current_setting('app.tenant_id')")}

    await once(db, actor, key, FINGERPRINT, work)
    assert await stored_keys(db, actor.tenant_id) == [
        {"key": key, "status": "completed", "response_body": {"tenant": str(actor.tenant_id)}}
    ]


async def test_without_a_key_the_work_just_runs_each_time(db: Database, actor: Actor) -> None:
    work = Counted()
    first = await once(db, actor, None, FINGERPRINT, work)
    second = await once(db, actor, None, FINGERPRINT, work)
    assert [first.body["run"], second.body["run"]] == [1, 2]
    assert (first.replayed, second.replayed) == (False, False)
    assert await stored_keys(db, actor.tenant_id) == []


async def test_an_abandoned_claim_is_taken_over(db: Database, actor: Actor) -> None:
    key = new_key()
    async with db.tenant(actor.tenant_id) as conn:
        await conn.execute(
            """INSERT INTO idempotency_keys (tenant_id, caller, key, request_hash, created_at)
            VALUES ($1, $2, $3, $4, now() - interval '5 minutes')""",
            actor.tenant_id,
            caller_of(actor),
            key,
            FINGERPRINT,
        )
    work = Counted()
    taken = await once(db, actor, key, FINGERPRINT, work)
    assert (taken.replayed, work.runs) == (False, 1)


async def test_keys_belong_to_their_tenant(db: Database, tenants: TenantFactory) -> None:
    key, work = new_key(), Counted()
    one, other = (await tenants.new(with_accounts=False), await tenants.new(with_accounts=False))
    await once(db, one.admin.actor, key, FINGERPRINT, work)
    assert not (await once(db, other.admin.actor, key, FINGERPRINT, work)).replayed
    assert work.runs == 2


async def test_keys_belong_to_their_caller(db: Database, seeded: SeededTenant) -> None:
    key, work = new_key(), Counted()
    callers = [
        seeded.admin.actor,
        seeded.supervisor.actor,
        Actor(tenant_id=seeded.id, type="api_key", id=seeded.admin.id, scopes=frozenset()),
    ]
    outcomes = [await once(db, caller, key, FINGERPRINT, work) for caller in callers]
    assert [o.replayed for o in outcomes] == [False, False, False]
    assert work.runs == 3
    # Another request under another caller's key is that caller's business, not a 422.
    other = request_hash("test", 2, {"amount": "99.00"})
    assert not (await once(db, seeded.readonly.actor, key, other, work)).replayed
    replay = await once(db, seeded.supervisor.actor, key, FINGERPRINT, work)
    assert (replay.replayed, replay.body["run"]) == (True, 2)
    assert {caller_of(c) for c in callers} == {
        f"user:{seeded.admin.id}",
        f"user:{seeded.supervisor.id}",
        f"api_key:{seeded.admin.id}",
    }


async def test_a_used_key_answers_only_a_caller_who_still_has_access(
    db: Database, actor: Actor
) -> None:
    work, key, access = Counted(), new_key(), Access()
    await once(db, actor, key, FINGERPRINT, work, access)
    assert access.checks == 0  # a first request: the work checks access itself
    assert (await once(db, actor, key, FINGERPRINT, work, access)).replayed
    assert access.checks == 1
    access.refused = True
    with pytest.raises(NotFound):
        await once(db, actor, key, FINGERPRINT, work, access)
    other = request_hash("test", 1, {"amount": "11.00"})
    with pytest.raises(NotFound):  # not a 422: as a first request would be answered
        await once(db, actor, key, other, work, access)
    assert work.runs == 1
    access.refused = False
    assert (await once(db, actor, key, FINGERPRINT, work, access)).replayed


async def test_a_key_in_flight_answers_only_a_caller_who_still_has_access(
    db: Database, actor: Actor
) -> None:
    key, refused = new_key(), Access()
    refused.refused = True
    async with first_request_in_flight(db, actor, key) as first:
        with pytest.raises(NotFound):
            await once(db, actor, key, FINGERPRINT, Counted(), refused)
    assert (await first).body == {"slow": True}


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there"])
async def test_a_malformed_key_is_refused_before_anything_runs(
    db: Database, actor: Actor, key: str
) -> None:
    work = Counted()
    with pytest.raises(InvalidInput) as refused:
        await once(db, actor, key, FINGERPRINT, work)
    assert (refused.value.field, refused.value.detail) == (
        "Idempotency-Key",
        "Idempotency-Key must be 1 to 200 printable characters",
    )
    assert work.runs == 0


async def test_a_key_of_200_printable_characters_is_taken(db: Database, actor: Actor) -> None:
    work, key = Counted(), "k" * 199 + "\u00e9"
    assert not (await once(db, actor, key, FINGERPRINT, work)).replayed
    assert (await once(db, actor, key, FINGERPRINT, work)).replayed
    assert work.runs == 1


CLAIMED_AT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


async def test_a_claim_is_in_flight_until_it_is_more_than_60_seconds_old(
    db: Database, actor: Actor
) -> None:
    key, work = new_key(), Counted()
    await plant(db, actor, key, CLAIMED_AT)
    at_the_limit = CLAIMED_AT + dt.timedelta(seconds=60)
    with pytest.raises(KeyInFlight):
        await idempotent(
            db, actor, key, FINGERPRINT, work, allowed=Access(), clock=lambda: at_the_limit
        )
    assert work.runs == 0
    past_it = at_the_limit + dt.timedelta(microseconds=1)
    taken = await idempotent(
        db, actor, key, FINGERPRINT, work, allowed=Access(), clock=lambda: past_it
    )
    assert (taken.replayed, work.runs) == (False, 1)


async def test_a_claim_taken_over_counts_as_made_at_the_takeover(
    db: Database, actor: Actor
) -> None:
    key = new_key()
    await plant(db, actor, key, CLAIMED_AT)
    now = CLAIMED_AT + dt.timedelta(minutes=5)
    third = Counted()

    async def work(conn: Connection) -> tuple[int, Any]:
        stamped = await conn.fetchval("SELECT created_at FROM idempotency_keys WHERE key = $1", key)
        assert stamped == now
        # A retry while the taken-over request runs is in flight, not a second takeover.
        with pytest.raises(KeyInFlight):
            await idempotent(
                db, actor, key, FINGERPRINT, third, allowed=Access(), clock=lambda: now
            )
        return 201, {"taken": True}

    taken = await idempotent(db, actor, key, FINGERPRINT, work, allowed=Access(), clock=lambda: now)
    assert (taken.body, third.runs) == ({"taken": True}, 0)


async def test_a_key_released_between_the_claim_and_the_lock_is_claimed_again(
    db: Database, actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    await plant(db, actor, key, dt.datetime.now(dt.UTC))  # a first request, still running
    lock_key = queries.lock_key

    async def first_request_fails_meanwhile(conn: Connection, caller: str, held: str):  # type: ignore[no-untyped-def]
        async with db.tenant(actor.tenant_id) as other:
            await queries.release_key(other, caller, held)
        return await lock_key(conn, caller, held)

    monkeypatch.setattr(queries, "lock_key", first_request_fails_meanwhile)
    work = Counted()
    second = await once(db, actor, key, FINGERPRINT, work)
    assert (second.replayed, work.runs) == (False, 1)
    assert await stored_keys(db, actor.tenant_id) == [
        {"key": key, "status": "completed", "response_body": {"run": 1, "amount": "10.00"}}
    ]


async def test_prune_forgets_keys_older_than_48_hours_and_keeps_the_others(
    db: Database, actor: Actor
) -> None:
    now = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)  # before any other test's keys
    ages = {
        "three-days": dt.timedelta(hours=72),
        "just-past": dt.timedelta(hours=48, microseconds=1),
        "exactly-48h": dt.timedelta(hours=48),
        "just-under": dt.timedelta(hours=48, microseconds=-1),
        "new": dt.timedelta(0),
    }
    prefix = new_key()
    for name, age in ages.items():
        await plant(db, actor, f"{prefix}-{name}", now - age)
    async with db.system() as conn:
        assert await prune(conn, now) == 2
    kept = {row["key"] for row in await stored_keys(db, actor.tenant_id)}
    assert kept == {f"{prefix}-{name}" for name in ("exactly-48h", "just-under", "new")}


def test_keys_belong_to_users_api_keys_and_each_debtors_account() -> None:
    def caller(type_: str, **ids: int) -> str:
        return caller_of(Actor(tenant_id=1, type=type_, **ids))  # type: ignore[arg-type]

    assert caller("user", id=7) == "user:7"
    assert caller("api_key", id=7) == "api_key:7"
    assert caller("debtor", id=9, account_id=3) == "debtor:3"
    # Without the id that makes them someone, or for the system, the type alone.
    assert caller("user") == "user"
    assert caller("debtor", id=9) == "debtor"
    assert caller("system") == "system"
    assert caller("system", id=5, account_id=3) == "system"


async def test_two_debtors_links_do_not_share_a_key(db: Database, seeded: SeededTenant) -> None:
    key, work = new_key(), Counted()
    debtors = [
        Actor(tenant_id=seeded.id, type="debtor", id=link, account_id=account)
        for link, account in ((1, 101), (2, 102))
    ]
    outcomes = [await once(db, debtor, key, FINGERPRINT, work) for debtor in debtors]
    assert [o.replayed for o in outcomes] == [False, False]
    assert (await once(db, debtors[1], key, FINGERPRINT, work)).body == {
        "run": 2,
        "amount": "10.00",
    }


def test_the_fingerprint_is_canonical_whatever_the_order_of_the_fields() -> None:
    one = request_hash("payment", 1, {"amount": "10.00", "currency": "USD"})
    assert one == request_hash("payment", 1, {"currency": "USD", "amount": "10.00"})
    assert one != request_hash("payment", 1, {"amount": "10.00", "currency": "EUR"})


async def test_a_completed_key_records_when_its_response_was_stored(
    db: Database, actor: Actor
) -> None:
    key = new_key()
    await idempotent(
        db, actor, key, FINGERPRINT, Counted(), allowed=Access(), clock=lambda: CLAIMED_AT
    )
    async with db.tenant(actor.tenant_id) as conn:
        row = await conn.fetchrow(
            "SELECT status, completed_at FROM idempotency_keys WHERE key = $1", key
        )
    assert dict(row) == {"status": "completed", "completed_at": CLAIMED_AT}


async def test_over_http_a_long_key_is_refused_naming_the_header(
    client, tenant: SeededTenant
) -> None:
    refused = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payments",
        json={"amount": "1.00", "currency": "USD"},
        headers={**tenant.admin.headers, "Idempotency-Key": "k" * 201},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "Idempotency-Key"
    assert refused.json()["detail"] == "Idempotency-Key: must be at most 200 characters"
