"""Promises never stack past the balance: a staff promise and a debtor's proposal are held to
one rule, what the pending promises still await plus the new one is at most the balance."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from tests.factories import SeededTenant
from tests.integration.test_pay_page import in_a_week, link
from tests.integration.test_promises import promise

DUE = {"due_date": (dt.date.today() + dt.timedelta(days=5)).isoformat()}
REFUSED = (
    "$300.00 of the balance of $1,075.00 is already promised; at most $775.00 more may be promised"
)


async def test_a_staff_promise_may_fill_the_balance_and_not_a_cent_more(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    first = await promise(client, tenant, account.id, {"amount": "300.00", **DUE})
    assert first.status_code == 201, first.text
    over = await promise(client, tenant, account.id, {"amount": "775.01", **DUE})
    assert over.status_code == 409, over.text
    problem = over.json()
    assert (problem["detail"], problem["promised"], problem["unpromised"]) == (
        REFUSED,
        "300.00",
        "775.00",
    )
    exact = await promise(client, tenant, account.id, {"amount": "775.00", **DUE})
    assert exact.status_code == 201, exact.text
    async with tenant.db.tenant(tenant.id) as conn:
        pending = await conn.fetchval(
            "SELECT sum(amount) FROM promises WHERE account_id = $1 AND status = 'pending'",
            account.id,
        )
    assert pending == Decimal("1075.0000")


async def test_a_plan_is_held_to_the_same_rule_as_one_promise(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    assert (
        await promise(client, tenant, account.id, {"amount": "300.00", **DUE})
    ).status_code == 201
    days = [(dt.date.today() + dt.timedelta(days=n)).isoformat() for n in (3, 10)]
    plan = [{"amount": "400.00", "due_date": days[0]}, {"amount": "375.01", "due_date": days[1]}]
    refused = await promise(client, tenant, account.id, {"instalments": plan})
    assert (refused.status_code, refused.json()["detail"]) == (409, REFUSED)
    plan[1]["amount"] = "375.00"
    assert (await promise(client, tenant, account.id, {"instalments": plan})).status_code == 201


async def test_what_was_paid_since_a_promise_counts_towards_it(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    assert (
        await promise(client, tenant, account.id, {"amount": "300.00", **DUE})
    ).status_code == 201
    async with tenant.db.tenant(tenant.id) as conn:
        await PaymentService(conn, tenant.admin.actor).record(
            account.id, PaymentCreate(amount=Decimal("100.00"), currency="USD"), source="staff"
        )
    # $975.00 owed, $200.00 of it still awaited by the promise: $775.00 may be promised.
    over = await promise(client, tenant, account.id, {"amount": "775.01", **DUE})
    assert (over.status_code, over.json()["detail"]) == (
        409,
        "$200.00 of the balance of $975.00 is already promised; "
        "at most $775.00 more may be promised",
    )
    exact = await promise(client, tenant, account.id, {"amount": "775.00", **DUE})
    assert exact.status_code == 201, exact.text


async def test_a_debtor_proposal_is_held_to_the_staff_promise_already_made(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    assert (
        await promise(client, tenant, account.id, {"amount": "300.00", **DUE})
    ).status_code == 201
    page = await link(client, tenant, account.id)
    due = in_a_week().isoformat()
    over = await client.post(f"{page}/promise", json={"due_date": due, "amount": "775.01"})
    assert (over.status_code, over.json()["detail"]) == (409, REFUSED)
    # Without an amount the proposal is for what is not promised yet.
    rest = await client.post(f"{page}/promise", json={"due_date": due})
    assert rest.status_code == 201, rest.text
    assert rest.json() == [{"amount": "775.00", "due_date": due, "status": "pending"}]
    again = await client.post(f"{page}/promise", json={"due_date": due})
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "everything owed is already promised",
    )
    staff = await promise(client, tenant, account.id, {"amount": "107.50", **DUE})
    assert (staff.status_code, staff.json()["detail"]) == (
        409,
        "$1,075.00 of the balance of $1,075.00 is already promised; "
        "at most $0.00 more may be promised",
    )


async def test_a_promise_too_far_ahead_names_the_last_day_in_words(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    today = await tenant_today(tenant)
    latest = today + dt.timedelta(days=60)
    far = await promise(
        client,
        tenant,
        account.id,
        {"amount": "300.00", "due_date": (latest + dt.timedelta(days=1)).isoformat()},
    )
    assert (far.status_code, far.json()["detail"]) == (
        422,
        f"a promise may be due at most 60 days ahead (by {latest.day} {latest:%B %Y})",
    )
    last = await promise(
        client, tenant, account.id, {"amount": "300.00", "due_date": latest.isoformat()}
    )
    assert last.status_code == 201, last.text


async def tenant_today(tenant: SeededTenant) -> dt.date:
    async with tenant.db.tenant(tenant.id) as conn:
        zone = await conn.fetchval("SELECT time_zone FROM tenants WHERE id = $1", tenant.id)
    return dt.datetime.now(ZoneInfo(zone)).date()
