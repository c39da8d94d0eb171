"""Events live and die with their change: a change rolled back leaves no audit row and no
outbox row, the extra events written for other audiences (the debtor's page) included, so
the relay has nothing to publish."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from domain.errors import Conflict
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.payments import queries as payment_queries
from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from tests.factories import SeededTenant

# Payment events on an account's channels: its staff audience and its debtor's page.
PAYMENT_EVENTS = (
    "SELECT count(*) FROM outbox WHERE type LIKE 'payment.%' AND channels && $1::varchar[]"
)


class Abandoned(Exception):
    """Raised inside a transaction to roll it back."""


async def written(tenant: SeededTenant, account_id: int) -> tuple[int, int, int]:
    """Payments, their audit rows, and events on the account's channels (staff and debtor)."""
    async with tenant.db.tenant(tenant.id) as conn:
        payments = await conn.fetchval(
            "SELECT count(*) FROM payments WHERE account_id = $1", account_id
        )
        audit = await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity_type = 'payment'")
        outbox = await conn.fetchval(
            PAYMENT_EVENTS,
            [f"account:{account_id}", f"pay:{account_id}"],
        )
    return payments, audit, outbox


async def test_a_payment_rolled_back_leaves_none_of_its_events(tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    with pytest.raises(Abandoned):
        async with tenant.db.tenant(tenant.id) as conn:
            await PaymentService(conn, tenant.admin.actor).record(
                account.id, PaymentCreate(amount=Decimal("10.00"), currency="USD"), source="staff"
            )
            # Inside the transaction: the change, its audit row and both of its events.
            assert (
                await conn.fetchval(
                    PAYMENT_EVENTS,
                    [f"account:{account.id}", f"pay:{account.id}"],
                )
                == 2
            )
            raise Abandoned
    assert await written(tenant, account.id) == (0, 0, 0)


async def test_the_recorders_extra_event_rolls_back_with_the_change(
    tenant: SeededTenant,
) -> None:
    marker = f"rolled-back-{uuid.uuid4()}"
    with pytest.raises(Abandoned):
        async with tenant.db.tenant(tenant.id) as conn:
            recorder = ChangeRecorder(conn, tenant.admin.actor)
            await recorder.record(
                action="test.change",
                entity_type="test",
                entity_id=1,
                before=None,
                after={"marker": marker},
                event_type=events.ACCOUNT_UPDATED,
                channels=["wallboard"],
            )
            await recorder.event(events.ACCOUNT_UPDATED, ["wallboard"], {"marker": marker})
            raise Abandoned
    async with tenant.db.tenant(tenant.id) as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox WHERE data->>'marker' = $1", marker)
            == 0
        )
        assert (
            await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'test.change'") == 0
        )


async def test_a_payment_request_that_fails_after_its_change_publishes_nothing(
    monkeypatch, client, tenant: SeededTenant
) -> None:
    """Over HTTP: the payment and its events were written, then storing the response for
    its Idempotency-Key failed; the answer is an error and nothing of it remains."""
    account = tenant.accounts[0]

    async def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise Conflict("the response could not be stored")

    monkeypatch.setattr(payment_queries, "complete_key", fail)
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "10.00", "currency": "USD"},
        headers={**tenant.admin.headers, "Idempotency-Key": f"key-{uuid.uuid4()}"},
    )
    monkeypatch.undo()
    assert response.status_code == 409, response.text
    assert await written(tenant, account.id) == (0, 0, 0)
    state = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert state["balance"] == "1075.00"
