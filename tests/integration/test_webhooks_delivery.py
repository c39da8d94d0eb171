"""Webhook deliveries to a real receiver on this machine: signed as the Standard Webhooks
reference library verifies, retried on the schedule (driven by the clock the sender is
given, not by sleeping), dead-lettered after the last attempt, an endpoint disabled by a
410, Retry-After honoured, replayed with the same webhook-id, in order per account, and
refused at delivery when the address is not public."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from domain.actor import system_actor
from domain.db import Database
from domain.errors import Conflict
from domain.webhooks.delivery import ATTEMPTS, SCHEDULE, TIMEOUT_SECONDS, Sender
from domain.webhooks.schemas import ReplayRange
from domain.webhooks.service import WebhookEndpointService
from tests.factories import TenantFactory
from tests.integration.webhook_helpers import (
    BOX,
    T0,
    TYPE,
    Receiver,
    add_endpoint,
    attempts,
    deliveries,
    emit,
    sender,
    stage_events,
)


def verify(secret: str, request) -> dict:  # type: ignore[no-untyped-def]
    return Webhook(secret).verify(request.body, request.headers)


async def test_a_delivery_is_signed_as_the_reference_library_verifies(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver() as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        event_id = await emit(db, tenant.id, TYPE, {"account_id": 7, "status": "active"})
        assert await stage_events(db, tenant.id, TYPE) == 1
        figures = await sender(db, T0).deliver_tenant(tenant.id)
    assert figures == {"succeeded": 1}
    [request] = receiver.requests
    payload = verify(made.secret, request)
    assert payload["type"] == TYPE
    assert payload["data"] == {"account_id": 7, "status": "active"}
    assert request.headers["webhook-id"] == "msg_" + event_id.replace("-", "")
    # Another secret does not verify: the signature is the endpoint's own.
    other = await add_endpoint(db, tenant.id, "http://127.0.0.1:9/elsewhere")
    with pytest.raises(WebhookVerificationError):
        verify(other.secret, request)
    [row] = await deliveries(db, tenant.id)
    assert (row["status"], row["attempts"], row["last_status"]) == ("succeeded", 1, 200)
    assert row["last_response"] == "status 200"


async def test_500_twice_then_200_makes_three_attempts_on_the_schedule(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(500, {}), (500, {}), (200, {})]) as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        assert await sender(db, T0).deliver_tenant(tenant.id) == {"failed": 1}
        [row] = await deliveries(db, tenant.id)
        assert row["next_attempt_at"] == T0 + dt.timedelta(seconds=5)
        # Not due a moment before its time.
        early = T0 + dt.timedelta(seconds=4)
        assert await sender(db, early).deliver_tenant(tenant.id) == {}
        second = T0 + dt.timedelta(seconds=5)
        assert await sender(db, second).deliver_tenant(tenant.id) == {"failed": 1}
        [row] = await deliveries(db, tenant.id)
        assert row["next_attempt_at"] == second + dt.timedelta(minutes=5)
        third = second + dt.timedelta(minutes=5)
        assert await sender(db, third).deliver_tenant(tenant.id) == {"succeeded": 1}
    assert len(receiver.requests) == 3
    # The same webhook-id on every attempt, each signed afresh.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    for request in receiver.requests:
        verify(made.secret, request)
    [row] = await deliveries(db, tenant.id)
    assert (row["status"], row["attempts"]) == ("succeeded", 3)
    tried = await attempts(db, tenant.id, row["id"])
    assert [a["status"] for a in tried] == [500, 500, 200]
    assert [a["attempted_at"] for a in tried] == [T0, second, third]


async def test_a_receiver_that_always_fails_is_dead_lettered_after_the_schedule(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(503, {})]) as receiver:
        await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        now = T0
        await sender(db, now).deliver_tenant(tenant.id)
        for wait in SCHEDULE:
            [row] = await deliveries(db, tenant.id)
            assert row["status"] == "pending"
            assert row["next_attempt_at"] == now + wait
            now += wait
            await sender(db, now).deliver_tenant(tenant.id)
        # Nothing more, however late.
        assert await sender(db, now + dt.timedelta(days=3)).deliver_tenant(tenant.id) == {}
    assert ATTEMPTS == 8
    assert len(receiver.requests) == 8
    [row] = await deliveries(db, tenant.id)
    assert (row["status"], row["attempts"], row["last_status"]) == ("dead", 8, 503)
    assert len(await attempts(db, tenant.id, row["id"])) == 8


async def test_410_disables_the_endpoint_and_tells_the_tenant(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(410, {})]) as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await emit(db, tenant.id, TYPE, {"account_id": 2})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0).deliver_tenant(tenant.id)
        # Disabled: the next due delivery is not sent.
        assert await sender(db, T0 + dt.timedelta(hours=1)).deliver_tenant(tenant.id) == {}
    async with db.tenant(tenant.id) as conn:
        endpoint = await conn.fetchrow(
            "SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1",
            made.endpoint.id,
        )
        told = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE type = 'webhook_endpoint.disabled' "
            "AND 'webhooks' = ANY (channels)"
        )
    assert endpoint["enabled"] is False
    assert endpoint["disabled_reason"] == "the receiver answered 410 Gone"
    assert told == 1
    statuses = sorted(r["status"] for r in await deliveries(db, tenant.id))
    # Both went out in one batch (two accounts) and both were answered 410.
    assert len(receiver.requests) == 2
    assert statuses == ["failed", "failed"]


async def test_retry_after_is_honoured(db: Database, tenants: TenantFactory) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(429, {"retry-after": "120"}), (200, {})]) as receiver:
        await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0).deliver_tenant(tenant.id)
        [row] = await deliveries(db, tenant.id)
        # Not the schedule's 5 seconds: the 120 the receiver asked for.
        assert row["next_attempt_at"] == T0 + dt.timedelta(seconds=120)
        assert await sender(db, T0 + dt.timedelta(seconds=119)).deliver_tenant(tenant.id) == {}
        done = await sender(db, T0 + dt.timedelta(seconds=120)).deliver_tenant(tenant.id)
    assert done == {"succeeded": 1}
    assert len(receiver.requests) == 2


async def test_an_accounts_events_go_out_in_order(db: Database, tenants: TenantFactory) -> None:
    """A later event of the same account waits while an earlier one is being retried;
    another account's is not held back."""
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(500, {}), (200, {})]) as receiver:
        await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1, "n": 1})
        await emit(db, tenant.id, TYPE, {"account_id": 1, "n": 2})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0).deliver_tenant(tenant.id)
        assert len(receiver.requests) == 1
        await emit(db, tenant.id, TYPE, {"account_id": 2, "n": 3})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0 + dt.timedelta(seconds=1)).deliver_tenant(tenant.id)
        later = T0 + dt.timedelta(seconds=5)
        await sender(db, later).deliver_tenant(tenant.id)
    sent = [json.loads(r.body)["data"]["n"] for r in receiver.requests]
    assert sent == [1, 3, 1, 2]


async def test_rotation_signs_with_both_secrets_for_24_hours(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver() as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        async with db.tenant(tenant.id) as conn:
            service = WebhookEndpointService(
                conn, system_actor(tenant.id), lambda: T0, box=BOX, allow_local=True
            )
            rotated = await service.rotate(made.endpoint.id)
        assert rotated.endpoint.previous_secret_until == T0 + dt.timedelta(hours=24)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await emit(db, tenant.id, TYPE, {"account_id": 2})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0 + dt.timedelta(hours=23)).deliver_tenant(tenant.id)
    signatures = receiver.requests[0].headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for request in receiver.requests:
        verify(made.secret, request)
        verify(rotated.secret, request)


async def test_after_24_hours_only_the_new_secret_signs(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver() as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        async with db.tenant(tenant.id) as conn:
            service = WebhookEndpointService(
                conn, system_actor(tenant.id), lambda: T0, box=BOX, allow_local=True
            )
            rotated = await service.rotate(made.endpoint.id)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0 + dt.timedelta(hours=24)).deliver_tenant(tenant.id)
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    verify(rotated.secret, request)
    with pytest.raises(WebhookVerificationError):
        verify(made.secret, request)


async def test_a_second_rotation_waits_until_the_previous_secret_stops_signing(
    db: Database, tenants: TenantFactory
) -> None:
    """Rotating again while the secret before still signs would cut off, without warning,
    the receivers still checking with it: refused until its 24 hours are over."""
    tenant = await tenants.new(with_accounts=False)
    day = dt.timedelta(hours=24)
    async with Receiver() as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)

        async def rotate(at: dt.datetime):  # type: ignore[no-untyped-def]
            async with db.tenant(tenant.id) as conn:
                service = WebhookEndpointService(
                    conn, system_actor(tenant.id), lambda: at, box=BOX, allow_local=True
                )
                return await service.rotate(made.endpoint.id)

        second = await rotate(T0)
        with pytest.raises(Conflict) as refused:
            await rotate(T0 + day - dt.timedelta(seconds=1))
        assert refused.value.detail == (
            "the secret was rotated less than 24 hours ago and the one before it still signs "
            f"until {(T0 + day).isoformat()}: rotate again after that"
        )
        third = await rotate(T0 + day)
        assert third.endpoint.previous_secret_until == T0 + 2 * day
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0 + day).deliver_tenant(tenant.id)
    [request] = receiver.requests
    # The refused rotation changed nothing: the second secret signs beside the third.
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verify(second.secret, request)
    verify(third.secret, request)
    with pytest.raises(WebhookVerificationError):
        verify(made.secret, request)


async def test_replay_sends_again_with_the_same_webhook_id(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(200, {})]) as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0).deliver_tenant(tenant.id)
        [row] = await deliveries(db, tenant.id)
        async with db.tenant(tenant.id) as conn:
            service = WebhookEndpointService(
                conn, system_actor(tenant.id), lambda: T0, box=BOX, allow_local=True
            )
            replayed = await service.replay(row["id"])
            # Nothing failed in the range: nothing to replay.
            none = await service.replay_failed(
                made.endpoint.id,
                ReplayRange(since=T0 - dt.timedelta(days=1), until=T0 + dt.timedelta(days=1)),
            )
        assert replayed.status == "pending"
        assert none.replayed == 0
        await sender(db, T0).deliver_tenant(tenant.id)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]"])
async def test_an_address_that_is_not_public_is_refused_at_delivery(
    db: Database, tenants: TenantFactory, host: str
) -> None:
    """As if the name had resolved to a public address at save and to this one now: a
    deployment without the development setting never connects (the tenant allows plain
    http here, so that the address alone decides)."""
    tenant = await tenants.new(with_accounts=False)
    async with Receiver() as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        port = receiver.url.split(":")[2].split("/")[0]
        async with db.tenant(tenant.id) as conn:
            await conn.execute(
                "UPDATE webhook_endpoints SET url = $2 WHERE id = $1",
                made.endpoint.id,
                f"http://{host}:{port}/hooks",
            )
            await conn.execute(
                'UPDATE tenants SET settings = settings || \'{"webhooks": {"allow_http": true}}\''
            )
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        figures = await sender(db, T0, allow_local=False).deliver_tenant(tenant.id)
        # The same delivery with the development setting on reaches the receiver on loopback.
        if host in ("localhost", "127.0.0.1"):
            later = T0 + dt.timedelta(seconds=5)
            assert await sender(db, later).deliver_tenant(tenant.id) == {"succeeded": 1}
            assert len(receiver.requests) == 1
        else:
            assert receiver.requests == []
    assert figures == {"failed": 1}
    tried = await attempts(db, tenant.id, (await deliveries(db, tenant.id))[0]["id"])
    assert tried[0]["status"] is None
    assert tried[0]["error"] == (
        f"refused: {host.strip('[]')} resolves to an address webhooks may not reach "
        f"({'127.0.0.1' if host == 'localhost' else host.strip('[]')}): only public "
        "addresses are allowed"
    )


async def test_plain_http_is_refused_at_delivery_once_the_tenant_no_longer_allows_it(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver() as receiver:
        await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        figures = await sender(db, T0, allow_local=False).deliver_tenant(tenant.id)
    assert figures == {"failed": 1}
    assert receiver.requests == []
    [row] = await deliveries(db, tenant.id)
    assert (row["status"], row["last_error"]) == ("pending", "plain http is no longer allowed")


@pytest.mark.parametrize("silent_first", [True, False])
async def test_an_endpoint_that_never_answers_does_not_hold_up_another(
    db: Database, tenants: TenantFactory, silent_first: bool
) -> None:
    """Each endpoint goes on its own: the quick one's delivery is done while the request
    to the silent one is still waiting for its timeout (whichever was added first)."""
    assert TIMEOUT_SECONDS == 15
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(0, {})]) as silent, Receiver() as quick:
        if silent_first:
            await add_endpoint(db, tenant.id, silent.url)
        fast = await add_endpoint(db, tenant.id, quick.url)
        if not silent_first:
            await add_endpoint(db, tenant.id, silent.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        patient = Sender(db, BOX, allow_local=True, clock=lambda: T0, timeout=1.0)
        started = time.monotonic()
        job = asyncio.create_task(patient.deliver_tenant(tenant.id))
        done_at = None
        while done_at is None and time.monotonic() - started < 5:
            rows = {r["endpoint_id"]: r for r in await deliveries(db, tenant.id)}
            if rows[fast.endpoint.id]["status"] == "succeeded":
                done_at = time.monotonic() - started
            await asyncio.sleep(0.02)
        waited = not job.done()
        figures = await job
    assert done_at is not None
    assert done_at < 0.5
    assert waited
    assert figures == {"succeeded": 1, "failed": 1}
    slow = next(r for r in await deliveries(db, tenant.id) if r["endpoint_id"] != fast.endpoint.id)
    assert slow["status"] == "pending"
    assert slow["last_error"] == "no answer within 1 s"
    assert 1000 <= slow["last_latency_ms"] < 2000


async def test_a_job_finding_the_endpoints_lane_running_leaves_the_new_work_to_it(
    db: Database, tenants: TenantFactory
) -> None:
    """A worker's sender runs one lane per endpoint: a second job while the first request is
    still out sends nothing itself, and the lane goes round once more for what it staged."""
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(0, {}), (200, {})]) as receiver:
        await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        worker = Sender(db, BOX, allow_local=True, clock=lambda: T0, timeout=10.0, keep=True)
        try:
            first = asyncio.create_task(worker.deliver_tenant(tenant.id))
            for _ in range(250):
                if receiver.requests:
                    break
                await asyncio.sleep(0.02)
            await emit(db, tenant.id, TYPE, {"account_id": 2})
            await stage_events(db, tenant.id, TYPE)
            assert await worker.deliver_tenant(tenant.id) == {}
            assert len(receiver.requests) == 1
            assert await first == {"failed": 1, "succeeded": 1}
        finally:
            await worker.close()
    assert [r["status"] for r in await deliveries(db, tenant.id)] == ["pending", "succeeded"]
    assert len(receiver.requests) == 2
