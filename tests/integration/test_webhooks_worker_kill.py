"""A worker killed in the middle of a delivery (SIGKILL, the receiver holding the request):
nothing is lost, and the only other request the receiver gets is the same delivery again,
with the same ``webhook-id`` (which it de-duplicates by) and a valid signature. The real
processes run: a scheduler whose retry job takes over what the dead worker held once its
lease is over, and the workers, on a stream of jobs of their own (JOBS_QUEUE) so that no
other test's worker can take the delivery."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator

import pytest
from standardwebhooks.webhooks import Webhook

from config.settings import Settings
from domain.clock import utcnow
from domain.db import Database
from domain.webhooks import queries
from tasks.webhooks import RETRY_SECONDS
from tests.factories import TenantFactory
from tests.integration.webhook_helpers import TYPE, Receiver, add_endpoint, attempts, sender
from tests.job_processes import JobProcesses

LEASE_SECONDS = 6


@pytest.fixture
def processes(settings: Settings) -> Iterator[JobProcesses]:
    made = JobProcesses(
        settings,
        "webhooks-kill",
        WEBHOOKS_ALLOW_LOCAL="true",
        WEBHOOKS_LEASE_SECONDS=str(LEASE_SECONDS),
        LOG_LEVEL="INFO",
    )
    try:
        yield made
    finally:
        made.stop()


async def wait_for(check, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        await asyncio.sleep(0.1)


async def stage(db: Database, tenant_id: int, endpoint_id: int) -> int:
    """A delivery due now, as the relay stages one (but no relay kicks a job for it: only
    this test's scheduler, through its retry job, sends it)."""
    payload = json.dumps({"type": TYPE, "timestamp": "2026-11-30T21:30:00Z", "data": {}})
    async with db.tenant(tenant_id) as conn:
        return await conn.fetchval(
            """INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, webhook_id,
              event_type, account_id, payload, occurred_at, next_attempt_at)
            VALUES ($1, $2, $3, $4, $5, 1, $6, now(), now()) RETURNING id""",
            tenant_id,
            endpoint_id,
            uuid.uuid4(),
            f"msg_{uuid.uuid4().hex}",
            TYPE,
            payload,
        )


async def test_a_worker_killed_mid_delivery_loses_nothing_and_sends_only_the_same_id_again(
    db: Database, tenants: TenantFactory, processes: JobProcesses
) -> None:
    tenant = await tenants.new(with_accounts=False)
    # The first request is held unanswered; the next ones get a 200.
    receiver = Receiver(script=[(0, {}), (200, {})], release=asyncio.Event())
    async with receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        delivery_id = await stage(db, tenant.id, made.endpoint.id)

        async def row() -> dict:
            async with db.tenant(tenant.id) as conn:
                found = await conn.fetchrow(
                    "SELECT * FROM webhook_deliveries WHERE id = $1", delivery_id
                )
            return dict(found)

        processes.start("scheduler")
        first = processes.start("worker")

        def requested(count: int):  # type: ignore[no-untyped-def]
            async def check() -> bool:
                return len(receiver.requests) >= count

            return check

        await wait_for(requested(1), 60)
        # Mid-delivery: claimed, its attempt begun, nothing recorded yet.
        held = await row()
        assert (held["status"], held["attempts"]) == ("pending", 0)
        assert held["lease"] is not None
        assert held["sending_since"] is not None
        began = held["sending_since"]
        # The worker renews its lease while the request is out (every third of the lease).
        await asyncio.sleep(LEASE_SECONDS / 3 + 1)
        assert (await row())["locked_until"] > held["locked_until"]
        killed_at = time.monotonic()
        processes.kill(first)
        # Nothing sends it again while the dead worker's lease runs.
        processes.start("worker")
        await wait_for(requested(2), 40)
        # Back within a lease and a retry interval of the kill (and the new worker's start):
        # well within the 30 seconds a job whose worker died may wait.
        assert receiver.requests[1].at - killed_at <= 30

        async def delivered() -> bool:
            return (await row())["status"] == "succeeded"

        await wait_for(delivered, 10)
        # Two more rounds of the retry job: nothing goes out a third time.
        await asyncio.sleep(2 * RETRY_SECONDS + 1)
        # Nor when the job runs again (as a job redelivered by the broker would).
        assert await sender(db, utcnow() + dt.timedelta(hours=1)).deliver_tenant(tenant.id) == {}
    assert len(receiver.requests) == 2
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert ids == {held["webhook_id"]}
    for request in receiver.requests:
        assert Webhook(made.secret).verify(request.body, request.headers)["type"] == TYPE
    final = await row()
    assert (final["status"], final["attempts"], final["last_status"]) == ("succeeded", 2, 200)
    assert (final["lease"], final["sending_since"], final["locked_until"]) == (None, None, None)
    assert final["last_error"] is None
    cut, landed = await attempts(db, tenant.id, delivery_id)
    # The attempt the dead worker began, recorded when the new one took the delivery over.
    assert (cut["attempted_at"], cut["status"], cut["latency_ms"]) == (began, None, None)
    assert cut["error"] == queries.INTERRUPTED
    assert landed["status"] == 200
    assert landed["error"] is None
    assert landed["attempted_at"] > began + dt.timedelta(seconds=LEASE_SECONDS)
