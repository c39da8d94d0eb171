"""Workflows through the real processes: a payment taken over HTTP goes out through the relay,
which keeps the event in the engine's inbox and hands the tenant to a job on a real worker,
which sends the receipt to a real SMTP server."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import SmtpSink
from tests.factories import SeededTenant
from tests.integration.workflow_helpers import API, runs, template, workflow


async def test_a_payment_taken_over_http_sends_its_receipt_through_relay_and_worker(
    relay, worker, client: httpx.AsyncClient, tenant: SeededTenant, smtp_sink: SmtpSink
) -> None:
    account = tenant.accounts[0]
    address = f"receipt-{tenant.id}@example.com"
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE debtors SET email = $1 WHERE id = $2", address, account.debtor_id
        )
    email = await template(
        client,
        tenant,
        "email",
        "We received {{ payment.amount }}. Receipt {{ payment.receipt }}.",
        subject="Your receipt",
    )
    flow = await workflow(
        client, tenant, "payment.received", [{"kind": "send_email", "template_id": email}]
    )
    paid = await client.post(
        f"{API}/accounts/{account.id}/payments",
        json={"amount": "12.50", "currency": "USD"},
        headers={**tenant.collector.headers, "Idempotency-Key": f"receipt-{tenant.id}"},
    )
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["id"]
    for _ in range(400):
        if smtp_sink.to(address):
            break
        await asyncio.sleep(0.05)
    (mail,) = smtp_sink.to(address)
    assert mail["Subject"] == "Your receipt"
    assert mail.get_content().startswith(f"We received $12.50. Receipt R-{payment_id}.")
    for _ in range(100):
        (run,) = await runs(client, tenant, flow["id"])
        if run["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert (run["status"], run["trigger_type"]) == ("completed", "payment.received")
    async with tenant.db.system() as conn:
        left = await conn.fetchval(
            "SELECT count(*) FROM workflow_inbox WHERE tenant_id = $1", tenant.id
        )
    assert left == 0
