"""Payments over REST: exact allocation, idempotency under concurrency, refunds and reversals."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from tests.factories import SeededTenant
from tests.helpers import keyed


async def pay(
    client,
    tenant: SeededTenant,
    account_id: int,
    amount: str,
    *,
    key: str | None = None,
    user=None,
    **extra,
):  # type: ignore[no-untyped-def]
    headers = keyed((user or tenant.admin).headers)
    if key:
        headers["Idempotency-Key"] = key
    body = {"amount": amount, "currency": "USD", "method": "card", **extra}
    return await client.post(f"/api/v1/accounts/{account_id}/payments", json=body, headers=headers)


async def outbox(tenant: SeededTenant, event_type: str) -> list[dict]:
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT channels, data FROM outbox WHERE type = $1 ORDER BY id", event_type
        )
    return [dict(r) for r in rows]


async def test_a_payment_pays_fees_then_interest_then_principal(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]  # 1000.00 principal, 50.00 interest, 25.00 fees
    response = await pay(client, tenant, account.id, "60.00", reference="RCPT-1")
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "succeeded"
    assert payment["allocation"] == {
        "fees": "25.00",
        "interest": "35.00",
        "principal": "0.00",
        "credit": "0.00",
    }
    after = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert (after["fees"], after["interest"], after["principal"], after["balance"]) == (
        "0.00",
        "15.00",
        "1000.00",
        "1015.00",
    )
    [event] = [
        e
        for e in await outbox(tenant, "payment.received")
        if e["data"].get("payment", {}).get("id") == payment["id"]
        and f"account:{account.id}" in e["channels"]
    ]
    assert set(event["channels"]) >= {
        f"account:{account.id}",
        "wallboard",
        f"agent:{tenant.collector.id}",
    }
    assert event["data"]["payment"]["allocation"]["interest"] == "35.00"
    assert event["data"]["account"]["balance"] == "1015.00"
    # The debtor's page hears of it too, without the account's internals.
    [debtor] = [
        e
        for e in await outbox(tenant, "payment.received")
        if e["channels"] == [f"pay:{account.id}"] and e["data"]["payment"]["id"] == payment["id"]
    ]
    assert set(debtor["data"]["account"]) == {
        "currency",
        "balance",
        "principal",
        "interest",
        "fees",
        "status",
    }
    assert "custom" not in str(debtor["data"])


async def test_paying_the_balance_marks_the_account_paid_and_a_refund_restores_it(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[1]
    paid = (await pay(client, tenant, account.id, "1075.00", user=tenant.other_collector)).json()
    state = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert (state["balance"], state["status"]) == ("0.00", "paid")
    refunded = await client.post(
        f"/api/v1/payments/{paid['id']}/refund",
        json={"reason": "duplicate"},
        headers=keyed(tenant.supervisor.headers),
    )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded"
    state = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert (state["principal"], state["interest"], state["fees"], state["status"]) == (
        "1000.00",
        "50.00",
        "25.00",
        "active",
    )
    again = await client.post(
        f"/api/v1/payments/{paid['id']}/refund", headers=keyed(tenant.supervisor.headers)
    )
    assert again.status_code == 409
    assert await outbox(tenant, "payment.refunded")


async def test_a_reversal_restores_exactly_what_the_payment_paid(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[2]
    before = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    first = (await pay(client, tenant, account.id, "30.00")).json()
    second = (await pay(client, tenant, account.id, "100.00")).json()
    reversed_ = await client.post(
        f"/api/v1/payments/{first['id']}/reverse",
        json={"reason": "chargeback"},
        headers=keyed(tenant.admin.headers),
    )
    assert reversed_.json()["status"] == "reversed"
    await client.post(
        f"/api/v1/payments/{second['id']}/reverse", headers=keyed(tenant.admin.headers)
    )
    after = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert [after[k] for k in ("principal", "interest", "fees")] == [
        before[k] for k in ("principal", "interest", "fees")
    ]


@pytest.mark.parametrize(
    ("currency", "amount", "field"),
    [
        ("EUR", "10.00", "currency"),
        ("USD", "0", "amount"),
        ("USD", "-5.00", "amount"),
        ("USD", "1.001", "amount"),
        ("USD", "5000.00", "amount"),
    ],
)
async def test_bad_payments_are_refused_and_change_nothing(
    client, tenant: SeededTenant, currency: str, amount: str, field: str
) -> None:
    account = tenant.accounts[0]
    before = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": amount, "currency": currency},
        headers=keyed(tenant.admin.headers),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    after = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert after == before


async def test_currencies_keep_their_own_decimals(client, tenant: SeededTenant) -> None:
    yen = await tenant.account(
        currency="JPY", principal=Decimal(50_000), interest=Decimal(0), fees=Decimal(0)
    )
    ok = await client.post(
        f"/api/v1/accounts/{yen.id}/payments",
        json={"amount": "1500", "currency": "JPY"},
        headers=keyed(tenant.admin.headers),
    )
    assert ok.json()["amount"] == "1500"
    bad = await client.post(
        f"/api/v1/accounts/{yen.id}/payments",
        json={"amount": "1500.5", "currency": "JPY"},
        headers=keyed(tenant.admin.headers),
    )
    assert bad.status_code == 422
    dinar = await tenant.account(
        currency="BHD", principal=Decimal("100.000"), interest=Decimal(0), fees=Decimal(0)
    )
    ok = await client.post(
        f"/api/v1/accounts/{dinar.id}/payments",
        json={"amount": "10.125", "currency": "BHD"},
        headers=keyed(tenant.admin.headers),
    )
    assert ok.json()["allocation"]["principal"] == "10.125"


async def test_overpayment_is_held_as_credit_when_the_tenant_allows(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    allow = await client.patch(
        "/api/v1/tenant",
        json={"payments": {"hold_overpayment_as_credit": True}},
        headers=tenant.admin.headers,
    )
    assert allow.status_code == 200, allow.text
    paid = (await pay(client, tenant, account.id, "1100.00")).json()
    assert paid["allocation"]["credit"] == "25.00"
    state = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert (state["balance"], state["status"]) == ("0.00", "paid")


async def test_credit_starts_a_cent_over_the_balance(client, tenant: SeededTenant) -> None:
    allow = await client.patch(
        "/api/v1/tenant",
        json={"payments": {"hold_overpayment_as_credit": True}},
        headers=tenant.admin.headers,
    )
    assert allow.status_code == 200, allow.text
    over, exact = tenant.accounts[0], tenant.accounts[1]  # each owes 1075.00
    for account, amount, credit in ((over, "1075.01", "0.01"), (exact, "1075.00", "0.00")):
        paid = await pay(client, tenant, account.id, amount)
        assert paid.status_code == 201, paid.text
        assert paid.json()["allocation"] == {
            "fees": "25.00",
            "interest": "50.00",
            "principal": "1000.00",
            "credit": credit,
        }
        state = (
            await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
        ).json()
        assert (state["balance"], state["status"]) == ("0.00", "paid")


async def test_one_idempotency_key_fifty_times_at_once_makes_one_payment(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    key = f"key-{uuid.uuid4()}"
    responses = await asyncio.gather(
        *(pay(client, tenant, account.id, "10.00", key=key) for _ in range(50))
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    async with tenant.db.tenant(tenant.id) as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM payments WHERE account_id = $1", account.id)
            == 1
        )
    replay = await pay(client, tenant, account.id, "10.00", key=key)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] in created
    other_body = await pay(client, tenant, account.id, "11.00", key=key)
    assert other_body.status_code == 422
    assert other_body.json()["type"] == "urn:recoup:problem:idempotency-key-reused"
    state = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert state["balance"] == "1065.00"


async def test_a_failed_request_lets_its_key_be_used_again(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    key = f"key-{uuid.uuid4()}"
    refused = await pay(client, tenant, account.id, "99999.00", key=key)
    assert refused.status_code == 422
    again = await pay(client, tenant, account.id, "99999.00", key=key)
    assert again.status_code == 422  # refused on its merits again, not stuck "in flight"


async def test_fifty_payments_at_once_leave_the_balance_exact(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    responses = await asyncio.gather(
        *(pay(client, tenant, account.id, "21.37", key=f"k-{n}-{uuid.uuid4()}") for n in range(50))
    )
    assert [r.status_code for r in responses] == [201] * 50
    state = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert Decimal(state["balance"]) == Decimal("1075.00") - 50 * Decimal("21.37")
    page = (
        await client.get(
            f"/api/v1/accounts/{account.id}/payments",
            params={"limit": 200},
            headers=tenant.admin.headers,
        )
    ).json()
    total = sum(
        Decimal(p["allocation"][k])
        for p in page["items"]
        for k in ("fees", "interest", "principal")
    )
    assert total == 50 * Decimal("21.37")


async def test_who_may_take_payments(client, tenant: SeededTenant) -> None:
    mine, theirs = tenant.accounts[0], tenant.accounts[1]
    assert (await pay(client, tenant, mine.id, "1.00", user=tenant.collector)).status_code == 201
    assert (await pay(client, tenant, theirs.id, "1.00", user=tenant.collector)).status_code == 404
    assert (await pay(client, tenant, mine.id, "1.00", user=tenant.readonly)).status_code == 403
    key = (
        await client.post(
            "/api/v1/api-keys",
            json={"name": "erp", "scopes": ["payments:write"]},
            headers=tenant.admin.headers,
        )
    ).json()["key"]
    by_key = await client.post(
        f"/api/v1/accounts/{mine.id}/payments",
        json={"amount": "2.00", "currency": "USD", "method": "bank_transfer"},
        headers=keyed({"Authorization": f"Bearer {key}"}),
    )
    assert by_key.status_code == 201
    assert by_key.json()["source"] == "api"
