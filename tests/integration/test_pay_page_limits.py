"""The debtor's page starts checkouts and issues socket tickets without a login: both are
limited per link and per address (429 with Retry-After)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from msgspec.structs import replace

from config.settings import Settings, settings_from_env
from server.app import create_app
from server.resources import Resources
from tests.factories import SeededTenant
from tests.helpers import keyed

ADDRESS = "127.0.0.77"


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose debtor-page limits are low enough to reach, seen from its own address."""
    limits = replace(
        settings,
        pay_checkout_limit_per_link=2,
        pay_checkout_limit_per_ip=4,
        pay_ticket_limit_per_link=2,
        pay_ticket_limit_per_ip=4,
        pay_dispute_limit_per_link=2,
        pay_dispute_limit_per_ip=4,
    )
    opened = await Resources.open(limits, application_name="recoup-tests-pay-limits")
    stale = [key async for key in opened.redis.scan_iter(f"recoup:pay:*:ip:{ADDRESS}")]
    if stale:
        await opened.redis.delete(*stale)
    transport = httpx.ASGITransport(
        app=create_app(limits, resources=opened), client=(ADDRESS, 40000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await opened.close()


async def link(client: httpx.AsyncClient, tenant: SeededTenant, account: int = 0) -> str:
    response = await client.post(
        f"/api/v1/accounts/{tenant.accounts[account].id}/payment-links",
        json={},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201, response.text
    return "/pay/" + response.json()["url"].split("/pay/", 1)[1]


def assert_limited(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) > 0
    assert what in response.json()["detail"]


async def test_checkouts_are_limited_per_link_and_per_address(
    strict: httpx.AsyncClient, client, tenant: SeededTenant
) -> None:
    first, second = await link(client, tenant, 0), await link(client, tenant, 1)

    async def checkout(page: str) -> httpx.Response:
        return await strict.post(f"{page}/checkout", json={"amount": "10.00"}, headers=keyed())

    assert [(await checkout(first)).status_code for _ in range(2)] == [200, 200]
    assert_limited(await checkout(first), "link")
    assert (await checkout(second)).status_code == 200  # another link has its own count
    assert_limited(await checkout(second), "address")


async def test_tickets_are_limited_per_link_and_per_address(
    strict: httpx.AsyncClient, client, tenant: SeededTenant
) -> None:
    first, second = await link(client, tenant, 0), await link(client, tenant, 1)
    assert [(await strict.post(f"{first}/ticket")).status_code for _ in range(2)] == [200, 200]
    assert_limited(await strict.post(f"{first}/ticket"), "link")
    assert (await strict.post(f"{second}/ticket")).status_code == 200
    assert_limited(await strict.post(f"{second}/ticket"), "address")


async def test_the_default_limits_leave_room_for_retries() -> None:
    # A debtor retrying a declined card several times a minute is not turned away. (The
    # defaults: the tests' own settings lift the per-address ones.)
    settings = settings_from_env({})
    assert settings.pay_checkout_limit_per_link >= 10
    assert settings.pay_checkout_limit_per_ip >= settings.pay_checkout_limit_per_link
    assert settings.pay_ticket_limit_per_link >= 30


async def test_disputes_are_limited_per_link_and_per_address(
    strict: httpx.AsyncClient, client, tenant: SeededTenant
) -> None:
    first, second = await link(client, tenant, 0), await link(client, tenant, 1)

    async def dispute(page: str) -> httpx.Response:
        return await strict.post(f"{page}/dispute", json={"reason": "not_mine"})

    assert [(await dispute(first)).status_code for _ in range(2)] == [200, 200]
    assert_limited(await dispute(first), "link")
    assert (await dispute(second)).status_code == 200
    assert_limited(await dispute(second), "address")
