"""The wallboard channel's snapshot (``wallboard.kpis``): the figures of GET
/api/v1/stats/realtime, sent to the tenants someone watches, not resent unchanged, and sent
by the real scheduler and worker every few seconds."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from structlog.testing import capture_logs

from channels import names
from channels.redis_backend import RedisBackend, live_key
from config.settings import Settings
from domain.outbox import events
from domain.stats.schemas import (
    Calls,
    Collected,
    Promises,
    QueueFigures,
    QueueThresholds,
    Realtime,
    Tasks,
)
from tasks.stats import RESEND_SECONDS, SNAPSHOT_SECONDS, Snapshots, fingerprint, wallboard_kpis
from tests.conftest import RECOUP, ROOT, recoup_env
from tests.factories import SeededTenant, TenantFactory
from tests.realtime import events as next_events
from tests.realtime import open_socket, silence, subscribe

pytestmark = pytest.mark.usefixtures("live_server")


@pytest.fixture
async def snapshots(db, redis_url: str) -> AsyncIterator[Snapshots]:  # type: ignore[no-untyped-def]
    backend = RedisBackend(redis_url)
    yield Snapshots(db, backend)
    await backend.stop()


def steady(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures without the clock (what a snapshot and a later GET share)."""
    queues = [{**q, "oldest_seconds": None} for q in figures["queues"]]
    return {**figures, "as_of": None, "queues": queues}


async def realtime(client: httpx.AsyncClient, tenant: SeededTenant) -> dict[str, Any]:
    response = await client.get("/api/v1/stats/realtime", headers=tenant.supervisor.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def pay(client: httpx.AsyncClient, tenant: SeededTenant, amount: str) -> None:
    paid = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payments",
        json={"amount": amount, "currency": "USD", "method": "cash"},
        headers={**tenant.collector.headers, "Idempotency-Key": f"kpis-{amount}-{tenant.id}"},
    )
    assert paid.status_code == 201, paid.text


async def test_a_snapshot_is_todays_figures_on_the_wallboard_channel(
    client: httpx.AsyncClient, live_server: str, tenant: SeededTenant, snapshots: Snapshots
) -> None:
    await pay(client, tenant, "12.34")
    ws = await open_socket(client, live_server, tenant.supervisor)
    assert (await subscribe(ws, "wallboard"))["op"] == "subscribed"

    assert await snapshots.send(tenant.id, force=True)
    [snapshot] = await next_events(ws, 1, of_type=events.WALLBOARD_KPIS)
    assert snapshot["channel"] == "wallboard"
    assert steady(snapshot["data"]) == steady(await realtime(client, tenant))
    assert snapshot["data"]["collected"][0]["amount"] == "12.34"
    await ws.close()


async def test_only_watched_tenants_get_snapshots_and_unchanged_ones_wait(
    client: httpx.AsyncClient,
    live_server: str,
    tenants: TenantFactory,
    tenant: SeededTenant,
    snapshots: Snapshots,
) -> None:
    unwatched = await tenants.new(defaults=False)
    ws = await open_socket(client, live_server, tenant.supervisor)
    await subscribe(ws, "wallboard")
    collector_ws = await open_socket(client, live_server, unwatched.collector)
    await subscribe(collector_ws, "agent:me")  # a socket, but nobody on its wallboard

    sent = await snapshots.send_all()
    assert tenant.id in sent
    assert unwatched.id not in sent
    await next_events(ws, 1, of_type=events.WALLBOARD_KPIS)

    # Within the lease nothing is computed again, changed or not.
    await pay(client, tenant, "1.00")
    assert not await snapshots.send(tenant.id)
    # After it, an unchanged snapshot is not sent again ...
    redis = snapshots.redis
    await redis.delete(f"recoup:kpis:lease:{tenant.id}")
    assert await snapshots.send(tenant.id)  # the payment changed it
    await redis.delete(f"recoup:kpis:lease:{tenant.id}")
    assert not await snapshots.send(tenant.id)  # nothing changed since
    ttl = await redis.ttl(f"recoup:kpis:last:{tenant.id}")
    assert 0 < ttl <= RESEND_SECONDS  # ... for at most this long
    # ... and a change is.
    await pay(client, tenant, "2.00")
    await redis.delete(f"recoup:kpis:lease:{tenant.id}")
    assert await snapshots.send(tenant.id)
    got = await next_events(ws, 2, of_type=events.WALLBOARD_KPIS)
    assert [s["data"]["collected"][0]["amount"] for s in got] == ["1.00", "3.00"]
    # No further figures (the payments' own events come through the relay, in their time).
    later = await silence(ws, 0.3)
    assert [f for f in later if f.get("type") == events.WALLBOARD_KPIS] == []
    await ws.close()
    await collector_ws.close()


def test_the_fingerprint_leaves_out_the_clock_and_nothing_else() -> None:

    base = Realtime(
        as_of=dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC),
        today=dt.date(2026, 11, 30),
        time_zone="UTC",
        group_id=None,
        queue_id=None,
        collected=[Collected(currency="USD", amount=Decimal("1.00"), count=1)],
        promises=Promises(made_today=0, due_today=0, broken_today=0, kept_rate_7d=None),
        calls=Calls(attempted_today=0, right_party_today=0, right_party_rate=None),
        tasks=Tasks(open_by_status={}, open_by_priority={}, completed_today=0),
        queues=[
            QueueFigures(
                id=1,
                name="Q",
                depth=1,
                oldest_seconds=10,
                oldest_since=dt.datetime(2026, 11, 30, 11, tzinfo=dt.UTC),
            )
        ],
        queue_thresholds=QueueThresholds(warn_seconds=900, alert_seconds=3600),
        agents_by_status={},
        agents=[],
        by_hour=[],
        feed=[],
    )
    replace = msgspec.structs.replace
    later = replace(
        base,
        as_of=base.as_of + dt.timedelta(seconds=5),
        queues=[replace(base.queues[0], oldest_seconds=15)],
    )
    assert fingerprint(later) == fingerprint(base)
    more = replace(base, collected=[replace(base.collected[0], amount=Decimal("1.01"))])
    assert fingerprint(more) != fingerprint(base)
    deeper = replace(base, queues=[replace(base.queues[0], depth=2)])
    assert fingerprint(deeper) != fingerprint(base)


@pytest.fixture
def scheduler(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    log = (ROOT / ".recoup" / "test-scheduler.log").open("wb")
    process = subprocess.Popen(
        [*RECOUP, "scheduler"], cwd=ROOT, env=recoup_env(settings), stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


async def test_the_scheduler_and_worker_send_snapshots_every_few_seconds(
    scheduler, worker, client: httpx.AsyncClient, live_server: str, tenant: SeededTenant
) -> None:
    assert wallboard_kpis.labels["schedule"] == [{"interval": SNAPSHOT_SECONDS}]
    ws = await open_socket(client, live_server, tenant.supervisor)
    await subscribe(ws, "wallboard")
    # The scheduler starts on the next second; snapshots follow every SNAPSHOT_SECONDS.
    [first] = await next_events(ws, 1, within=30, of_type=events.WALLBOARD_KPIS)
    assert steady(first["data"]) == steady(await realtime(client, tenant))
    await pay(client, tenant, "4.56")
    for _ in range(3):  # the payment's own events arrive first, then the next snapshot
        [later] = await next_events(
            ws, 1, within=SNAPSHOT_SECONDS * 3, of_type=events.WALLBOARD_KPIS
        )
        if later["data"]["collected"]:
            break
    assert later["data"]["collected"][0]["amount"] == "4.56"
    await ws.close()


async def test_a_wallboard_watched_for_a_tenant_this_database_lacks_is_skipped_quietly(
    tenant: SeededTenant, snapshots: Snapshots
) -> None:
    """Pub/sub is one namespace for every database of a Redis server: another deployment's
    wallboard (a tenant id this database does not have) is none of ours, and no error."""
    stranger = 9_000_000_000_000
    listener = snapshots.redis.pubsub()
    await listener.subscribe(live_key(names.scoped(stranger, names.WALLBOARD)))
    try:
        with capture_logs() as logged:
            sent = await snapshots.send_all()
        assert stranger not in sent
        assert [e for e in logged if e["log_level"] in ("warning", "error")] == []
    finally:
        await listener.unsubscribe()
        await listener.aclose()
