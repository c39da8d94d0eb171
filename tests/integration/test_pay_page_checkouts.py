"""Checkouts under way hold their part of the balance: a debtor with several tabs, or a
double click, cannot start paying more than is owed."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import httpx

from domain.db import Database
from domain.payments.provider_events import apply_provider_event
from domain.payments.providers import ProviderEvent
from tests.factories import SeededTenant
from tests.helpers import keyed
from tests.integration.test_pay_page import checkout, link


async def start(client: httpx.AsyncClient, page: str, amount: str) -> httpx.Response:
    return await client.post(f"{page}/checkout", json={"amount": amount}, headers=keyed())


async def declined(db: Database, checkout_id: str, amount: str) -> None:
    event = ProviderEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type="charge.failed",
        payment_ref=checkout_id,
        amount=Decimal(amount),
        currency="USD",
        failure_reason="Your card was declined.",
    )
    assert await apply_provider_event(db, "sandbox", event, b"{}") == "processed"


async def owing(tenant: SeededTenant, amount: str):  # type: ignore[no-untyped-def]
    """An account whose whole balance is ``amount`` of principal."""
    return await tenant.account(principal=Decimal(amount), interest=Decimal(0), fees=Decimal(0))


async def started_ago(tenant: SeededTenant, payment_id: int, minutes: int) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE payments SET created_at = now() - make_interval(mins => $2) WHERE id = $1",
            payment_id,
            minutes,
        )


async def test_checkouts_under_way_hold_their_part_of_the_balance(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = await owing(tenant, "100.00")
    page = await link(client, tenant, account.id)
    assert (await client.get(f"{page}/summary")).json()["under_way"] == "0.00"
    first, _ = await checkout(client, page, "60.00")
    # The page is told what is under way, and so what may still be paid.
    assert (await client.get(f"{page}/summary")).json()["under_way"] == "60.00"

    refused = await start(client, page, "40.01")  # a cent over what is left
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    assert detail.startswith(
        "a payment of $60.00 on this account is still under way: at most $40.00 more can be "
        "paid now (a payment left unfinished ends by "
    ), detail
    second, _ = await checkout(client, page, "40.00")  # exactly what is left
    refused = await start(client, page, "0.01")
    assert refused.status_code == 409
    assert (
        "$100.00 on this account is still under way: nothing more can be paid until"
        in (refused.json()["detail"])
    )

    # One that ends unpaid lets its part go.
    await declined(db, first, "60.00")
    assert (await start(client, page, "60.01")).status_code == 409
    again, _ = await checkout(client, page, "60.00")
    assert again != first != second


async def test_a_checkout_left_unfinished_past_its_lifetime_holds_nothing(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = await owing(tenant, "100.00")
    page = await link(client, tenant, account.id)
    _, payment_id = await checkout(client, page, "100.00")
    assert (await start(client, page, "1.00")).status_code == 409
    await started_ago(tenant, payment_id, 59)
    assert (await start(client, page, "1.00")).status_code == 409  # still within the hour
    await started_ago(tenant, payment_id, 61)
    assert (await start(client, page, "100.00")).status_code == 200


async def test_many_tabs_paying_the_whole_balance_at_once_start_one_checkout(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = await owing(tenant, "199.68")
    page = await link(client, tenant, account.id)
    answers = await asyncio.gather(*(start(client, page, "199.68") for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 7
    async with tenant.db.tenant(tenant.id) as conn:
        pending = await conn.fetchval(
            "SELECT count(*) FROM payments WHERE account_id = $1 AND status = 'pending'",
            account.id,
        )
    assert pending == 1
