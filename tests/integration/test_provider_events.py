"""What a provider's event does to a payment, without HTTP: settle once, and only as agreed."""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from domain.db import Database
from domain.errors import NotFound
from domain.payments.provider_events import apply_provider_event
from domain.payments.providers import ProviderEvent
from domain.payments.schemas import Payment
from domain.payments.service import PaymentService
from tests.factories import SeededTenant


@pytest.fixture
async def pending(tenant: SeededTenant) -> Payment:
    """A 40.00 USD checkout payment waiting for its provider."""
    async with tenant.db.tenant(tenant.id) as conn:
        return await PaymentService(conn, tenant.admin.actor).start_checkout(
            tenant.accounts[0].id,
            Decimal("40.00"),
            provider="sandbox",
            provider_ref=f"pi_test_{uuid.uuid4().hex}",
        )


def provider_event(ref: str | None, **overrides: Any) -> tuple[ProviderEvent, bytes]:
    """An event as parsed, and the body it came in."""
    fields: dict[str, Any] = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payment_intent.succeeded",
        "payment_ref": ref,
        "amount": Decimal("40.00"),
        "currency": "USD",
        "failure_reason": None,
        **overrides,
    }
    event = ProviderEvent(**fields)
    return event, msgspec.json.encode({"id": event.id, "type": event.type, "ref": ref})


async def payment_state(tenant: SeededTenant, payment_id: int) -> dict[str, Any]:
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            """SELECT p.status, p.failure_reason,
              a.principal + a.interest + a.fees AS balance,
              (SELECT count(*) FROM provider_events e WHERE e.payment_id = p.id) AS events
            FROM payments p JOIN accounts a ON a.id = p.account_id WHERE p.id = $1""",
            payment_id,
        )
    return {**dict(row), "balance": str(row["balance"])}


async def test_a_matching_success_settles_the_payment_once(
    db: Database, tenant: SeededTenant, pending: Payment
) -> None:
    event, body = provider_event(pending.provider_ref)
    assert await apply_provider_event(db, "sandbox", event, body) == "processed"
    assert await apply_provider_event(db, "sandbox", event, body) == "duplicate"
    assert await payment_state(tenant, pending.id) == {
        "status": "succeeded",
        "failure_reason": None,
        "balance": "1035.0000",
        "events": 1,
    }
    async with tenant.db.tenant(tenant.id) as conn:
        payload = await conn.fetchval(
            "SELECT payload FROM provider_events WHERE event_id = $1", event.id
        )
    assert payload == msgspec.json.decode(body)


@pytest.mark.parametrize(
    "differs", [{"amount": Decimal("39.99")}, {"currency": "EUR"}, {"amount": None}]
)
async def test_a_success_for_another_amount_or_currency_fails_the_payment(
    db: Database, tenant: SeededTenant, pending: Payment, differs: dict[str, Any]
) -> None:
    event, body = provider_event(pending.provider_ref, **differs)
    assert await apply_provider_event(db, "sandbox", event, body) == "processed"
    assert await payment_state(tenant, pending.id) == {
        "status": "failed",
        "failure_reason": "the provider reported another amount",
        "balance": "1075.0000",
        "events": 1,
    }


async def test_a_failure_fails_the_payment_with_the_providers_reason(
    db: Database, tenant: SeededTenant, pending: Payment
) -> None:
    event, body = provider_event(
        pending.provider_ref, type="charge.failed", failure_reason="card declined"
    )
    assert await apply_provider_event(db, "sandbox", event, body) == "processed"
    state = await payment_state(tenant, pending.id)
    assert (state["status"], state["failure_reason"]) == ("failed", "card declined")


@pytest.mark.parametrize("event_type", ["customer.created", "payment_intent.created"])
async def test_events_of_no_concern_are_ignored_and_not_recorded(
    db: Database, tenant: SeededTenant, pending: Payment, event_type: str
) -> None:
    event, body = provider_event(pending.provider_ref, type=event_type)
    assert await apply_provider_event(db, "sandbox", event, body) == "ignored"
    unreferenced, body = provider_event(None)
    assert await apply_provider_event(db, "sandbox", unreferenced, body) == "ignored"
    assert (await payment_state(tenant, pending.id))["events"] == 0


async def test_an_event_for_no_known_payment_is_not_found(db: Database) -> None:
    event, body = provider_event(f"pi_nobody_{uuid.uuid4().hex}")
    with pytest.raises(NotFound):
        await apply_provider_event(db, "sandbox", event, body)


async def test_a_failure_without_a_reason_is_put_down_to_its_type(
    db: Database, tenant: SeededTenant, pending: Payment
) -> None:
    event, body = provider_event(pending.provider_ref, type="checkout.session.expired")
    assert await apply_provider_event(db, "sandbox", event, body) == "processed"
    state = await payment_state(tenant, pending.id)
    assert (state["status"], state["failure_reason"]) == ("failed", "checkout.session.expired")


async def test_the_event_is_kept_against_its_payment_and_settled_by_the_system(
    db: Database, tenant: SeededTenant, pending: Payment
) -> None:
    event, body = provider_event(pending.provider_ref, type="charge.succeeded")
    assert await apply_provider_event(db, "sandbox", event, body) == "processed"
    async with tenant.db.tenant(tenant.id) as conn:
        kept = await conn.fetchrow(
            "SELECT tenant_id, provider, type, payment_id FROM provider_events WHERE event_id = $1",
            event.id,
        )
        settled_by = await conn.fetchrow(
            """SELECT actor_type, actor_id FROM audit_log
            WHERE action = 'payment.succeed' AND entity_id = $1""",
            pending.id,
        )
    assert dict(kept) == {
        "tenant_id": tenant.id,
        "provider": "sandbox",
        "type": "charge.succeeded",
        "payment_id": pending.id,
    }
    assert dict(settled_by) == {"actor_type": "system", "actor_id": None}


async def test_a_success_for_another_amount_is_logged_as_a_warning(
    client, db: Database, pending: Payment, caplog: pytest.LogCaptureFixture
) -> None:
    # ``client`` builds the app, which sets up logging as the web process has it.
    event, body = provider_event(pending.provider_ref, amount=Decimal("4.00"))
    with caplog.at_level(logging.WARNING, logger="recoup.payments"):
        await apply_provider_event(db, "sandbox", event, body)
    warnings = [r.msg for r in caplog.records if r.name == "recoup.payments"]
    assert [(w["event"], w["payment_id"], w["level"]) for w in warnings] == [
        ("provider amount differs from the payment", pending.id, "warning")
    ]


async def test_an_event_for_no_known_payment_names_its_reference(db: Database) -> None:
    ref = f"pi_nobody_{uuid.uuid4().hex}"
    event, body = provider_event(ref)
    with pytest.raises(NotFound) as refused:
        await apply_provider_event(db, "sandbox", event, body)
    assert refused.value.detail == f"no payment with the reference '{ref}' (yet)"
