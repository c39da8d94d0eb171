"""What a payment provider's event does to a payment: settle it once, and only as agreed.

A provider's webhook names its payment by the provider's reference, not by tenant, so the
payment is found across tenants first; everything after runs in that tenant's transaction.
Each event is recorded once (by provider and event id): a redelivery changes nothing. A
success for another amount or currency than the payment's fails the payment instead.
"""

from __future__ import annotations

from typing import Literal

import msgspec
import structlog

from domain.actor import Actor
from domain.db import Database
from domain.errors import NotFound
from domain.payments import providers, queries
from domain.payments.providers import ProviderEvent
from domain.payments.service import PaymentService

log = structlog.get_logger("recoup.payments")

EventOutcome = Literal["processed", "duplicate", "ignored"]


async def apply_provider_event(
    db: Database, provider: str, event: ProviderEvent, body: bytes
) -> EventOutcome:
    """Settle the payment ``event`` is about; ``body`` is the event as delivered, kept on record.

    Raises:
        NotFound: no payment has the event's reference (yet): the provider will retry.
    """
    if event.type not in providers.SUCCEEDED | providers.FAILED or not event.payment_ref:
        return "ignored"
    async with db.anonymous() as conn:
        found = await queries.find_provider_payment(conn, provider, event.payment_ref)
    if found is None:
        raise NotFound(f"no payment with the reference {event.payment_ref!r} (yet)")
    tenant_id, payment_id = found["tenant_id"], found["payment_id"]
    async with db.tenant(tenant_id) as conn:
        fresh = await queries.record_provider_event(
            conn,
            tenant_id=tenant_id,
            provider=provider,
            event_id=event.id,
            event_type=event.type,
            payment_id=payment_id,
            payload=msgspec.json.decode(body),
        )
        if not fresh:
            return "duplicate"
        payments = PaymentService(conn, Actor(tenant_id=tenant_id, type="system"))
        payment = await queries.get(conn, payment_id)
        assert payment is not None
        if event.type in providers.FAILED:
            await payments.fail(payment_id, event.failure_reason or event.type)
        elif (event.amount, event.currency) != (payment["amount"], payment["currency"]):
            log.warning("provider amount differs from the payment", payment_id=payment_id)
            await payments.fail(payment_id, "the provider reported another amount")
        else:
            await payments.succeed(payment_id)
    return "processed"
