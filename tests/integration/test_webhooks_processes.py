"""Webhooks through the real processes: a payment taken over HTTP goes out through the
relay, which stages its delivery in its own transaction and kicks the tenant's job on a
real worker, which sends it, signed, to a receiver the endpoint names."""

from __future__ import annotations

import asyncio

import httpx
from standardwebhooks.webhooks import Webhook

from tests.factories import SeededTenant
from tests.integration.webhook_helpers import Receiver, add_endpoint
from tests.integration.workflow_helpers import API


async def test_a_payment_goes_out_as_a_signed_webhook_through_relay_and_worker(
    relay, worker, client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    async with Receiver() as receiver:
        made = await add_endpoint(
            tenant.db, tenant.id, receiver.url, event_types=["payment.received"]
        )
        paid = await client.post(
            f"{API}/accounts/{account.id}/payments",
            json={"amount": "12.50", "currency": "USD"},
            headers={**tenant.collector.headers, "Idempotency-Key": f"hook-{tenant.id}"},
        )
        assert paid.status_code == 201, paid.text
        for _ in range(400):
            if receiver.requests:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # a second request, were one to come
    [request] = receiver.requests
    payload = Webhook(made.secret).verify(request.body, request.headers)
    assert payload["type"] == "payment.received"
    assert payload["data"]["payment"]["id"] == paid.json()["id"]
    async with tenant.db.tenant(tenant.id) as conn:
        for _ in range(100):
            status = await conn.fetchval(
                "SELECT status FROM webhook_deliveries WHERE endpoint_id = $1",
                made.endpoint.id,
            )
            if status == "succeeded":
                break
            await asyncio.sleep(0.05)
    assert status == "succeeded"
