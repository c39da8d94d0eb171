"""Changes to the tenant's setup (queues, rules, settings) are events on the ``tenant``
channel, so the screens that configure them stay live for everyone watching."""

from __future__ import annotations

import pytest

from tests.factories import SeededTenant
from tests.realtime import events, open_socket, subscribe

pytestmark = pytest.mark.usefixtures("relay")


async def test_queue_rule_and_settings_changes_reach_the_tenant_channel(
    client, live_server, tenant: SeededTenant
) -> None:
    admin = tenant.admin.headers
    watcher = await open_socket(client, live_server, tenant.supervisor)
    assert (await subscribe(watcher, "tenant"))["op"] == "subscribed"
    collector = await open_socket(client, live_server, tenant.collector)
    refused = await subscribe(collector, "tenant")
    assert (refused["op"], refused["code"]) == ("error", "forbidden")

    created = await client.post("/api/v1/queues", json={"name": "Live queue"}, headers=admin)
    assert created.status_code == 201
    queue_id = created.json()["id"]
    assert (
        await client.patch(
            f"/api/v1/queues/{queue_id}", json={"name": "Renamed queue"}, headers=admin
        )
    ).status_code == 200
    rule = await client.post(
        "/api/v1/rules",
        json={
            "name": "Live rule",
            "conditions": [{"field": "days_past_due", "op": "at_least", "value": 10_000}],
            "queue_id": queue_id,
        },
        headers=admin,
    )
    assert rule.status_code == 201
    rule_id = rule.json()["id"]
    assert (await client.post(f"/api/v1/rules/{rule_id}/run", headers=admin)).status_code == 201
    assert (await client.delete(f"/api/v1/rules/{rule_id}", headers=admin)).status_code == 204
    assert (await client.delete(f"/api/v1/queues/{queue_id}", headers=admin)).status_code == 204
    assert (
        await client.patch("/api/v1/tenant", json={"name": "Live Tenant"}, headers=admin)
    ).status_code == 200

    got = await events(watcher, 7)
    assert [(e["type"], e["channel"]) for e in got] == [
        ("queue.created", "tenant"),
        ("queue.updated", "tenant"),
        ("rule.created", "tenant"),
        ("rule.run", "tenant"),
        ("rule.deleted", "tenant"),
        ("queue.deleted", "tenant"),
        ("tenant.updated", "tenant"),
    ]
    assert got[1]["data"]["name"] == "Renamed queue"
    assert got[3]["data"]["created"] == 0
    assert got[4]["data"] == {"id": rule_id}
    assert got[6]["data"]["name"] == "Live Tenant"
    await watcher.close()
    await collector.close()
