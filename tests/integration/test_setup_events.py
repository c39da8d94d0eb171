"""Changes to the tenant's setup (queues, rules, settings) are events on the ``tenant``
channel, so the screens that configure them stay live for everyone watching."""

from __future__ import annotations

import pytest

from tests.factories import SeededTenant
from tests.realtime import events, open_socket, silence, subscribe

pytestmark = pytest.mark.usefixtures("relay")
RULES_CHANGED = "tenant.contact_rules_changed"


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

    # The tenant's own setup (its creation, its users) may still be on its way: only these.
    setup = ("queue.", "rule.", "tenant.updated")
    got = []
    while len(got) < 7:
        (event,) = await events(watcher, 1)
        if event["type"].startswith(setup):
            got.append(event)
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


async def test_workflow_and_template_changes_reach_the_tenant_channel(
    client, live_server, tenant: SeededTenant
) -> None:
    supervisor = tenant.supervisor.headers
    watcher = await open_socket(client, live_server, tenant.admin)
    assert (await subscribe(watcher, "tenant"))["op"] == "subscribed"

    template = await client.post(
        "/api/v1/templates",
        json={"name": "Live text", "channel": "sms", "body": "Hello {{ debtor.first_name }}"},
        headers=supervisor,
    )
    assert template.status_code == 201, template.text
    template_id = template.json()["id"]
    assert (
        await client.patch(
            f"/api/v1/templates/{template_id}", json={"name": "Live text 2"}, headers=supervisor
        )
    ).status_code == 200
    flow = await client.post(
        "/api/v1/workflows",
        json={
            "name": "Live flow",
            "trigger": {"type": "promise.broken"},
            "steps": [{"kind": "send_sms", "template_id": template_id}],
        },
        headers=supervisor,
    )
    assert flow.status_code == 201, flow.text
    flow_id = flow.json()["id"]
    assert (
        await client.patch(
            f"/api/v1/workflows/{flow_id}", json={"enabled": False}, headers=supervisor
        )
    ).status_code == 200
    assert (
        await client.delete(f"/api/v1/workflows/{flow_id}", headers=supervisor)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/templates/{template_id}", headers=supervisor)
    ).status_code == 204

    got = await events(watcher, 6)
    assert [(e["type"], e["channel"]) for e in got] == [
        ("template.created", "tenant"),
        ("template.updated", "tenant"),
        ("workflow.created", "tenant"),
        ("workflow.updated", "tenant"),
        ("workflow.deleted", "tenant"),
        ("template.deleted", "tenant"),
    ]
    assert got[1]["data"]["name"] == "Live text 2"
    assert (got[3]["data"]["id"], got[3]["data"]["enabled"]) == (flow_id, False)
    assert got[4]["data"] == {"id": flow_id}
    assert got[5]["data"] == {"id": template_id}
    await watcher.close()


async def test_new_contact_rules_reach_every_active_users_own_channel(
    client, live_server, tenant: SeededTenant
) -> None:
    """A collector cannot hear the tenant channel, yet their queue shows when each debtor may
    be called: new contact hours (or a new tenant zone) reach them on their own channel.
    Other settings do not."""
    admin = tenant.admin.headers
    collector = await open_socket(client, live_server, tenant.collector)
    assert (await subscribe(collector, f"agent:{tenant.collector.id}"))["op"] == "subscribed"
    readonly = await open_socket(client, live_server, tenant.readonly)
    assert (await subscribe(readonly, f"agent:{tenant.readonly.id}"))["op"] == "subscribed"

    renamed = await client.patch("/api/v1/tenant", json={"name": "Quiet"}, headers=admin)
    assert renamed.status_code == 200
    contact = renamed.json()["settings"]["contact"]
    # Unchanged contact rules sent again are no news either.
    same = await client.patch("/api/v1/tenant", json={"contact": contact}, headers=admin)
    assert same.status_code == 200
    heard = [e.get("type") for e in await silence(collector)]
    assert RULES_CHANGED not in heard, heard

    earlier = {**contact, "window_end": "20:00"}
    changed = await client.patch("/api/v1/tenant", json={"contact": earlier}, headers=admin)
    assert changed.status_code == 200
    for ws, user in ((collector, tenant.collector), (readonly, tenant.readonly)):
        (got,) = await events(ws, 1, of_type=RULES_CHANGED)
        assert got["channel"] == f"agent:{user.id}"
        assert got["data"]["contact"]["window_end"] == "20:00"
        assert got["data"]["time_zone"] == changed.json()["time_zone"]

    zone = await client.patch("/api/v1/tenant", json={"time_zone": "Asia/Tokyo"}, headers=admin)
    assert zone.status_code == 200
    (got,) = await events(collector, 1, of_type=RULES_CHANGED)
    assert got["data"]["time_zone"] == "Asia/Tokyo"
    await collector.close()
    await readonly.close()
