"""Webhook endpoints over the API: who may manage them, the secret shown once and kept
encrypted, rotation, the address policy at save time (the deployment's development setting
off, as in production), another tenant's ids, and deliveries listed and replayed."""

from __future__ import annotations

import base64
import datetime as dt

import httpx
import pytest

from domain.db import Database
from domain.webhooks.signing import SecretBox
from tests.conftest import SECRET
from tests.factories import SeededTenant, TenantFactory
from tests.integration.asvs_helpers import bearer
from tests.integration.webhook_helpers import TYPE, add_endpoint, emit, sender, stage_events

ENDPOINTS = "/api/v1/webhook-endpoints"
PUBLIC = "https://93.184.215.14/hooks"


async def make(client: httpx.AsyncClient, tenant: SeededTenant, **body) -> httpx.Response:  # type: ignore[no-untyped-def]
    return await client.post(ENDPOINTS, json={"url": PUBLIC, **body}, headers=tenant.admin.headers)


async def key(client: httpx.AsyncClient, tenant: SeededTenant, *scopes: str) -> dict[str, str]:
    made = await client.post(
        "/api/v1/api-keys",
        json={"name": "hooks", "scopes": list(scopes)},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    return bearer(made.json()["key"])


async def test_the_secret_is_shown_once_and_kept_encrypted(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    created = await make(client, tenant, description="CRM", event_types=["payment.received"])
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    endpoint = body["endpoint"]
    assert (endpoint["url"], endpoint["event_types"], endpoint["enabled"]) == (
        PUBLIC,
        ["payment.received"],
        True,
    )
    # Never again: not in the list, not in the endpoint.
    listed = await client.get(ENDPOINTS, headers=tenant.admin.headers)
    again = await client.get(f"{ENDPOINTS}/{endpoint['id']}", headers=tenant.admin.headers)
    assert secret not in listed.text
    assert secret not in again.text
    async with db.tenant(tenant.id) as conn:
        stored = await conn.fetchval(
            "SELECT secret_enc FROM webhook_endpoints WHERE id = $1", endpoint["id"]
        )
        audit = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'webhook_endpoint.create' "
            "AND entity_id = $1",
            endpoint["id"],
        )
        event = await conn.fetchval(
            "SELECT channels FROM outbox WHERE type = 'webhook_endpoint.created'"
        )
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    assert SecretBox(SECRET).open(stored) == secret
    # Another server key cannot open it.
    with pytest.raises(ValueError, match="another server key"):
        SecretBox("another-server-secret-of-enough-length").open(stored)
    assert audit == 1
    assert event == ["webhooks"]
    assert secret not in (await client.get("/api/v1/audit", headers=tenant.admin.headers)).text


async def test_rotation_shows_a_new_secret_and_keeps_the_old_for_24_hours(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    created = (await make(client, tenant)).json()
    before = dt.datetime.now(dt.UTC)
    rotated = await client.post(
        f"{ENDPOINTS}/{created['endpoint']['id']}/rotate-secret", headers=tenant.admin.headers
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created["secret"]
    until = dt.datetime.fromisoformat(rotated.json()["endpoint"]["previous_secret_until"])
    assert (
        before + dt.timedelta(hours=24) <= until <= dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)
    )
    # Not again while the first secret still signs (a problem document, the secret unchanged).
    again = await client.post(
        f"{ENDPOINTS}/{created['endpoint']['id']}/rotate-secret", headers=tenant.admin.headers
    )
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"] == (
        "the secret was rotated less than 24 hours ago and the one before it still signs "
        f"until {until.isoformat()}: rotate again after that"
    )
    assert "secret" not in again.json()


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hooks",
        "https://10.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://100.64.0.1/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        # A name that resolves to loopback.
        "https://localhost:8443/hooks",
        # Plain http, to a public address, without the tenant's leave.
        "http://93.184.215.14/hooks",
        "ftp://93.184.215.14/hooks",
        "https://user:pw@93.184.215.14/hooks",
    ],
)
async def test_an_address_webhooks_may_not_reach_is_refused_at_save(
    client: httpx.AsyncClient, tenant: SeededTenant, url: str
) -> None:
    refused = await make(client, tenant, url=url)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "url"
    # Nor by changing an endpoint's URL.
    created = (await make(client, tenant)).json()["endpoint"]
    changed = await client.patch(
        f"{ENDPOINTS}/{created['id']}", json={"url": url}, headers=tenant.admin.headers
    )
    assert (changed.status_code, changed.json()["field"]) == (422, "url")


async def test_plain_http_only_where_the_tenant_allows_it(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    url = "http://93.184.215.14/hooks"
    assert (await make(client, tenant, url=url)).status_code == 422
    allowed = await client.patch(
        "/api/v1/tenant", json={"webhooks": {"allow_http": True}}, headers=tenant.admin.headers
    )
    assert allowed.status_code == 200, allowed.text
    made = await make(client, tenant, url=url)
    assert made.status_code == 201, made.text
    # Still never to a private address.
    private = await make(client, tenant, url="http://10.0.0.1/hooks")
    assert (private.status_code, private.json()["field"]) == (422, "url")


async def test_only_admins_and_keys_with_the_scope_manage_endpoints(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    for person in (tenant.collector, tenant.supervisor, tenant.readonly):
        assert (await client.get(ENDPOINTS, headers=person.headers)).status_code == 403
        made = await client.post(ENDPOINTS, json={"url": PUBLIC}, headers=person.headers)
        assert made.status_code == 403
    without = await key(client, tenant, "accounts:write")
    assert (await client.get(ENDPOINTS, headers=without)).status_code == 403
    managing = await key(client, tenant, "webhooks:manage")
    made = await client.post(ENDPOINTS, json={"url": PUBLIC}, headers=managing)
    assert made.status_code == 201, made.text
    assert (await client.get(ENDPOINTS, headers=managing)).status_code == 200


async def test_another_tenants_endpoints_and_deliveries_are_not_found(
    client: httpx.AsyncClient, db: Database, tenants: TenantFactory, tenant: SeededTenant
) -> None:
    other = await tenants.new(with_accounts=False)
    theirs = await add_endpoint(db, other.id, "http://127.0.0.1:9/theirs")
    await emit(db, other.id, TYPE, {"account_id": 1})
    await stage_events(db, other.id, TYPE)
    async with db.tenant(other.id) as conn:
        delivery = await conn.fetchval("SELECT id FROM webhook_deliveries")
    e, h = theirs.endpoint.id, tenant.admin.headers
    for method, path, body in (
        ("GET", f"{ENDPOINTS}/{e}", None),
        ("PATCH", f"{ENDPOINTS}/{e}", {"enabled": False}),
        ("DELETE", f"{ENDPOINTS}/{e}", None),
        ("POST", f"{ENDPOINTS}/{e}/rotate-secret", None),
        ("GET", f"{ENDPOINTS}/{e}/deliveries", None),
        ("GET", f"{ENDPOINTS}/deliveries/{delivery}/attempts", None),
        ("POST", f"{ENDPOINTS}/deliveries/{delivery}/replay", None),
        (
            "POST",
            f"{ENDPOINTS}/{e}/replay-failed",
            {"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z"},
        ),
    ):
        answer = await client.request(method, path, json=body, headers=h)
        assert answer.status_code == 404, (method, path, answer.text)
    async with db.tenant(other.id) as conn:
        row = await conn.fetchrow("SELECT enabled, url FROM webhook_endpoints WHERE id = $1", e)
    assert (row["enabled"], row["url"]) == (True, "http://127.0.0.1:9/theirs")


async def test_deliveries_and_attempts_are_listed_a_page_at_a_time_and_replayed(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    from tests.integration.webhook_helpers import T0, Receiver

    async with Receiver([(500, {})]) as receiver:
        made = await add_endpoint(db, tenant.id, receiver.url)
        for n in range(3):
            await emit(db, tenant.id, TYPE, {"account_id": n})
        await stage_events(db, tenant.id, TYPE)
        await sender(db, T0).deliver_tenant(tenant.id)
    e, h = made.endpoint.id, tenant.admin.headers
    first = (await client.get(f"{ENDPOINTS}/{e}/deliveries?limit=2", headers=h)).json()
    assert len(first["items"]) == 2
    rest = await client.get(
        f"{ENDPOINTS}/{e}/deliveries", params={"cursor": first["next_cursor"]}, headers=h
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    ids = [d["id"] for d in first["items"] + rest.json()["items"]]
    assert ids == sorted(ids, reverse=True)
    delivery = first["items"][0]
    assert (delivery["status"], delivery["attempts"], delivery["last_status"]) == (
        "pending",
        1,
        500,
    )
    tried = (await client.get(f"{ENDPOINTS}/deliveries/{ids[0]}/attempts", headers=h)).json()
    assert [a["status"] for a in tried["items"]] == [500]
    assert tried["items"][0]["response"] == "status 500"
    bad = await client.get(f"{ENDPOINTS}/{e}/deliveries?status=lost", headers=h)
    assert (bad.status_code, bad.json()["field"]) == (422, "status")
    # Dead-letter them, then replay those made in a range.
    async with db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE webhook_deliveries SET status = 'dead'")
        made_at = await conn.fetchval("SELECT min(created_at) FROM webhook_deliveries")
    window = {
        "since": (made_at - dt.timedelta(minutes=1)).isoformat(),
        "until": (made_at + dt.timedelta(minutes=1)).isoformat(),
    }
    replayed = await client.post(f"{ENDPOINTS}/{e}/replay-failed", json=window, headers=h)
    assert replayed.json() == {"replayed": 3}
    # Nothing made after the range's end.
    later = {
        "since": (made_at + dt.timedelta(minutes=1)).isoformat(),
        "until": (made_at + dt.timedelta(minutes=2)).isoformat(),
    }
    assert (await client.post(f"{ENDPOINTS}/{e}/replay-failed", json=later, headers=h)).json() == {
        "replayed": 0
    }
    backwards = {"since": window["until"], "until": window["since"]}
    refused = await client.post(f"{ENDPOINTS}/{e}/replay-failed", json=backwards, headers=h)
    assert (refused.status_code, refused.json()["field"]) == (422, "until")
    one = await client.post(f"{ENDPOINTS}/deliveries/{ids[0]}/replay", headers=h)
    assert (one.status_code, one.json()["status"], one.json()["attempts"]) == (200, "pending", 0)


async def test_a_test_event_goes_to_that_endpoint_alone(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    from standardwebhooks.webhooks import Webhook

    from tests.integration.webhook_helpers import T0, Receiver

    async with Receiver() as receiver, Receiver() as bystander:
        made = await add_endpoint(db, tenant.id, receiver.url, event_types=["payment.received"])
        # Takes every event, but not another endpoint's test.
        await add_endpoint(db, tenant.id, bystander.url, event_types=[])
        sent = await client.post(
            f"{ENDPOINTS}/{made.endpoint.id}/test", headers=tenant.admin.headers
        )
        assert sent.status_code == 200, sent.text
        assert await stage_events(db, tenant.id, "webhook.test") == 1
        # Staged now (the test event happened on the real clock): due at once.
        await sender(db, T0).deliver_tenant(tenant.id)
    [request] = receiver.requests
    payload = Webhook(made.secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint_id"] == made.endpoint.id
    assert request.headers["webhook-id"] == "msg_" + sent.json()["event_id"].replace("-", "")
    assert bystander.requests == []
    # A disabled endpoint is not sent one.
    off = await client.patch(
        f"{ENDPOINTS}/{made.endpoint.id}", json={"enabled": False}, headers=tenant.admin.headers
    )
    assert off.json()["disabled_reason"] == "by hand"
    refused = await client.post(
        f"{ENDPOINTS}/{made.endpoint.id}/test", headers=tenant.admin.headers
    )
    assert refused.status_code == 409
    on = await client.patch(
        f"{ENDPOINTS}/{made.endpoint.id}", json={"enabled": True}, headers=tenant.admin.headers
    )
    assert (on.json()["enabled"], on.json()["disabled_reason"]) == (True, None)


async def test_an_unknown_event_type_is_refused_by_its_place(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    refused = await make(client, tenant, event_types=["payment.received", "nope.nope"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "event_types[1]"
    made = await make(client, tenant, event_types=["payment.received", "payment.received"])
    assert made.status_code == 201, made.text
    endpoint = made.json()["endpoint"]
    assert endpoint["event_types"] == ["payment.received"]
    changed = await client.patch(
        f"/api/v1/webhook-endpoints/{endpoint['id']}",
        json={"event_types": ["account.updated", "account.nothing"]},
        headers=tenant.admin.headers,
    )
    assert (changed.status_code, changed.json()["field"]) == (422, "event_types[1]")
