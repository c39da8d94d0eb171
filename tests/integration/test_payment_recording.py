"""Recording, reading and listing payments: the rows, the audit and the events."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import InvalidInput, NotFound
from domain.payments import queries
from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from tests.factories import SeededTenant
from tests.helpers import keyed

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


async def payment_events(tenant: SeededTenant) -> list[tuple[str, list[str], dict[str, Any]]]:
    """The tenant's payment events, oldest first: type, channels and data."""
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT type, channels, data FROM outbox WHERE type LIKE 'payment.%' ORDER BY id"
        )
    return [(r["type"], list(r["channels"]), r["data"]) for r in rows]


async def audit_of(client, tenant: SeededTenant, payment_id: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The payment's audit entries through the API, oldest first."""
    response = await client.get(
        "/api/v1/audit",
        params={"entity_type": "payment", "entity_id": payment_id},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


async def account_json(client, tenant: SeededTenant, account_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await client.get(f"/api/v1/accounts/{account_id}", headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_recorded_payment_is_stored_audited_and_announced_as_sent(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]  # the collector's: 25.00 fees, 50.00 interest, 1000.00
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={
            "amount": "100.00",
            "currency": "USD",
            "method": "bank_transfer",
            "reference": "TRF-0042",
            "received_at": "2026-11-29T09:30:00+01:00",
        },
        headers=keyed(tenant.collector.headers),
    )
    assert response.status_code == 201, response.text
    payment = response.json()
    assert {k: v for k, v in payment.items() if k not in ("id", "created_at")} == {
        "account_id": account.id,
        "amount": "100.00",
        "currency": "USD",
        "status": "succeeded",
        "method": "bank_transfer",
        "source": "staff",
        "provider": None,
        "provider_ref": None,
        "reference": "TRF-0042",
        "allocation": {
            "fees": "25.00",
            "interest": "50.00",
            "principal": "25.00",
            "credit": "0.00",
        },
        "failure_reason": None,
        "received_at": "2026-11-29T08:30:00Z",
        "failed_at": None,
        "refunded_at": None,
        "created_by": tenant.collector.id,
    }
    read = await client.get(f"/api/v1/payments/{payment['id']}", headers=tenant.admin.headers)
    assert read.json() == payment
    after = await account_json(client, tenant, account.id)
    assert (after["fees"], after["interest"], after["principal"]) == ("0.00", "0.00", "975.00")
    assert (after["balance"], after["status"]) == ("975.00", "active")

    [entry] = await audit_of(client, tenant, payment["id"])
    assert (entry["action"], entry["actor_type"], entry["actor_id"]) == (
        "payment.record",
        "user",
        tenant.collector.id,
    )
    assert (entry["before"], entry["after"]) == (None, payment)

    [staff, debtor] = await payment_events(tenant)
    assert staff[:2] == (
        "payment.received",
        [f"account:{account.id}", "wallboard", f"agent:{tenant.collector.id}"],
    )
    assert staff[2]["payment"] == payment
    assert staff[2]["account"] == after
    assert debtor == (
        "payment.received",
        [f"pay:{account.id}"],
        {
            "payment": {
                "id": payment["id"],
                "amount": "100.00",
                "currency": "USD",
                "status": "succeeded",
                "provider_ref": None,
                "failure_reason": None,
                "method": "bank_transfer",
                "received_at": "2026-11-29T08:30:00+00:00",
                "receipt": f"R-{payment['id']}",
            },
            "account": {
                "currency": "USD",
                "balance": "975.00",
                "principal": "975.00",
                "interest": "0.00",
                "fees": "0.00",
                "status": "active",
            },
        },
    )


async def test_a_payment_by_an_api_key_is_from_the_api_and_made_by_no_user(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[2]
    key = (
        await client.post(
            "/api/v1/api-keys",
            json={"name": "erp", "scopes": ["payments:write"]},
            headers=tenant.admin.headers,
        )
    ).json()["key"]
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "5.00", "currency": "USD"},
        headers=keyed({"Authorization": f"Bearer {key}"}),
    )
    assert response.status_code == 201, response.text
    payment = response.json()
    assert (payment["source"], payment["method"], payment["created_by"]) == ("api", "card", None)
    [entry] = await audit_of(client, tenant, payment["id"])
    assert (entry["action"], entry["actor_type"]) == ("payment.record", "api_key")


def at(clock: dt.datetime):  # type: ignore[no-untyped-def]
    return lambda: clock


async def record(tenant: SeededTenant, account_id: int, **fields: Any):  # type: ignore[no-untyped-def]
    """A 10.00 USD payment recorded by the admin on a clock fixed at NOW."""
    async with tenant.db.tenant(tenant.id) as conn:
        return await PaymentService(conn, tenant.admin.actor, at(NOW)).record(
            account_id,
            PaymentCreate(amount=Decimal("10.00"), currency="USD", **fields),
            source="staff",
        )


async def test_a_payment_received_now_unless_told_otherwise(tenant: SeededTenant) -> None:
    paid = await record(tenant, tenant.accounts[0].id)
    assert paid.received_at == NOW
    assert paid.created_by == tenant.admin.id
    earlier = NOW - dt.timedelta(days=30)
    assert (await record(tenant, tenant.accounts[0].id, received_at=earlier)).received_at == earlier


async def test_a_payment_may_be_dated_up_to_five_minutes_ahead_of_the_clock(
    tenant: SeededTenant,
) -> None:
    limit = NOW + dt.timedelta(minutes=5)
    assert (await record(tenant, tenant.accounts[0].id, received_at=limit)).received_at == limit
    with pytest.raises(InvalidInput) as refused:
        await record(
            tenant, tenant.accounts[0].id, received_at=limit + dt.timedelta(microseconds=1)
        )
    assert (refused.value.detail, refused.value.field) == (
        "received_at is in the future",
        "received_at",
    )


async def test_a_payment_may_be_dated_back_ten_years_and_no_further(
    tenant: SeededTenant,
) -> None:
    limit = NOW - dt.timedelta(days=3653)
    assert (await record(tenant, tenant.accounts[0].id, received_at=limit)).received_at == limit
    for too_old in (limit - dt.timedelta(microseconds=1), dt.datetime(1900, 1, 1, tzinfo=dt.UTC)):
        with pytest.raises(InvalidInput) as refused:
            await record(tenant, tenant.accounts[0].id, received_at=too_old)
        assert (refused.value.detail, refused.value.field) == (
            "received_at is more than ten years ago",
            "received_at",
        )


async def test_a_received_at_without_an_offset_is_refused(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    with pytest.raises(InvalidInput) as refused:
        await record(tenant, account.id, received_at=dt.datetime(2026, 11, 29, 9, 30))
    assert (refused.value.detail, refused.value.field) == (
        "received_at needs a time zone offset",
        "received_at",
    )
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "10.00", "currency": "USD", "received_at": "2026-11-29T09:30:00"},
        headers=keyed(tenant.admin.headers),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["type"], problem["detail"], problem["field"]) == (
        "urn:recoup:problem:invalid-input",
        "received_at needs a time zone offset",
        "received_at",
    )
    assert (await account_json(client, tenant, account.id))["balance"] == "1075.00"


async def test_a_payment_in_another_currency_names_the_accounts(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    response = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "10.00", "currency": "EUR"},
        headers=keyed(tenant.admin.headers),
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert (problem["detail"], problem["field"]) == ("this account is in USD, not EUR", "currency")


async def test_a_payment_is_read_by_whoever_may_see_its_account(
    client, tenant: SeededTenant
) -> None:
    theirs = tenant.accounts[1]  # the other collector's
    paid = await record(tenant, theirs.id)
    mine = await client.get(f"/api/v1/payments/{paid.id}", headers=tenant.other_collector.headers)
    assert mine.status_code == 200, mine.text
    assert (mine.json()["id"], mine.json()["amount"]) == (paid.id, "10.00")
    hidden = await client.get(f"/api/v1/payments/{paid.id}", headers=tenant.collector.headers)
    assert hidden.status_code == 404
    # As if it did not exist: the id tells nothing, not even whose account it is on.
    assert hidden.json()["detail"] == f"payment {paid.id} not found"
    missing = await client.get("/api/v1/payments/2000000000", headers=tenant.admin.headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "payment 2000000000 not found"
    async with tenant.db.tenant(tenant.id) as conn:
        with pytest.raises(NotFound) as not_there:
            await PaymentService(conn, tenant.admin.actor).get(2000000000)
    assert not_there.value.detail == "payment 2000000000 not found"


async def test_payments_are_listed_newest_first_a_page_at_a_time(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[2]
    made = [(await record(tenant, account.id)).id for _ in range(3)]
    url = f"/api/v1/accounts/{account.id}/payments"
    first = (await client.get(url, params={"limit": 2}, headers=tenant.admin.headers)).json()
    assert [p["id"] for p in first["items"]] == [made[2], made[1]]
    assert first["next_cursor"] is not None
    rest = (
        await client.get(
            url,
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=tenant.admin.headers,
        )
    ).json()
    assert ([p["id"] for p in rest["items"]], rest["next_cursor"]) == ([made[0]], None)
    whole = (await client.get(url, params={"limit": 3}, headers=tenant.admin.headers)).json()
    assert ([p["id"] for p in whole["items"]], whole["next_cursor"]) == (made[::-1], None)
    other = (
        await client.get(
            f"/api/v1/accounts/{tenant.accounts[0].id}/payments", headers=tenant.admin.headers
        )
    ).json()
    assert other["items"] == []


async def test_a_page_of_payments_reads_no_more_rows_than_asked(tenant: SeededTenant) -> None:
    """The list cuts at its limit whatever the query returns, so only the query shows that
    an account with many payments is not read whole for one page."""
    account = tenant.accounts[2]
    made = [(await record(tenant, account.id)).id for _ in range(3)]
    async with tenant.db.tenant(tenant.id) as conn:
        first = await queries.for_account(conn, account.id, before_id=None, limit=2)
        after_newest = await queries.for_account(conn, account.id, before_id=made[2], limit=1)
    assert [r["id"] for r in first] == [made[2], made[1]]
    assert [r["id"] for r in after_newest] == [made[1]]


async def test_the_payments_of_an_account_out_of_sight_are_not_listed(
    client, tenant: SeededTenant
) -> None:
    theirs = tenant.accounts[1]
    response = await client.get(
        f"/api/v1/accounts/{theirs.id}/payments", headers=tenant.collector.headers
    )
    assert response.status_code == 404
    assert response.json()["detail"] == f"account {theirs.id} not found"
    async with tenant.db.tenant(tenant.id) as conn:
        with pytest.raises(InvalidInput) as refused:
            await PaymentService(conn, tenant.admin.actor).list(theirs.id, limit=0)
    assert refused.value.field == "limit"


async def test_reading_a_payment_does_not_wait_for_a_change_in_progress(
    client, tenant: SeededTenant
) -> None:
    """A refund holds the payment's row until it commits; the payment stays readable."""
    paid = await record(tenant, tenant.accounts[0].id)
    async with tenant.db.tenant(tenant.id) as holder:
        await holder.execute("SELECT id FROM payments WHERE id = $1 FOR UPDATE", paid.id)
        read = await asyncio.wait_for(
            client.get(f"/api/v1/payments/{paid.id}", headers=tenant.admin.headers), 10
        )
        assert (read.status_code, read.json()["status"]) == (200, "succeeded")
        listed = await asyncio.wait_for(
            client.get(
                f"/api/v1/accounts/{tenant.accounts[0].id}/payments", headers=tenant.admin.headers
            ),
            10,
        )
        assert [p["id"] for p in listed.json()["items"]] == [paid.id]


async def test_the_debtor_reads_how_their_checkout_stands(client, tenant: SeededTenant) -> None:
    pages = []
    for account in tenant.accounts[:2]:
        link = await client.post(
            f"/api/v1/accounts/{account.id}/payment-links", json={}, headers=tenant.admin.headers
        )
        assert link.status_code == 201, link.text
        pages.append("/pay/" + link.json()["url"].split("/pay/", 1)[1])
    started = await client.post(f"{pages[0]}/checkout", json={"amount": "40.00"}, headers=keyed())
    assert started.status_code == 200, started.text
    payment_id = started.json()["payment_id"]
    payment = await client.get(f"/api/v1/payments/{payment_id}", headers=tenant.admin.headers)
    checkout_id = payment.json()["provider_ref"]
    state = await client.get(f"{pages[0]}/checkout/{checkout_id}")
    assert state.status_code == 200, state.text
    assert state.json() == {
        "id": payment_id,
        "amount": "40.00",
        "status": "pending",
        "failure_reason": None,
        "receipt": None,
        "method": "card",
        "received_at": None,
    }
    async with tenant.db.tenant(tenant.id) as conn:
        await PaymentService(conn, tenant.admin.actor).fail(payment_id, "card declined")
    state = await client.get(f"{pages[0]}/checkout/{checkout_id}")
    assert state.json() == {
        "id": payment_id,
        "amount": "40.00",
        "status": "failed",
        "failure_reason": "card declined",
        "receipt": None,
        "method": "card",
        "received_at": None,
    }
    # The same checkout seen from another account's link is not there.
    elsewhere = await client.get(f"{pages[1]}/checkout/{checkout_id}")
    assert elsewhere.status_code == 404
    assert elsewhere.json()["detail"] == "no such checkout for this account"


async def test_the_service_lists_fifty_payments_unless_told(tenant: SeededTenant) -> None:
    account = tenant.accounts[2]
    async with tenant.db.tenant(tenant.id) as conn:
        payments = PaymentService(conn, tenant.admin.actor, at(NOW))
        made = [
            (
                await payments.record(
                    account.id, PaymentCreate(amount=Decimal("1.00"), currency="USD"), source="api"
                )
            ).id
            for _ in range(51)
        ]
        first = await payments.list(account.id)
        rest = await payments.list(account.id, cursor=first.next_cursor)
    assert [p.id for p in first.items] == made[:0:-1]
    assert ([p.id for p in rest.items], rest.next_cursor) == ([made[0]], None)


async def test_a_payment_link_keeps_who_issued_it(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    issued = await client.post(
        f"/api/v1/accounts/{account.id}/payment-links", json={}, headers=tenant.collector.headers
    )
    assert issued.status_code == 201, issued.text
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT account_id, created_by FROM payment_links WHERE id = $1", issued.json()["id"]
        )
    assert dict(row) == {"account_id": account.id, "created_by": tenant.collector.id}
