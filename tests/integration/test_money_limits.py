"""The balance is a hard limit: a payment or a checkout of the balance is taken, one minor
unit more is refused, in currencies of 0, 2 and 3 decimals; and an Idempotency-Key never
carries a payment from one account to another."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from domain.actor import Actor
from domain.errors import InvalidInput
from domain.money import Overpayment
from domain.payments import debtor_page
from domain.payments.idempotency import request_hash
from domain.payments.links import PaymentLinkService
from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from tests.conftest import SECRET
from tests.factories import SeededTenant
from tests.helpers import keyed

# (currency, fees, interest, principal, one minor unit): the balance is spread over all three
# parts, so that the limit is their sum and not any one of them.
CURRENCIES = [
    ("USD", "25.00", "50.00", "1000.00", "0.01"),
    ("JPY", "500", "1500", "100000", "1"),
    ("BHD", "1.250", "3.125", "95.625", "0.001"),
]
IDS = [c[0] for c in CURRENCIES]
SAID = {
    "USD": "the payment is $0.01 more than the balance of $1,075.00",
    "JPY": "the payment is ¥1 more than the balance of ¥102,000",
    "BHD": "the payment is BHD0.001 more than the balance of BHD100.000",
}


async def account_in(tenant: SeededTenant, currency: str, fees: str, interest: str, principal: str):  # type: ignore[no-untyped-def]
    return await tenant.account(
        currency=currency,
        fees=Decimal(fees),
        interest=Decimal(interest),
        principal=Decimal(principal),
    )


async def account_state(client, tenant: SeededTenant, account_id: int) -> dict:  # type: ignore[no-untyped-def]
    response = await client.get(f"/api/v1/accounts/{account_id}", headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def payment_count(tenant: SeededTenant, account_id: int) -> int:
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval(
            "SELECT count(*) FROM payments WHERE account_id = $1", account_id
        )


@pytest.mark.parametrize(("currency", "fees", "interest", "principal", "unit"), CURRENCIES, ids=IDS)
@pytest.mark.parametrize("offset", [-1, 0], ids=["balance-1", "balance"])
async def test_a_payment_up_to_the_balance_is_taken(
    client, tenant: SeededTenant, currency, fees, interest, principal, unit, offset
) -> None:
    account = await account_in(tenant, currency, fees, interest, principal)
    balance = Decimal(fees) + Decimal(interest) + Decimal(principal)
    amount = balance + offset * Decimal(unit)
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": str(amount), "currency": currency},
        headers=keyed(tenant.admin.headers),
    )
    assert response.status_code == 201, response.text
    assert response.json()["allocation"]["credit"] == str(Decimal(0).quantize(Decimal(unit)))
    after = await account_state(client, tenant, account.id)
    assert Decimal(after["balance"]) == -offset * Decimal(unit)
    assert after["status"] == ("paid" if offset == 0 else "active")


@pytest.mark.parametrize(("currency", "fees", "interest", "principal", "unit"), CURRENCIES, ids=IDS)
async def test_one_minor_unit_over_the_balance_is_refused_and_changes_nothing(
    client, tenant: SeededTenant, currency, fees, interest, principal, unit
) -> None:
    account = await account_in(tenant, currency, fees, interest, principal)
    balance = Decimal(fees) + Decimal(interest) + Decimal(principal)
    before = await account_state(client, tenant, account.id)
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": str(balance + Decimal(unit)), "currency": currency},
        headers=keyed(tenant.admin.headers),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:recoup:problem:overpayment"
    assert problem["field"] == problem["errors"][0]["field"] == "amount"
    # In the currency's format, as the debtor and the collector read money.
    assert problem["detail"] == SAID[currency]
    assert problem["balance"] == str(balance)
    assert await account_state(client, tenant, account.id) == before
    assert await payment_count(tenant, account.id) == 0


@pytest.mark.parametrize(("currency", "fees", "interest", "principal", "unit"), CURRENCIES, ids=IDS)
async def test_the_service_refuses_one_minor_unit_over_the_balance(
    tenant: SeededTenant, currency, fees, interest, principal, unit
) -> None:
    account = await account_in(tenant, currency, fees, interest, principal)
    balance = Decimal(fees) + Decimal(interest) + Decimal(principal)
    with pytest.raises(Overpayment):
        async with tenant.db.tenant(tenant.id) as conn:
            await PaymentService(conn, tenant.admin.actor).record(
                account.id,
                PaymentCreate(amount=balance + Decimal(unit), currency=currency),
                source="staff",
            )
    async with tenant.db.tenant(tenant.id) as conn:
        paid = await PaymentService(conn, tenant.admin.actor).record(
            account.id, PaymentCreate(amount=balance, currency=currency), source="staff"
        )
    assert paid.allocation.credit == 0


async def pay_page(client, tenant: SeededTenant, account_id: int) -> str:  # type: ignore[no-untyped-def]
    response = await client.post(
        f"/api/v1/accounts/{account_id}/payment-links", json={}, headers=tenant.admin.headers
    )
    assert response.status_code == 201, response.text
    return "/pay/" + response.json()["url"].split("/pay/", 1)[1]


@pytest.mark.parametrize(("currency", "fees", "interest", "principal", "unit"), CURRENCIES, ids=IDS)
async def test_a_checkout_for_more_than_the_balance_is_never_started(
    client, tenant: SeededTenant, currency, fees, interest, principal, unit
) -> None:
    account = await account_in(tenant, currency, fees, interest, principal)
    balance = Decimal(fees) + Decimal(interest) + Decimal(principal)
    page = await pay_page(client, tenant, account.id)
    over = await client.post(
        f"{page}/checkout", json={"amount": str(balance + Decimal(unit))}, headers=keyed()
    )
    assert over.status_code == 422, over.text
    assert over.json()["errors"][0]["field"] == "amount"
    assert await payment_count(tenant, account.id) == 0
    started = await client.post(f"{page}/checkout", json={"amount": str(balance)}, headers=keyed())
    assert started.status_code == 200, started.text
    # A unit short of the balance, on an account of its own (a checkout under way holds
    # its part of the balance: test_pay_page_checkouts.py).
    other = await account_in(tenant, currency, fees, interest, principal)
    started = await client.post(
        f"{await pay_page(client, tenant, other.id)}/checkout",
        json={"amount": str(balance - Decimal(unit))},
        headers=keyed(),
    )
    assert started.status_code == 200, started.text
    assert await payment_count(tenant, account.id) == 1
    assert await payment_count(tenant, other.id) == 1


async def test_the_debtor_page_service_refuses_a_checkout_over_the_balance(
    tenant: SeededTenant,
) -> None:
    account = tenant.accounts[0]  # 1075.00
    async with tenant.db.tenant(tenant.id) as conn:
        links = PaymentLinkService(conn, tenant.admin.actor, secret=SECRET, base_url="")
        link = await links.create(account.id, hours=1)
    debtor = Actor(tenant_id=tenant.id, type="debtor", id=link.id, account_id=account.id)
    with pytest.raises(InvalidInput, match="more than the balance") as refused:
        async with tenant.db.tenant(tenant.id) as conn:
            await debtor_page.start_checkout(conn, debtor, Decimal("1075.01"), "cs_over")
    assert refused.value.field == "amount"
    async with tenant.db.tenant(tenant.id) as conn:
        payment, _ = await debtor_page.start_checkout(conn, debtor, Decimal("1075.00"), "cs_all")
    assert (payment.status, payment.amount) == ("pending", Decimal("1075.00"))


def test_the_fingerprint_of_a_payment_names_its_account() -> None:
    body = PaymentCreate(amount=Decimal("10.00"), currency="USD")
    assert request_hash("payment", 1, body) != request_hash("payment", 2, body)
    assert request_hash("payment", 1, body) == request_hash("payment", 1, body)


async def test_one_key_and_body_on_a_second_account_is_refused_not_replayed(
    client, tenant: SeededTenant
) -> None:
    first, second = tenant.accounts[0], tenant.accounts[1]
    key = f"key-{uuid.uuid4()}"
    headers = {**tenant.admin.headers, "Idempotency-Key": key}
    body = {"amount": "10.00", "currency": "USD", "method": "card"}
    made = await client.post(f"/api/v1/accounts/{first.id}/payments", json=body, headers=headers)
    assert made.status_code == 201, made.text
    other = await client.post(f"/api/v1/accounts/{second.id}/payments", json=body, headers=headers)
    assert other.status_code == 422, other.text
    assert other.json()["type"] == "urn:recoup:problem:idempotency-key-reused"
    assert "idempotent-replayed" not in other.headers
    assert await payment_count(tenant, second.id) == 0
    assert (await account_state(client, tenant, second.id))["balance"] == "1075.00"
    # The first account's key still replays its own payment.
    again = await client.post(f"/api/v1/accounts/{first.id}/payments", json=body, headers=headers)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (201, "true")
    assert again.json()["id"] == made.json()["id"]
    assert await payment_count(tenant, first.id) == 1


@pytest.mark.parametrize(
    ("amount", "detail"),
    [
        ("10.001", "amount has more decimals than USD allows (2)"),
        ("0", "amount must be greater than zero"),
        ("-5.00", "amount must be greater than zero"),
        ("10000000000000000", "amount is too large"),
        ("1e3", 'amount must be a plain decimal number written as a string, such as "1200.50"'),
        ("1" * 41, 'amount must be a plain decimal number written as a string, such as "1200.50"'),
    ],
)
async def test_a_refused_payment_amount_names_the_field_and_says_why(
    client, tenant: SeededTenant, amount: str, detail: str
) -> None:
    account = tenant.accounts[0]
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": amount, "currency": "USD"},
        headers=keyed(tenant.admin.headers),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == "amount"
    assert problem["errors"] == [{"field": "amount", "message": detail}]
    assert await payment_count(tenant, account.id) == 0
