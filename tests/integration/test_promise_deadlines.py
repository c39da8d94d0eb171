"""A promise is kept by payments received up to the end of its due date plus the grace days
(the tenant's calendar), broken from the day after; refunded or reversed money never keeps
it. The payments and the scheduled judgement run on a fixed clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from domain.promises.service import settle_promises
from domain.tenancy.schemas import PromiseRules
from tests.factories import SeededTenant
from tests.helpers import keyed

GRACE = PromiseRules().grace_days  # 3
ZONE = "America/New_York"


async def promised(client, tenant: SeededTenant) -> tuple[int, dt.date]:  # type: ignore[no-untyped-def]
    """A promise of 200.00 on the first account, due in five days (New York, the tenant's
    zone); its account id and due date."""
    zone = await client.patch(
        "/api/v1/tenant", json={"time_zone": ZONE}, headers=tenant.admin.headers
    )
    assert zone.status_code == 200, zone.text
    account = tenant.accounts[0]
    due = dt.datetime.now(ZoneInfo(ZONE)).date() + dt.timedelta(days=5)
    response = await client.post(
        f"/api/v1/accounts/{account.id}/promises",
        json={"amount": "200.00", "due_date": due.isoformat()},
        headers=tenant.collector.headers,
    )
    assert response.status_code == 201, response.text
    return account.id, due


def local(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), ZoneInfo(ZONE))


async def paid(tenant: SeededTenant, account_id: int, when: dt.datetime, amount: str) -> int:
    """A payment received at ``when`` (a clock fixed there: a later day may not be typed in)."""
    async with tenant.db.tenant(tenant.id) as conn:
        payment = await PaymentService(conn, tenant.admin.actor, lambda: when).record(
            account_id, PaymentCreate(amount=Decimal(amount), currency="USD"), source="staff"
        )
    return payment.id


async def judged(tenant: SeededTenant, now: dt.datetime) -> list[tuple[int, str]]:
    async with tenant.db.tenant(tenant.id) as conn:
        return [(p.account_id, p.status) for p in await settle_promises(conn, tenant.id, now)]


async def promise_status(client, tenant: SeededTenant, account_id: int) -> str:  # type: ignore[no-untyped-def]
    response = await client.get(
        f"/api/v1/accounts/{account_id}/promises", headers=tenant.collector.headers
    )
    assert response.status_code == 200, response.text
    [promise] = response.json()["items"]
    return promise["status"]


async def test_paid_in_the_last_minute_of_the_grace_period_is_kept(
    client, tenant: SeededTenant
) -> None:
    account_id, due = await promised(client, tenant)
    last_day = due + dt.timedelta(days=GRACE)
    await paid(tenant, account_id, local(last_day, 23, 59, 59), "200.00")
    assert await judged(tenant, local(last_day + dt.timedelta(days=1), 12)) == [
        (account_id, "kept")
    ]
    assert await promise_status(client, tenant, account_id) == "kept"


async def test_paid_the_day_after_the_grace_period_is_broken(client, tenant: SeededTenant) -> None:
    account_id, due = await promised(client, tenant)
    day_after = due + dt.timedelta(days=GRACE + 1)
    await paid(tenant, account_id, local(day_after, 0, 0, 1), "200.00")
    assert await judged(tenant, local(day_after, 12)) == [(account_id, "broken")]
    assert await promise_status(client, tenant, account_id) == "broken"
    state = (
        await client.get(f"/api/v1/accounts/{account_id}", headers=tenant.collector.headers)
    ).json()
    assert state["status"] == "promise_broken"


async def test_an_unpaid_promise_waits_out_the_grace_period_before_it_breaks(
    client, tenant: SeededTenant
) -> None:
    account_id, due = await promised(client, tenant)
    for day in range(GRACE + 1):  # the due date and each grace day, to their last second
        assert await judged(tenant, local(due + dt.timedelta(days=day), 23, 59, 59)) == []
    assert await promise_status(client, tenant, account_id) == "pending"
    day_after = due + dt.timedelta(days=GRACE + 1)
    assert await judged(tenant, local(day_after, 0)) == [(account_id, "broken")]
    assert await promise_status(client, tenant, account_id) == "broken"


@pytest.mark.parametrize("action", ["refund", "reverse"])
async def test_money_given_back_does_not_keep_a_promise(
    client, tenant: SeededTenant, action: str
) -> None:
    account_id, due = await promised(client, tenant)
    payment_id = await paid(tenant, account_id, local(due, 10), "200.00")
    undone = await client.post(
        f"/api/v1/payments/{payment_id}/{action}",
        json={"reason": "bounced"},
        headers=keyed(tenant.supervisor.headers),
    )
    assert undone.status_code == 200, undone.text
    assert await judged(tenant, local(due, 12)) == []  # not kept by it
    assert await promise_status(client, tenant, account_id) == "pending"
    assert await judged(tenant, local(due + dt.timedelta(days=GRACE + 1), 0)) == [
        (account_id, "broken")
    ]
