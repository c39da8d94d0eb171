"""Webhooks in the background: the relay stages deliveries in its own transaction and kicks
one job per tenant; the minute retry job sends what is due (and what a worker that died
mid-request left, with the same webhook-id); a workflow's emit step goes out through the
endpoints; an endpoint failing for 5 days is disabled and the tenant told."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid

import httpx
from standardwebhooks.webhooks import Webhook

from domain.actor import system_actor
from domain.db import Database
from domain.outbox.service import ChangeRecorder
from domain.webhooks import queries
from domain.webhooks.delivery import FAILING_LIMIT, LEASE, Sender
from server.resources import Resources
from tasks.relay import Handoff, Relay
from tasks.webhooks import retry_due, webhook_handoff
from tests.factories import SeededTenant, TenantFactory
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
from tests.integration.workflow_helpers import a_month_ahead, broken, deliver, run_jobs, workflow


async def test_the_relay_stages_deliveries_in_its_transaction_and_kicks_the_tenant(
    db: Database, resources: Resources, tenants: TenantFactory
) -> None:
    assert webhook_handoff(None).stage is queries.STAGE  # type: ignore[arg-type]
    tenant = await tenants.new(with_accounts=False)
    made = await add_endpoint(db, tenant.id, "http://127.0.0.1:9/hooks")
    event_id = await emit(db, tenant.id, TYPE, {"account_id": 4})
    kicked: list[list[int]] = []

    async def kick(tenant_ids: list[int]) -> None:
        kicked.append(tenant_ids)

    relay = Relay(
        db,
        resources.channels,
        handoffs=[Handoff(wants=lambda *_: False, kick=kick, stage=queries.STAGE)],
    )
    async with db.system() as conn:
        published = None
        while published is None:
            await relay.relay_batch()
            published = await conn.fetchval(
                "SELECT published_at FROM outbox WHERE event_id = $1::uuid", event_id
            )
    [row] = await deliveries(db, tenant.id)
    assert (row["endpoint_id"], str(row["event_id"]), row["account_id"]) == (
        made.endpoint.id,
        event_id,
        4,
    )
    assert (row["status"], row["next_attempt_at"]) == ("pending", T0)
    # Kicked by this relay unless the session's own relay published the batch first (it
    # stages the same way; the delivery is there either way, once).
    assert all(tenant.id in batch for batch in kicked if tenant.id in batch)
    async with db.system() as conn:
        again = await queries.stage(
            conn,
            [await conn.fetchval("SELECT id FROM outbox WHERE event_id = $1::uuid", event_id)],
        )
    assert again == []
    assert len(await deliveries(db, tenant.id)) == 1


async def test_the_retry_job_sends_what_a_dead_worker_left_with_the_same_webhook_id(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver() as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        # A worker claims the delivery, then dies before recording anything.
        async with db.tenant(tenant.id) as conn:
            [claimed] = await queries.claim(conn, made.endpoint.id, T0, LEASE, 10, uuid.uuid4())
        # Leased: neither the kick nor the retry job sends it again before the lease is over.
        # (Other tests' due deliveries go out too: the job is every tenant's.)
        await retry_due(sender(db, T0 + LEASE - dt.timedelta(seconds=1)))
        assert receiver.requests == []
        figures = await retry_due(sender(db, T0 + LEASE))
        assert figures.get("succeeded", 0) >= 1
    [request] = receiver.requests
    assert request.headers["webhook-id"] == claimed["webhook_id"]
    Webhook(made.secret).verify(request.body, request.headers)
    [row] = await deliveries(db, tenant.id)
    # The dead worker's attempt counts (the receiver may have had it), then the one that landed.
    assert (row["status"], row["attempts"]) == ("succeeded", 2)
    cut, landed = await attempts(db, tenant.id, row["id"])
    assert (cut["attempted_at"], cut["status"], cut["latency_ms"]) == (T0, None, None)
    assert cut["error"] == queries.INTERRUPTED
    assert (landed["attempted_at"], landed["status"]) == (T0 + LEASE, 200)


async def test_a_worker_that_lost_its_lease_records_nothing(
    db: Database, tenants: TenantFactory
) -> None:
    """A worker stalled past its lease, whose delivery another took over, does not record
    its outcome over the other's: the attempts stay one row each."""
    tenant = await tenants.new(with_accounts=False)
    made = await add_endpoint(db, tenant.id, "http://127.0.0.1:9/hooks")
    await emit(db, tenant.id, TYPE, {"account_id": 1})
    await stage_events(db, tenant.id, TYPE)
    stalled, fresh = uuid.uuid4(), uuid.uuid4()
    later = T0 + LEASE

    async def record(conn, delivery_id: int, token: uuid.UUID) -> bool:  # type: ignore[no-untyped-def]
        done = queries.Attempt(delivery_id, 200, 7, "ok", None, "succeeded", later)
        recorded = await queries.record_attempts(conn, later, token, [done])
        return recorded == [delivery_id]

    async with db.tenant(tenant.id) as conn:
        [first] = await queries.claim(conn, made.endpoint.id, T0, LEASE, 10, stalled)
        assert first["attempts"] == 0
        assert (
            await queries.claim(
                conn, made.endpoint.id, later - dt.timedelta(seconds=1), LEASE, 10, fresh
            )
            == []
        )
        # Renewed, the lease holds past its first end.
        assert await queries.renew(conn, [first["id"]], stalled, later + LEASE) == 1
        assert await queries.claim(conn, made.endpoint.id, later, LEASE, 10, fresh) == []
        [second] = await queries.claim(conn, made.endpoint.id, later + LEASE, LEASE, 10, fresh)
        assert second["attempts"] == 1
        assert await queries.renew(conn, [first["id"]], stalled, later + 2 * LEASE) == 0
        assert not await record(conn, first["id"], stalled)
        assert await record(conn, second["id"], fresh)
    [row] = await deliveries(db, tenant.id)
    assert (row["status"], row["attempts"], row["lease"]) == ("succeeded", 2, None)
    cut, landed = await attempts(db, tenant.id, row["id"])
    assert (cut["attempted_at"], cut["error"]) == (T0, queries.INTERRUPTED)
    assert (landed["status"], landed["latency_ms"]) == (200, 7)


async def test_a_batch_goes_out_under_one_lease_renewed_while_its_requests_are_out(
    db: Database, tenants: TenantFactory
) -> None:
    """Two deliveries claimed in one batch share one lease, renewed for both every third of
    it while their requests are out; one taken over meanwhile by another worker (as after a
    stall) keeps its own lease and its interrupted attempt, and the batch records the other
    one alone."""
    tenant = await tenants.new(with_accounts=False)
    begun = time.monotonic()

    def clock() -> dt.datetime:
        return T0 + dt.timedelta(seconds=time.monotonic() - begun)

    lease = dt.timedelta(seconds=1.5)
    receiver = Receiver(script=[(0, {})], release=asyncio.Event())
    async with receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        for account in (1, 2):
            await emit(db, tenant.id, TYPE, {"account_id": account})
        await stage_events(db, tenant.id, TYPE)
        worker = Sender(db, BOX, allow_local=True, clock=clock, spread=lambda: 1.0, lease=lease)
        job = asyncio.create_task(worker.deliver_tenant(tenant.id))
        for _ in range(250):
            if len(receiver.requests) == 2:
                break
            await asyncio.sleep(0.02)
        first, second = await deliveries(db, tenant.id)
        assert first["lease"] is not None
        assert (second["lease"], second["sending_since"]) == (
            first["lease"],
            first["sending_since"],
        )
        await asyncio.sleep(lease.total_seconds() / 3 + 0.3)
        renewed = await deliveries(db, tenant.id)
        assert [r["locked_until"] > first["locked_until"] for r in renewed] == [True, True]
        other, at = uuid.uuid4(), clock() + dt.timedelta(hours=1)
        async with db.tenant(tenant.id) as conn:
            [taken] = await queries.claim(conn, made.endpoint.id, at, lease, 1, other)
        assert taken["id"] == first["id"]
        await asyncio.sleep(lease.total_seconds() / 3 + 0.3)
        assert receiver.release is not None
        receiver.release.set()
        assert await job == {"failed": 2}
    assert len(receiver.requests) == 2
    lost, kept = await deliveries(db, tenant.id)
    # The taken-over one: the other worker's lease, untouched by the first one's renewals.
    assert (lost["status"], lost["attempts"], lost["lease"]) == ("pending", 1, other)
    assert (lost["locked_until"], lost["last_error"]) == (at + lease, queries.INTERRUPTED)
    [cut] = await attempts(db, tenant.id, lost["id"])
    assert (cut["status"], cut["error"]) == (None, queries.INTERRUPTED)
    assert (kept["status"], kept["attempts"], kept["lease"]) == ("pending", 1, None)
    assert (kept["sending_since"], kept["locked_until"]) == (None, None)
    [tried] = await attempts(db, tenant.id, kept["id"])
    assert tried["error"] == kept["last_error"]
    assert kept["last_error"] == "the receiver closed the connection without answering"


async def test_a_workflows_emit_step_goes_out_through_the_endpoints(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    clock = a_month_ahead()
    flow = await workflow(
        client,
        tenant,
        "promise.broken",
        [{"kind": "emit", "event": "booked", "data": {"n": 1}}],
    )
    account = tenant.accounts[0]
    async with Receiver() as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url, event_types=["workflow.booked"])
        await deliver(db, tenant.id, "promise.broken", broken(account.id))
        assert (await run_jobs(db, tenant.id, clock))["events"] == 1
        assert await stage_events(db, tenant.id, "workflow.booked") == 1
        later = clock() + dt.timedelta(seconds=1)
        assert await sender(db, later).deliver_tenant(tenant.id) == {"succeeded": 1}
    [request] = receiver.requests
    payload = Webhook(made.secret).verify(request.body, request.headers)
    assert payload["type"] == "workflow.booked"
    assert payload["data"]["workflow_id"] == flow["id"]
    assert payload["data"]["account_id"] == account.id
    assert payload["data"]["data"] == {"n": 1}
    assert json.loads(request.body)["data"]["event"] == "booked"


async def test_an_endpoint_failing_for_5_days_is_disabled_and_the_tenant_told(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(500, {})]) as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        url = receiver.url

        async def fail_at(at: dt.datetime, account_id: int) -> None:
            await emit(db, tenant.id, TYPE, {"account_id": account_id}, at=at)
            await stage_events(db, tenant.id, TYPE)
            await sender(db, at).deliver_tenant(tenant.id)

        await fail_at(T0, 1)
        await fail_at(T0 + FAILING_LIMIT - dt.timedelta(seconds=1), 2)
        async with db.tenant(tenant.id) as conn:
            state = await conn.fetchrow(
                "SELECT enabled, failing_since FROM webhook_endpoints WHERE id = $1",
                made.endpoint.id,
            )
        assert (state["enabled"], state["failing_since"]) == (True, T0)
        await fail_at(T0 + FAILING_LIMIT, 3)
    async with db.tenant(tenant.id) as conn:
        state = await conn.fetchrow(
            "SELECT enabled, disabled_reason FROM webhook_endpoints WHERE id = $1",
            made.endpoint.id,
        )
        told = await conn.fetch("SELECT data FROM outbox WHERE type = 'webhook_endpoint.disabled'")
    assert (state["enabled"], state["disabled_reason"]) == (False, "failing for 5 days")
    assert [json.loads(t["data"]) if isinstance(t["data"], str) else t["data"] for t in told] == [
        {"id": made.endpoint.id, "url": url, "reason": "failing for 5 days"}
    ]


async def test_a_success_clears_the_failing_mark(db: Database, tenants: TenantFactory) -> None:
    tenant = await tenants.new(with_accounts=False)
    async with Receiver([(500, {}), (200, {})]) as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0).deliver_tenant(tenant.id)
        await sender(db, T0 + dt.timedelta(seconds=5)).deliver_tenant(tenant.id)
    async with db.tenant(tenant.id) as conn:
        since = await conn.fetchval(
            "SELECT failing_since FROM webhook_endpoints WHERE id = $1", made.endpoint.id
        )
    assert since is None


async def test_the_debtor_pages_view_of_a_change_is_not_sent_again(
    db: Database, tenants: TenantFactory
) -> None:
    """A payment writes its event twice, for staff and for the debtor's page (``pay:``):
    an endpoint gets it once."""
    tenant = await tenants.new(with_accounts=False)
    await add_endpoint(db, tenant.id, "http://127.0.0.1:9/hooks")
    async with db.tenant(tenant.id) as conn:
        recorder = ChangeRecorder(conn, system_actor(tenant.id), lambda: T0)
        await recorder.event(TYPE, ["account:5", "wallboard"], {"account_id": 5, "view": "staff"})
        await recorder.event(TYPE, ["pay:5"], {"account_id": 5, "view": "debtor"})
    assert await stage_events(db, tenant.id, TYPE) == 1
    [row] = await deliveries(db, tenant.id)
    assert json.loads(row["payload"])["data"]["view"] == "staff"


async def test_an_event_is_ordered_by_its_own_account_else_by_the_account_it_goes_to(
    db: Database, tenants: TenantFactory
) -> None:
    """A payment names its account only inside (``payment.account_id``) and in its channels:
    its deliveries wait for that account's earlier ones, not for every other event's."""
    tenant = await tenants.new(with_accounts=False)
    await add_endpoint(db, tenant.id, "http://127.0.0.1:9/hooks")
    async with db.tenant(tenant.id) as conn:
        recorder = ChangeRecorder(conn, system_actor(tenant.id), lambda: T0)
        for channels, data in (
            (["account:7", "wallboard"], {"payment": {"account_id": 7}}),
            (["wallboard", "account:123456789012345678"], {}),
            (["account:8"], {"account_id": 9}),
            (["wallboard", "account:x", "account:1234567890123456789"], {}),
            ([], {"account_id": "12"}),
        ):
            await recorder.event(TYPE, channels, data)
    assert await stage_events(db, tenant.id, TYPE) == 5
    assert [r["account_id"] for r in await deliveries(db, tenant.id)] == [
        7,
        123456789012345678,
        9,
        0,
        12,
    ]
