"""Settling a checkout payment and undoing a received one: the rows, the audit and the events."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from domain.accounts.service import AccountService
from domain.errors import Conflict, InvalidInput, NotFound
from domain.payments.schemas import Payment
from domain.payments.service import PaymentService
from tests.factories import SeededTenant
from tests.helpers import keyed
from tests.integration.test_payment_recording import account_json, audit_of, payment_events

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(hours=1)
NEXT_DAY = LATER + dt.timedelta(days=1)


def service(conn, tenant: SeededTenant, clock: dt.datetime = NOW) -> PaymentService:  # type: ignore[no-untyped-def]
    return PaymentService(conn, tenant.admin.actor, lambda: clock)


async def checkout(tenant: SeededTenant, amount: str = "40.00", account: int = 0) -> Payment:
    """A card payment started through the sandbox's checkout on one of the tenant's accounts."""
    async with tenant.db.tenant(tenant.id) as conn:
        return await service(conn, tenant).start_checkout(
            tenant.accounts[account].id,
            Decimal(amount),
            provider="sandbox",
            provider_ref=f"cs_{uuid.uuid4().hex}",
        )


async def settle(tenant: SeededTenant, how: str, payment_id: int, *args: Any) -> Payment:
    """``succeed``, ``fail`` or ``undo`` a payment on a clock fixed an hour after NOW."""
    async with tenant.db.tenant(tenant.id) as conn:
        return await getattr(service(conn, tenant, LATER), how)(payment_id, *args)


def as_sent(payment: Payment) -> dict[str, Any]:
    """The payment as the API, the audit log and the events carry it."""
    return msgspec.json.decode(msgspec.json.encode(payment))


async def account_at(tenant: SeededTenant, account_id: int, clock: dt.datetime) -> dict[str, Any]:
    """The account as an event written at ``clock`` carries it (its days past due by then)."""
    async with tenant.db.tenant(tenant.id) as conn:
        account = await AccountService(conn, tenant.admin.actor, lambda: clock).get(account_id)
    return msgspec.json.decode(msgspec.json.encode(account))


def debtor_payment(payment: Payment) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": payment.id,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "status": payment.status,
        "provider_ref": payment.provider_ref,
        "failure_reason": payment.failure_reason,
        "method": payment.method,
        "received_at": payment.received_at.isoformat() if payment.received_at else None,
    }
    if payment.status in ("succeeded", "refunded", "reversed"):
        shown["receipt"] = f"R-{payment.id}"
    return shown


async def test_a_checkout_payment_waits_for_its_provider_and_changes_no_balance(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    pending = await checkout(tenant)
    assert as_sent(pending) == {
        "id": pending.id,
        "account_id": account.id,
        "amount": "40.00",
        "currency": "USD",
        "status": "pending",
        "method": "card",
        "source": "debtor",
        "provider": "sandbox",
        "provider_ref": pending.provider_ref,
        "reference": None,
        "allocation": {"fees": "0.00", "interest": "0.00", "principal": "0.00", "credit": "0.00"},
        "failure_reason": None,
        "received_at": None,
        "failed_at": None,
        "refunded_at": None,
        "created_by": None,
        "created_at": as_sent(pending)["created_at"],
    }
    assert (await account_json(client, tenant, account.id))["balance"] == "1075.00"
    [entry] = await audit_of(client, tenant, pending.id)
    assert (entry["action"], entry["before"], entry["after"]) == (
        "payment.start",
        None,
        as_sent(pending),
    )
    assert await payment_events(tenant) == [
        (
            "payment.pending",
            [f"account:{account.id}", "wallboard", f"agent:{tenant.collector.id}"],
            as_sent(pending),
        ),
        ("payment.pending", [f"pay:{account.id}"], {"payment": debtor_payment(pending)}),
    ]


async def test_a_checkout_may_take_the_whole_balance_and_not_a_cent_more(
    tenant: SeededTenant,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await checkout(tenant, "1075.01")
    assert (refused.value.detail, refused.value.field) == (
        "the amount is more than the balance of $1,075.00",
        "amount",
    )
    with pytest.raises(InvalidInput) as nothing:
        await checkout(tenant, "0.00")
    assert nothing.value.field == "amount"
    assert (await checkout(tenant, "1075.00")).amount == Decimal("1075.00")


async def test_the_debtor_is_told_the_balance_in_the_currencys_places(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    link = await client.post(
        f"/api/v1/accounts/{account.id}/payment-links", json={}, headers=tenant.admin.headers
    )
    assert link.status_code == 201, link.text
    page = "/pay/" + link.json()["url"].split("/pay/", 1)[1]
    over = await client.post(f"{page}/checkout", json={"amount": "1075.01"}, headers=keyed())
    assert over.status_code == 422, over.text
    problem = over.json()
    assert (problem["detail"], problem["field"]) == (
        "the amount is more than the balance of $1,075.00",
        "amount",
    )


async def test_a_succeeded_checkout_pays_the_account_once(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    pending = await checkout(tenant)
    paid = await settle(tenant, "succeed", pending.id)
    assert as_sent(paid) == {
        **as_sent(pending),
        "status": "succeeded",
        "allocation": {"fees": "25.00", "interest": "15.00", "principal": "0.00", "credit": "0.00"},
        "received_at": "2026-11-30T13:00:00Z",
    }
    after = await account_json(client, tenant, account.id)
    assert (after["fees"], after["interest"], after["balance"], after["status"]) == (
        "0.00",
        "35.00",
        "1035.00",
        "active",
    )
    [_, entry] = await audit_of(client, tenant, pending.id)
    assert (entry["action"], entry["before"], entry["after"]) == (
        "payment.succeed",
        as_sent(pending),
        as_sent(paid),
    )
    [*_, staff, debtor] = await payment_events(tenant)
    assert staff == (
        "payment.received",
        [f"account:{account.id}", "wallboard", f"agent:{tenant.collector.id}"],
        {"payment": as_sent(paid), "account": await account_at(tenant, account.id, LATER)},
    )
    assert debtor[:2] == ("payment.received", [f"pay:{account.id}"])
    assert debtor[2]["payment"] == debtor_payment(paid)
    assert debtor[2]["account"]["balance"] == "1035.00"
    # A second word from the provider changes nothing.
    assert await settle(tenant, "succeed", pending.id) == paid
    assert await settle(tenant, "fail", pending.id, "too late") == paid
    assert len(await audit_of(client, tenant, pending.id)) == 2
    assert len(await payment_events(tenant)) == 4
    assert (await account_json(client, tenant, account.id))["balance"] == "1035.00"


async def test_money_taken_beyond_the_balance_by_now_is_held_as_credit(
    client, tenant: SeededTenant
) -> None:
    """The tenant does not hold overpayments as credit, but the provider has the money."""
    account = tenant.accounts[0]
    pending = await checkout(tenant, "1000.00")
    paid_meanwhile = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "100.00", "currency": "USD"},
        headers=keyed(tenant.admin.headers),
    )
    assert paid_meanwhile.status_code == 201, paid_meanwhile.text
    paid = await settle(tenant, "succeed", pending.id)
    assert as_sent(paid)["allocation"] == {
        "fees": "0.00",
        "interest": "0.00",
        "principal": "975.00",
        "credit": "25.00",
    }
    after = await account_json(client, tenant, account.id)
    assert (after["balance"], after["status"]) == ("0.00", "paid")
    async with tenant.db.tenant(tenant.id) as conn:
        credit = await conn.fetchval("SELECT credit FROM accounts WHERE id = $1", account.id)
    assert credit == Decimal("25.00")


async def test_a_failed_checkout_keeps_the_providers_reason_and_changes_no_balance(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    pending = await checkout(tenant)
    failed = await settle(tenant, "fail", pending.id, "declined " + "x" * 500)
    assert as_sent(failed) == {
        **as_sent(pending),
        "status": "failed",
        "failure_reason": ("declined " + "x" * 500)[:500],
        "failed_at": "2026-11-30T13:00:00Z",
    }
    assert len(failed.failure_reason or "") == 500
    assert (await account_json(client, tenant, account.id))["balance"] == "1075.00"
    [_, entry] = await audit_of(client, tenant, pending.id)
    assert (entry["action"], entry["before"], entry["after"]) == (
        "payment.fail",
        as_sent(pending),
        as_sent(failed),
    )
    [*_, staff, debtor] = await payment_events(tenant)
    assert staff == (
        "payment.failed",
        [f"account:{account.id}", "wallboard", f"agent:{tenant.collector.id}"],
        {"payment": as_sent(failed)},
    )
    assert debtor == ("payment.failed", [f"pay:{account.id}"], {"payment": debtor_payment(failed)})
    # Settled is settled: neither a success nor another failure changes it.
    assert await settle(tenant, "succeed", pending.id) == failed
    assert await settle(tenant, "fail", pending.id, "again") == failed
    assert len(await audit_of(client, tenant, pending.id)) == 2
    assert (await account_json(client, tenant, account.id))["balance"] == "1075.00"


async def test_a_reason_of_exactly_five_hundred_characters_is_kept_whole(
    tenant: SeededTenant,
) -> None:
    pending = await checkout(tenant)
    failed = await settle(tenant, "fail", pending.id, "y" * 500)
    assert failed.failure_reason == "y" * 500


@pytest.mark.parametrize("how", ["succeed", "fail", "undo"])
async def test_settling_a_payment_that_is_not_there_is_not_found(
    tenant: SeededTenant, how: str
) -> None:
    args = {"succeed": (), "fail": ("declined",), "undo": ("refunded", "")}[how]
    with pytest.raises(NotFound) as missing:
        await settle(tenant, how, 2000000000, *args)
    assert missing.value.detail == "payment 2000000000 not found"


async def received(tenant: SeededTenant, amount: str, account: int = 0) -> Payment:
    pending = await checkout(tenant, amount, account)
    return await settle(tenant, "succeed", pending.id)


@pytest.mark.parametrize(
    ("kind", "reason", "action", "event"),
    [
        ("refunded", "duplicate", "payment.refund", "payment.refunded"),
        ("reversed", "", "payment.reverse", "payment.reversed"),
    ],
)
async def test_undoing_a_payment_puts_back_exactly_what_it_paid_off(
    client, tenant: SeededTenant, kind: str, reason: str, action: str, event: str
) -> None:
    account = tenant.accounts[0]
    paid = await received(tenant, "1075.00")
    assert (await account_json(client, tenant, account.id))["status"] == "paid"
    async with tenant.db.tenant(tenant.id) as conn:
        undone = await service(conn, tenant, NEXT_DAY).undo(paid.id, kind, reason)
    assert as_sent(undone) == {
        **as_sent(paid),
        "status": kind,
        "failure_reason": reason or None,
        "refunded_at": "2026-12-01T13:00:00Z",
    }
    after = await account_json(client, tenant, account.id)
    assert (after["fees"], after["interest"], after["principal"], after["status"]) == (
        "25.00",
        "50.00",
        "1000.00",
        "active",
    )
    [*_, entry] = await audit_of(client, tenant, paid.id)
    assert (entry["action"], entry["before"], entry["after"]) == (
        action,
        as_sent(paid),
        as_sent(undone),
    )
    [*_, staff, debtor] = await payment_events(tenant)
    assert staff == (
        event,
        [f"account:{account.id}", "wallboard", f"agent:{tenant.collector.id}"],
        {"payment": as_sent(undone), "account": await account_at(tenant, account.id, NEXT_DAY)},
    )
    assert debtor[:2] == (event, [f"pay:{account.id}"])
    assert debtor[2]["account"]["status"] == "active"


async def test_undoing_a_payment_with_credit_takes_the_credit_back(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    allow = await client.patch(
        "/api/v1/tenant",
        json={"payments": {"hold_overpayment_as_credit": True}},
        headers=tenant.admin.headers,
    )
    assert allow.status_code == 200, allow.text
    paid = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "1100.00", "currency": "USD"},
        headers=keyed(tenant.admin.headers),
    )
    assert paid.json()["allocation"]["credit"] == "25.00"
    refunded = await client.post(
        f"/api/v1/payments/{paid.json()['id']}/refund", headers=keyed(tenant.supervisor.headers)
    )
    assert refunded.status_code == 200, refunded.text
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT credit, fees + interest + principal AS balance, status FROM accounts"
            " WHERE id = $1",
            account.id,
        )
    assert dict(row) == {
        "credit": Decimal("0.0000"),
        "balance": Decimal("1075.0000"),
        "status": "active",
    }


@pytest.mark.parametrize(("left", "refused"), [("25.00", False), ("24.99", True)])
async def test_a_payment_whose_credit_has_been_used_since_cannot_be_undone(
    client, tenant: SeededTenant, left: str, refused: bool
) -> None:
    account = tenant.accounts[0]
    pending = await checkout(tenant, "1000.00")
    await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "100.00", "currency": "USD"},
        headers=keyed(tenant.admin.headers),
    )
    paid = await settle(tenant, "succeed", pending.id)  # 25.00 of it held as credit
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE accounts SET credit = $2 WHERE id = $1", account.id, Decimal(left)
        )
    response = await client.post(
        f"/api/v1/payments/{paid.id}/reverse", headers=keyed(tenant.admin.headers)
    )
    if refused:
        assert response.status_code == 409, response.text
        problem = response.json()
        assert (problem["type"], problem["detail"]) == (
            "urn:recoup:problem:conflict",
            "the credit this payment left has been used since",
        )
        assert (await account_json(client, tenant, account.id))["balance"] == "0.00"
    else:
        assert response.status_code == 200, response.text
        assert (await account_json(client, tenant, account.id))["balance"] == "975.00"


@pytest.mark.parametrize(("path", "kind"), [("refund", "refunded"), ("reverse", "reversed")])
async def test_only_a_received_payment_can_be_undone(
    client, tenant: SeededTenant, path: str, kind: str
) -> None:
    pending = await checkout(tenant)
    response = await client.post(
        f"/api/v1/payments/{pending.id}/{path}", headers=keyed(tenant.admin.headers)
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert (problem["type"], problem["detail"]) == (
        "urn:recoup:problem:conflict",
        f"only a received payment can be {kind}; this one is pending",
    )
    failed = await settle(tenant, "fail", pending.id, "declined")
    with pytest.raises(Conflict) as refused:
        await settle(tenant, "undo", failed.id, kind, "")
    assert refused.value.detail == f"only a received payment can be {kind}; this one is failed"


async def test_a_payment_on_an_account_out_of_sight_is_not_undone(
    client, tenant: SeededTenant
) -> None:
    theirs = tenant.accounts[1]
    paid = await received(tenant, "10.00", account=1)
    async with tenant.db.tenant(tenant.id) as conn:
        with pytest.raises(NotFound) as hidden:
            await PaymentService(conn, tenant.collector.actor).undo(paid.id, "refunded", "")
    assert hidden.value.detail == f"payment {paid.id} not found"
    assert (await account_json(client, tenant, theirs.id))["balance"] == "1065.00"


async def while_settling(
    tenant: SeededTenant, first: tuple[str, tuple[Any, ...]], second: tuple[str, tuple[Any, ...]]
) -> Payment:
    """Run ``second`` while ``first`` has settled the same payment but not yet committed:
    what ``second`` makes of it once ``first`` has committed (or the error it raises)."""
    how, args = first
    async with tenant.db.tenant(tenant.id) as conn:
        await getattr(service(conn, tenant, LATER), how)(*args)
        late = asyncio.create_task(settle(tenant, second[0], *second[1]))
        try:
            await asyncio.sleep(0.5)
            assert not late.done()  # the payment's row is held by the first
        except BaseException:
            late.cancel()
            raise
    return await asyncio.wait_for(late, 30)


async def test_a_failure_arriving_while_a_success_is_settled_changes_nothing(
    client, tenant: SeededTenant
) -> None:
    pending = await checkout(tenant)
    late = await while_settling(
        tenant, ("succeed", (pending.id,)), ("fail", (pending.id, "declined"))
    )
    assert (late.status, late.failure_reason) == ("succeeded", None)
    assert (await account_json(client, tenant, tenant.accounts[0].id))["balance"] == "1035.00"


async def test_two_successes_at_once_pay_the_account_once(client, tenant: SeededTenant) -> None:
    pending = await checkout(tenant)
    late = await while_settling(tenant, ("succeed", (pending.id,)), ("succeed", (pending.id,)))
    assert late.status == "succeeded"
    assert (await account_json(client, tenant, tenant.accounts[0].id))["balance"] == "1035.00"
    assert len(await audit_of(client, tenant, pending.id)) == 2


async def test_two_refunds_at_once_give_the_money_back_once(client, tenant: SeededTenant) -> None:
    paid = await received(tenant, "40.00")
    with pytest.raises(Conflict) as refused:
        await while_settling(
            tenant, ("undo", (paid.id, "refunded", "")), ("undo", (paid.id, "refunded", ""))
        )
    assert refused.value.detail == "only a received payment can be refunded; this one is refunded"
    assert (await account_json(client, tenant, tenant.accounts[0].id))["balance"] == "1075.00"
