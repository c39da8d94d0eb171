"""Recoup on two machines with a Redis Cluster and nginx (``stack.py``, docs/deploy.md "More
than one machine"): events cross machines, and a machine lost costs its clients a
reconnect, nothing else."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from channels import names
from channels.redis_layout import plain_url
from tests.faults.clients import Load, Watcher
from tests.faults.ledger import Scale, Scenario, run, table
from tests.faults.stack import until
from tests.faults.test_faults import check
from tests.scaleout.stack import ScaleOutStack

pytestmark = pytest.mark.timeout(600)

OUTAGE = 4.0  # how long the machine stays lost


async def test_a_socket_on_one_machine_hears_what_a_request_to_the_other_commits(
    scaleout: ScaleOutStack,
) -> None:
    tenant = await scaleout.tenant(accounts=2)
    channels = [names.account(a.id) for a in tenant.accounts]
    on = {
        web: Watcher([scaleout.url(web)], tenant.admin, channels, 0) for web in ("web.1", "web.2")
    }
    loads = {web: Load([scaleout.url(web)], tenant) for web in ("web.1", "web.2")}
    try:
        for watcher in on.values():
            watcher.start()
        await until(lambda: all(w.ready for w in on.values()), 60, "both sockets subscribed")
        # Each channel is live on sharded pub/sub, on the primary that serves its slot.
        cluster = aioredis.RedisCluster.from_url(plain_url(scaleout.cluster.url))
        try:
            live = await cluster.execute_command(
                "PUBSUB SHARDCHANNELS", "rt:*", target_nodes=aioredis.RedisCluster.PRIMARIES
            )
        finally:
            await cluster.aclose()
        for channel in channels:
            assert f"rt:{{{names.scoped(tenant.id, channel)}}}".encode() in live

        notes = {}
        for web in ("web.1", "web.2"):
            for account, channel in zip(tenant.accounts, channels, strict=True):
                text = f"from {web} {uuid.uuid4()}"
                answer = await loads[web].request(
                    "POST",
                    f"/api/v1/accounts/{account.id}/interactions",
                    tenant.admin,
                    json={"channel": "note", "notes": text},
                )
                assert answer.status_code == 201, answer.text
                notes[text] = channel

        async def everyone_heard() -> bool:
            async with scaleout.db.tenant(tenant.id) as conn:
                rows = await conn.fetch(
                    "SELECT event_id, data->>'notes' AS notes FROM outbox "
                    "WHERE data->>'notes' = ANY($1::text[])",
                    list(notes),
                )
            if len(rows) < len(notes):
                return False
            heard = {(notes[r["notes"]], str(r["event_id"])) for r in rows}
            return all(w.has(heard) for w in on.values())

        await until(everyone_heard, 30, "every note heard on both machines")
        for watcher in on.values():
            assert max(watcher.frames.values()) == 1  # once each
    finally:
        for watcher in on.values():
            await watcher.stop()
        for load in loads.values():
            await load.close()


async def test_a_machine_lost_moves_its_sockets_to_the_other_with_nothing_lost(
    scaleout: ScaleOutStack,
) -> None:
    """The fault suite's ledger through nginx: load and sockets spread over both machines,
    the first machine lost a third of the way in (every process killed, the cable
    pulled), back after a while."""
    pids: dict[str, int | None] = {}

    async def lose_m1(s: Scenario) -> None:
        on_m1 = ("web.1", "worker.1", "relay.1")
        pids.update({name: scaleout.pid(name) for name in on_m1})
        resumed = sum(w.resumed for w in s.watchers)
        await scaleout.lose(scaleout.m1)
        # The sockets that were on the lost machine come back through nginx on the other.
        await until(lambda: sum(w.resumed for w in s.watchers) > resumed, 30, "a socket resumed")
        s.extra["sockets resumed while lost"] = sum(w.resumed for w in s.watchers) - resumed
        await asyncio.sleep(OUTAGE)
        scaleout.restore(scaleout.m1)

    scale = Scale(operations=48, watchers=6, emails=2, settle_within=90)
    try:
        row = await run(scaleout, "a web machine lost", lose_m1, scale)
    except BaseException:
        print(scaleout.processes_log()[-6000:])
        print(scaleout.nginx_log()[-2000:])
        raise
    print(table([row]))
    check(row)
    assert row.figures["sockets resumed while lost"] > 0, row
    # The lost machine's processes were killed, and its processes run again.
    for name, pid in pids.items():
        assert pid is not None
        await until(lambda n=name, p=pid: scaleout.pid(n) not in (None, p), 30, f"{name} back")
    await scaleout.ready("web.1", within=60)
    # Losing a machine is an outage to log, not a bug: no traceback from any process.
    assert "Traceback" not in scaleout.processes_log(), scaleout.processes_log()[-6000:]
