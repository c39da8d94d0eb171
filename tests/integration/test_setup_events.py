"""Changes to the tenant's setup are events, so the screens that configure them stay live
for everyone watching, on the channel of those who may read them over the API: settings,
queues and groups on ``tenant`` (all staff), users, rules, workflows and templates on
``setup`` (managers), webhook endpoints on ``webhooks`` (admins)."""

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
    assert (await subscribe(watcher, "setup"))["op"] == "subscribed"
    collector = await open_socket(client, live_server, tenant.collector)
    for channel in ("tenant", "setup"):
        refused = await subscribe(collector, channel)
        assert (refused["op"], refused["code"]) == ("error", "forbidden")
    # Read-only users read the tenant's settings and queues, not its rules.
    readonly = await open_socket(client, live_server, tenant.readonly)
    assert (await subscribe(readonly, "tenant"))["op"] == "subscribed"
    refused = await subscribe(readonly, "setup")
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
        ("rule.created", "setup"),
        ("rule.run", "setup"),
        ("rule.deleted", "setup"),
        ("queue.deleted", "tenant"),
        ("tenant.updated", "tenant"),
    ]
    heard: list[str] = []
    while "Live Tenant" not in heard:
        (event,) = await events(readonly, 1)
        heard += [event["type"], event["data"].get("name")]
    heard = [t for t in heard if isinstance(t, str) and "." in t]
    assert [t for t in heard if t.startswith(setup)] == [
        "queue.created",
        "queue.updated",
        "queue.deleted",
        "tenant.updated",
    ]
    assert not [t for t in heard if t.startswith(("rule.", "user."))], heard
    assert got[1]["data"]["name"] == "Renamed queue"
    assert got[3]["data"]["created"] == 0
    assert got[4]["data"] == {"id": rule_id}
    assert got[6]["data"]["name"] == "Live Tenant"
    await watcher.close()
    await collector.close()
    await readonly.close()


async def test_workflow_and_template_changes_reach_the_tenant_channel(
    client, live_server, tenant: SeededTenant
) -> None:
    supervisor = tenant.supervisor.headers
    watcher = await open_socket(client, live_server, tenant.admin)
    assert (await subscribe(watcher, "setup"))["op"] == "subscribed"

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
        ("template.created", "setup"),
        ("template.updated", "setup"),
        ("workflow.created", "setup"),
        ("workflow.updated", "setup"),
        ("workflow.deleted", "setup"),
        ("template.deleted", "setup"),
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


async def test_webhook_endpoints_are_heard_by_admins_alone(
    client, live_server, tenant: SeededTenant
) -> None:
    """An endpoint's address may hold a token: supervisors cannot read endpoints over the API,
    nor hear of them."""
    admin = await open_socket(client, live_server, tenant.admin)
    assert (await subscribe(admin, "webhooks"))["op"] == "subscribed"
    supervisor = await open_socket(client, live_server, tenant.supervisor)
    refused = await subscribe(supervisor, "webhooks")
    assert (refused["op"], refused["code"]) == ("error", "forbidden")
    for channel in ("tenant", "setup"):
        assert (await subscribe(supervisor, channel))["op"] == "subscribed"

    url = "https://93.184.215.14/hooks?token=kept-between-admins"
    made = await client.post(
        "/api/v1/webhook-endpoints",
        json={"url": url, "event_types": ["payment.received"]},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    (event,) = await events(admin, 1, of_type="webhook_endpoint.created")
    assert (event["channel"], event["data"]["url"]) == ("webhooks", url)
    heard = await silence(supervisor)
    assert not [f for f in heard if "kept-between-admins" in str(f)], heard
    await admin.close()
    await supervisor.close()
