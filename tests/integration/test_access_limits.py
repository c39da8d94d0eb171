"""Who may undo a payment, and which accounts a collector sees through the work they hold."""

from __future__ import annotations

import pytest

from domain.accounts.service import AccountService
from domain.errors import Forbidden, NotFound
from tests.factories import SeededTenant
from tests.helpers import keyed
from tests.integration.test_route_walk import ROUTES
from tests.integration.worklist_helpers import tasks

UNDO = ("refund", "reverse")


async def payment_on(client, tenant: SeededTenant, account_id: int) -> int:  # type: ignore[no-untyped-def]
    response = await client.post(
        f"/api/v1/accounts/{account_id}/payments",
        json={"amount": "10.00", "currency": "USD"},
        headers=keyed(tenant.admin.headers),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def status_of(tenant: SeededTenant, payment_id: int) -> str:
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval("SELECT status FROM payments WHERE id = $1", payment_id)


@pytest.mark.parametrize("action", UNDO)
@pytest.mark.parametrize("role", ["collector", "readonly"])
async def test_a_collector_or_reader_may_not_undo_a_payment(
    client, tenant: SeededTenant, action: str, role: str
) -> None:
    # The collector owns the account and sees the payment: only the role stands in the way.
    payment_id = await payment_on(client, tenant, tenant.accounts[0].id)
    user = tenant.users[role]
    assert (
        await client.get(f"/api/v1/payments/{payment_id}", headers=user.headers)
    ).status_code == 200
    response = await client.post(
        f"/api/v1/payments/{payment_id}/{action}", json={"reason": "x"}, headers=keyed(user.headers)
    )
    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:recoup:problem:forbidden"
    assert await status_of(tenant, payment_id) == "succeeded"
    async with tenant.db.tenant(tenant.id) as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE type IN ('payment.refunded', 'payment.reversed')"
            )
            == 0
        )


@pytest.mark.parametrize("action", UNDO)
@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_a_supervisor_or_admin_undoes_a_payment(
    client, tenant: SeededTenant, action: str, role: str
) -> None:
    payment_id = await payment_on(client, tenant, tenant.accounts[0].id)
    response = await client.post(
        f"/api/v1/payments/{payment_id}/{action}",
        json={"reason": "x"},
        headers=keyed(tenant.users[role].headers),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == f"{action.rstrip('e')}ed"
    assert await status_of(tenant, payment_id) == f"{action.rstrip('e')}ed"


@pytest.mark.parametrize("action", UNDO)
def test_the_undo_routes_admit_managers_only(tenant: SeededTenant, action: str) -> None:
    [route] = [
        r
        for r in ROUTES
        if (r.method, r.path) == ("POST", f"/api/v1/payments/{{payment_id:int}}/{action}")
    ]
    assert route.rule is not None
    assert route.rule.roles == {"admin", "supervisor"}
    for role in ("collector", "readonly"):
        with pytest.raises(Forbidden):
            route.rule.check(tenant.users[role].actor)
    for role in ("admin", "supervisor"):
        route.rule.check(tenant.users[role].actor)


async def hold(tenant: SeededTenant, account_id: int, assignee_id: int, status: str) -> int:
    [task_id] = await tasks(tenant, 1, account_id=account_id)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE tasks SET status = $2, assignee_id = $3, assigned_at = now() WHERE id = $1",
            task_id,
            status,
            assignee_id,
        )
    return task_id


async def collector_sees(client, tenant: SeededTenant, account_id: int) -> bool:  # type: ignore[no-untyped-def]
    """What the API and the account service both say about the collector and the account."""
    response = await client.get(f"/api/v1/accounts/{account_id}", headers=tenant.collector.headers)
    assert response.status_code in (200, 404), response.text
    listed = await client.get("/api/v1/accounts", headers=tenant.collector.headers)
    in_list = account_id in {a["id"] for a in listed.json()["items"]}
    async with tenant.db.tenant(tenant.id) as conn:
        try:
            await AccountService(conn, tenant.collector.actor).get(account_id)
            by_service = True
        except NotFound:
            by_service = False
    assert (response.status_code == 200) == in_list == by_service
    return by_service


@pytest.mark.parametrize("status", ["assigned", "in_progress"])
async def test_another_collectors_task_shows_a_collector_nothing(
    client, tenant: SeededTenant, status: str
) -> None:
    unowned = tenant.accounts[2]
    await hold(tenant, unowned.id, tenant.other_collector.id, status)
    assert not await collector_sees(client, tenant, unowned.id)


@pytest.mark.parametrize("status", ["assigned", "in_progress"])
async def test_a_collectors_own_held_task_shows_its_account(
    client, tenant: SeededTenant, status: str
) -> None:
    unowned = tenant.accounts[2]
    await hold(tenant, unowned.id, tenant.collector.id, status)
    assert await collector_sees(client, tenant, unowned.id)


@pytest.mark.parametrize("status", ["completed", "cancelled"])
async def test_work_no_longer_held_shows_a_collector_nothing(
    client, tenant: SeededTenant, status: str
) -> None:
    unowned = tenant.accounts[2]
    await hold(tenant, unowned.id, tenant.collector.id, status)
    assert not await collector_sees(client, tenant, unowned.id)
