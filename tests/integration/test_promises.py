"""Promises to pay: made within the tenant's limits; kept or broken by the scheduled job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec
import pytest

from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from domain.promises.service import settle_promises
from tests.factories import SeededTenant


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo("UTC")).date()


async def promise(client, tenant: SeededTenant, account_id: int, body: dict, user=None):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/accounts/{account_id}/promises",
        json=body,
        headers=(user or tenant.collector).headers,
    )


async def test_a_single_promise_marks_the_account_promised(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    due = today() + dt.timedelta(days=5)
    response = await promise(
        client, tenant, account.id, {"amount": "200.00", "due_date": due.isoformat()}
    )
    assert response.status_code == 201, response.text
    [made] = response.json()
    assert (made["amount"], made["status"], made["instalment"], made["instalments"]) == (
        "200.00",
        "pending",
        1,
        1,
    )
    state = (
        await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    ).json()
    assert state["status"] == "promised"
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'promise.made'") >= 1


async def test_an_instalment_plan(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    plan = [
        {"amount": "300.00", "due_date": (today() + dt.timedelta(days=7 * n)).isoformat()}
        for n in range(1, 4)
    ]
    response = await promise(client, tenant, account.id, {"instalments": plan})
    assert response.status_code == 201, response.text
    made = response.json()
    assert [(p["instalment"], p["instalments"]) for p in made] == [(1, 3), (2, 3), (3, 3)]
    assert len({p["plan_id"] for p in made}) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "200.00", "due_date": "2020-01-01"}, "due_date"),
        ({"amount": "200.00", "due_after_days": 90}, "due_date"),
        ({"amount": "20.00", "due_after_days": 3}, "amount"),
        ({"amount": "5000.00", "due_after_days": 3}, "amount"),
        ({"amount": "200.005", "due_after_days": 3}, "amount"),
        (
            {"instalments": [{"amount": "150.00", "due_after_days": n} for n in range(1, 9)]},
            "instalments",
        ),
        (
            {
                "instalments": [
                    {"amount": "150.00", "due_after_days": 5},
                    {"amount": "150.00", "due_after_days": 4},
                ]
            },
            "instalments[1].due_date",
        ),
        ({"amount": "200.00"}, "amount"),
    ],
)
async def test_promises_outside_the_limits_are_refused(
    client, tenant: SeededTenant, body, field
) -> None:
    def resolve(item: dict) -> dict:
        item = dict(item)
        if "due_after_days" in item:
            item["due_date"] = (today() + dt.timedelta(days=item.pop("due_after_days"))).isoformat()
        return item

    body = resolve(body)
    if "instalments" in body:
        body["instalments"] = [resolve(i) for i in body["instalments"]]
    response = await promise(client, tenant, tenant.accounts[0].id, body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


async def test_the_job_keeps_covered_promises_and_breaks_the_rest(
    tenant: SeededTenant, client
) -> None:
    kept_account, broken_account = tenant.accounts[0], tenant.accounts[1]
    start = dt.datetime.now(dt.UTC)
    due = (start + dt.timedelta(days=2)).date()
    for account in (kept_account, broken_account):
        response = await promise(
            client,
            tenant,
            account.id,
            {"amount": "150.00", "due_date": due.isoformat()},
            user=tenant.admin,
        )
        assert response.status_code == 201
    # The kept one is paid (in two parts); the broken one gets too little.
    async with tenant.db.tenant(tenant.id) as conn:
        payments = PaymentService(conn, tenant.admin.actor)
        for amount in ("100.00", "50.00"):
            await payments.record(
                kept_account.id,
                PaymentCreate(amount=Decimal(amount), currency="USD"),
                source="staff",
            )
        await payments.record(
            broken_account.id,
            PaymentCreate(amount=Decimal("20.00"), currency="USD"),
            source="staff",
        )
    # Before the deadline (due date + 3 grace days, tenant time): only the covered one is judged.
    async with tenant.db.tenant(tenant.id) as conn:
        first = await settle_promises(conn, tenant.id, start + dt.timedelta(days=1))
    assert [(p.account_id, p.status) for p in first] == [(kept_account.id, "kept")]
    async with tenant.db.tenant(tenant.id) as conn:
        second = await settle_promises(conn, tenant.id, start + dt.timedelta(days=7))
    assert [(p.account_id, p.status) for p in second] == [(broken_account.id, "broken")]
    async with tenant.db.tenant(tenant.id) as conn:
        assert await settle_promises(conn, tenant.id, start + dt.timedelta(days=30)) == []
        statuses = dict(
            await conn.fetch(
                "SELECT id, status FROM accounts WHERE id = ANY($1::bigint[])",
                [kept_account.id, broken_account.id],
            )
        )
        events = [
            msgspec.json.decode(msgspec.json.encode(r["data"]))
            for r in await conn.fetch(
                "SELECT data FROM outbox WHERE type IN ('promise.kept', 'promise.broken') ORDER BY id"
            )
        ]
    assert statuses == {kept_account.id: "active", broken_account.id: "promise_broken"}
    assert {e["promise"]["status"] for e in events if "promise" in e} == {"kept", "broken"}


async def test_an_instalment_is_kept_only_when_everything_due_so_far_is_paid(
    tenant: SeededTenant, client
) -> None:
    account = tenant.accounts[0]
    start = dt.datetime.now(dt.UTC)
    plan = [
        {"amount": "200.00", "due_date": (start + dt.timedelta(days=d)).date().isoformat()}
        for d in (1, 10)
    ]
    assert (await promise(client, tenant, account.id, {"instalments": plan})).status_code == 201
    async with tenant.db.tenant(tenant.id) as conn:
        await PaymentService(conn, tenant.admin.actor).record(
            account.id, PaymentCreate(amount=Decimal("250.00"), currency="USD"), source="staff"
        )
        judged = await settle_promises(conn, tenant.id, start + dt.timedelta(days=20))
    assert [(p.instalment, p.status) for p in judged] == [(1, "kept"), (2, "broken")]


async def test_a_promise_under_the_minimum_says_the_minimum_as_money(
    client, tenant: SeededTenant
) -> None:
    """10% of the balance of $1,075.00 is $107.50: a cent under it is refused, saying so."""
    due = (today() + dt.timedelta(days=3)).isoformat()
    under = await promise(
        client, tenant, tenant.accounts[0].id, {"amount": "107.49", "due_date": due}
    )
    assert under.status_code == 422, under.text
    assert under.json()["detail"] == ("each payment must be at least $107.50 (10% of the balance)")
    at = await promise(client, tenant, tenant.accounts[0].id, {"amount": "107.50", "due_date": due})
    assert at.status_code == 201, at.text
