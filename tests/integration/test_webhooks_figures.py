"""What the endpoints list shows of each endpoint's deliveries: its dead letters and its
latest failed attempt, read in the one query that lists the endpoints; and the event types
an endpoint can choose from."""

from __future__ import annotations

import datetime as dt

import httpx

from domain.db import Database
from domain.webhooks import queries
from tests.factories import SeededTenant
from tests.integration.webhook_helpers import (
    T0,
    TYPE,
    Receiver,
    add_endpoint,
    emit,
    sender,
    stage_events,
)

ENDPOINTS = "/api/v1/webhook-endpoints"
# Far enough apart that each round is after the last one's retry (at most 10 h, no jitter).
ROUND = dt.timedelta(hours=11)


def by_id(listed: list[dict]) -> dict[int, dict]:
    return {e["id"]: e for e in listed}


async def test_dead_letters_and_the_last_failure_are_counted_per_endpoint(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    async with Receiver([(500, {})]) as failing, Receiver([(200, {})]) as fine:
        bad = (await add_endpoint(db, tenant.id, failing.url)).endpoint.id
        good = (await add_endpoint(db, tenant.id, fine.url)).endpoint.id
        idle = (
            await add_endpoint(db, tenant.id, fine.url, event_types=["workflow.never_emitted"])
        ).endpoint.id
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        # The first attempt fails: a failure, not yet a dead letter.
        await sender(db, T0).deliver_tenant(tenant.id)
        listed = by_id((await client.get(ENDPOINTS, headers=tenant.admin.headers)).json()["items"])
        assert listed[bad]["dead_letters"] == 0
        assert listed[bad]["last_failure"] == {
            "at": T0.isoformat().replace("+00:00", "Z"),
            "status": 500,
            "error": None,
        }
        # The other seven attempts of the schedule: dead-lettered.
        for n in range(1, 8):
            await sender(db, T0 + n * ROUND).deliver_tenant(tenant.id)
        assert len(failing.requests) == 8
    listed = by_id((await client.get(ENDPOINTS, headers=tenant.admin.headers)).json()["items"])
    last = T0 + 7 * ROUND
    assert listed[bad]["dead_letters"] == 1
    assert listed[bad]["last_failure"]["at"] == last.isoformat().replace("+00:00", "Z")
    assert (listed[good]["dead_letters"], listed[good]["last_failure"]) == (0, None)
    assert (listed[idle]["dead_letters"], listed[idle]["last_failure"]) == (0, None)
    one = await client.get(f"{ENDPOINTS}/{bad}", headers=tenant.admin.headers)
    assert (one.json()["dead_letters"], one.json()["last_failure"]["status"]) == (1, 500)
    # Changing the endpoint answers with its figures too; replaying empties the dead letters.
    changed = await client.patch(
        f"{ENDPOINTS}/{bad}", json={"description": "CRM"}, headers=tenant.admin.headers
    )
    assert (changed.json()["description"], changed.json()["dead_letters"]) == ("CRM", 1)
    # (The range is of when deliveries were made: now, on the real clock.)
    now = dt.datetime.now(dt.UTC)
    replayed = await client.post(
        f"{ENDPOINTS}/{bad}/replay-failed",
        json={"since": (now - ROUND).isoformat(), "until": (now + ROUND).isoformat()},
        headers=tenant.admin.headers,
    )
    assert replayed.json() == {"replayed": 1}
    again = (await client.get(f"{ENDPOINTS}/{bad}", headers=tenant.admin.headers)).json()
    # Back in line with no attempt made since: neither dead nor failing.
    assert (again["dead_letters"], again["last_failure"]) == (0, None)


async def test_the_figures_are_read_through_the_indexes(db: Database, tenant: SeededTenant) -> None:
    async with db.tenant(tenant.id) as conn:
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0] for r in await conn.fetch(f"EXPLAIN {queries._ENDPOINT_WITH_FIGURES}")
        )
    assert "webhook_deliveries_failed_idx" in plan
    assert "webhook_deliveries_last_failure_idx" in plan


async def test_the_event_types_an_endpoint_can_choose(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    answer = await client.get(f"{ENDPOINTS}/event-types", headers=tenant.admin.headers)
    assert answer.status_code == 200, answer.text
    types = answer.json()["event_types"]
    assert types == sorted(types)
    assert {"payment.received", "promise.broken", "webhook_endpoint.disabled"} <= set(types)
    # Not the wallboard's figures (never in the outbox), nor the test event (on request).
    assert "wallboard.kpis" not in types
    assert "webhook.test" not in types
    denied = await client.get(f"{ENDPOINTS}/event-types", headers=tenant.collector.headers)
    assert denied.status_code == 403
