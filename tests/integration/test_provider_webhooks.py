"""Inbound provider webhooks: verified against signatures made by the official stripe library,
idempotent by event id, and refused (storing nothing) when anything is off."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal

import msgspec
import pytest
import stripe

from config.settings import DEV_SANDBOX_SECRET
from domain.payments import providers
from domain.payments.service import PaymentService
from tests.factories import SeededTenant

URL = "/api/v1/webhooks/payments/sandbox"
TOLERANCE = providers.TOLERANCE_SECONDS


def stripe_signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The header as the stripe library computes it."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = stripe.WebhookSignature._compute_signature(f"{t}.{body.decode()}", secret)
    return f"t={t},v1={digest}"


def event(ref: str, amount_minor: int, kind: str = "payment_intent.succeeded") -> bytes:
    return msgspec.json.encode(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "object": "event",
            "type": kind,
            "data": {
                "object": {
                    "id": ref,
                    "object": "payment_intent",
                    "amount": amount_minor,
                    "amount_received": amount_minor,
                    "currency": "usd",
                }
            },
        }
    )


@pytest.fixture
async def pending(tenant: SeededTenant):  # type: ignore[no-untyped-def]
    ref = f"pi_test_{uuid.uuid4().hex}"
    async with tenant.db.tenant(tenant.id) as conn:
        payment = await PaymentService(conn, tenant.admin.actor).start_checkout(
            tenant.accounts[0].id, Decimal("40.00"), provider="sandbox", provider_ref=ref
        )
    return payment


async def state(tenant: SeededTenant, payment_id: int) -> tuple[str, int, str]:
    async with tenant.db.tenant(tenant.id) as conn:
        status = await conn.fetchval("SELECT status FROM payments WHERE id = $1", payment_id)
        events = await conn.fetchval(
            "SELECT count(*) FROM provider_events WHERE payment_id = $1", payment_id
        )
        balance = await conn.fetchval(
            "SELECT principal + interest + fees FROM accounts WHERE id = $1", tenant.accounts[0].id
        )
    return status, events, str(balance)


def test_our_signatures_and_the_stripe_library_agree() -> None:
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    ours = providers.sign("whsec_test", body)
    stripe.WebhookSignature.verify_header(body.decode(), ours, "whsec_test", tolerance=300)
    providers.verify(body, stripe_signature(body, "whsec_test"), ["whsec_test"])


async def test_a_valid_event_delivered_three_times_counts_once(client, tenant, pending) -> None:
    body = event(pending.provider_ref, 4000)
    header = stripe_signature(body, DEV_SANDBOX_SECRET)
    responses = await asyncio.gather(
        *(
            client.post(
                URL,
                content=body,
                headers={"Stripe-Signature": header, "Content-Type": "application/json"},
            )
            for _ in range(3)
        )
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert sorted(r.json()["status"] for r in responses) == ["duplicate", "duplicate", "processed"]
    status, events, balance = await state(tenant, pending.id)
    assert (status, events, balance) == ("succeeded", 1, "1035.0000")


@pytest.mark.parametrize("skew", [-TOLERANCE + 5, TOLERANCE - 5], ids=["behind", "ahead"])
async def test_a_timestamp_within_the_tolerance_either_way_is_accepted(
    client, tenant, pending, skew: int
) -> None:
    body = event(pending.provider_ref, 4000)
    header = stripe_signature(body, DEV_SANDBOX_SECRET, int(time.time()) + skew)
    response = await client.post(
        URL, content=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert await state(tenant, pending.id) == ("succeeded", 1, "1035.0000")


@pytest.mark.parametrize(
    "problem",
    [
        "wrong secret",
        "stale timestamp",
        "timestamp just past the tolerance",
        "timestamp from the future",
        "timestamp just past the tolerance ahead",
        "tampered body",
        "no header",
        "garbled header",
    ],
)
async def test_bad_signatures_are_refused_and_store_nothing(
    client, tenant, pending, problem
) -> None:
    body = event(pending.provider_ref, 4000)
    header = stripe_signature(body, DEV_SANDBOX_SECRET)
    if problem == "wrong secret":
        header = stripe_signature(body, "whsec_someone_else")
    elif problem == "stale timestamp":
        header = stripe_signature(body, DEV_SANDBOX_SECRET, int(time.time()) - 3600)
    elif problem == "timestamp just past the tolerance":
        header = stripe_signature(body, DEV_SANDBOX_SECRET, int(time.time()) - TOLERANCE - 1)
    elif problem == "timestamp from the future":
        header = stripe_signature(body, DEV_SANDBOX_SECRET, int(time.time()) + 3600)
    elif problem == "timestamp just past the tolerance ahead":
        # Two seconds past, not one: the server reads its clock a moment after this one.
        header = stripe_signature(body, DEV_SANDBOX_SECRET, int(time.time()) + TOLERANCE + 2)
    elif problem == "tampered body":
        body = body.replace(b"4000", b"1")
    headers = {"Content-Type": "application/json"}
    if problem == "garbled header":
        headers["Stripe-Signature"] = "v1=abc"
    elif problem != "no header":
        headers["Stripe-Signature"] = header
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await state(tenant, pending.id) == ("pending", 0, "1075.0000")


async def test_during_secret_rotation_either_signature_is_accepted() -> None:
    body = b'{"id": "evt_2"}'
    t = int(time.time())
    old = stripe_signature(body, "whsec_old", t).split(",")[1]
    new = stripe_signature(body, "whsec_new", t).split(",")[1]
    header = f"t={t},{old},{new}"
    providers.verify(body, header, ["whsec_new"])
    providers.verify(body, header, ["whsec_old"])
    with pytest.raises(providers.InvalidSignature):
        providers.verify(body, header, ["whsec_other"])


async def test_a_failed_payment_event_fails_the_payment(client, tenant, pending) -> None:
    body = event(pending.provider_ref, 4000, "payment_intent.payment_failed")
    response = await client.post(
        URL,
        content=body,
        headers={
            "Stripe-Signature": stripe_signature(body, DEV_SANDBOX_SECRET),
            "Content-Type": "application/json",
        },
    )
    assert response.json()["status"] == "processed"
    assert (await state(tenant, pending.id))[0] == "failed"


async def test_an_unknown_provider_or_payment_is_404(client, tenant) -> None:
    body = event("pi_nobody", 100)
    signed = {"Stripe-Signature": stripe_signature(body, DEV_SANDBOX_SECRET)}
    assert (
        await client.post("/api/v1/webhooks/payments/acme", content=body, headers=signed)
    ).status_code == 404
    assert (await client.post(URL, content=body, headers=signed)).status_code == 404


@pytest.mark.parametrize(
    "header",
    [
        "superscript timestamp",
        "5,000-digit timestamp",
        "4,000-digit timestamp",
        "negative timestamp",
        "non-ascii signature",
        "nul",
    ],
)
async def test_odd_signature_headers_are_400_and_store_nothing(
    client, tenant, pending, header
) -> None:
    body = event(pending.provider_ref, 4000)
    valid = stripe_signature(body, DEV_SANDBOX_SECRET)
    t, v1 = valid.split(",")
    odd = {
        "superscript timestamp": f"t=\u00b2,{v1}",
        "5,000-digit timestamp": f"t={'9' * 5000},{v1}",
        "4,000-digit timestamp": f"t={'9' * 4000},{v1}",
        "negative timestamp": f"t=-{t[2:]},{v1}",
        "non-ascii signature": f"{t},v1=\u00e9{v1[4:]}",
        "nul": f"{t}\x00,{v1}",
    }[header]
    response = await client.post(
        URL,
        content=body,
        # Servers read header bytes as Latin-1: "\xb2" arrives as a superscript two.
        headers={"Stripe-Signature": odd.encode("latin-1"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:recoup:problem:invalid-signature"
    assert await state(tenant, pending.id) == ("pending", 0, "1075.0000")


@pytest.mark.parametrize(
    "problem", ["deep", "nul in the id", "nul in the reference", "text amount"]
)
async def test_signed_events_that_cannot_be_stored_are_400_invalid_event(
    client, tenant, pending, problem
) -> None:
    ref = pending.provider_ref
    body = {
        "deep": b'{"id":"evt_deep","type":"payment_intent.succeeded","data":'
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}",
        "nul in the id": event(ref, 4000).replace(b'"evt_', b'"evt_\\u0000'),
        "nul in the reference": event(ref, 4000).replace(ref.encode(), ref.encode() + b"\\u0000"),
        "text amount": event(ref, 4000).replace(b"4000", b'"\\u0664\\u0660\\u0660\\u0660"'),
    }[problem]
    response = await client.post(
        URL,
        content=body,
        headers={
            "Stripe-Signature": stripe_signature(body, DEV_SANDBOX_SECRET),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "urn:recoup:problem:invalid-event"
    assert await state(tenant, pending.id) == ("pending", 0, "1075.0000")


async def test_a_failure_whose_message_is_not_text_fails_the_payment_for_its_type(
    client, tenant, pending
) -> None:
    body = msgspec.json.encode(
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "payment_intent.payment_failed",
            "data": {
                "object": {
                    "id": pending.provider_ref,
                    "amount": 4000,
                    "currency": "usd",
                    "last_payment_error": {"code": "card_declined", "message": 42},
                }
            },
        }
    )
    response = await client.post(
        URL,
        content=body,
        headers={
            "Stripe-Signature": stripe_signature(body, DEV_SANDBOX_SECRET),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "processed"}
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT status, failure_reason FROM payments WHERE id = $1", pending.id
        )
    assert dict(row) == {"status": "failed", "failure_reason": "payment_intent.payment_failed"}
