"""The agency behind the payment page: its branding in the tenant's settings, what the page
says about it, whom a dead link sends the debtor to, and the promise dates it offers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from domain.payments.agency import DEBT_COLLECTOR_NOTICE
from tests.factories import SeededTenant
from tests.integration.test_pay_page import link, tenant_today

BRANDING = {
    "name": "Northwind Recovery LLC",
    "phone": "+1 (555) 010-2030",
    "hours": "Monday to Friday, 8 am to 8 pm Eastern",
    "privacy_url": "https://northwind.example/privacy",
    "logo_url": "",
}


async def brand(client: httpx.AsyncClient, tenant: SeededTenant, **body: Any) -> httpx.Response:
    return await client.patch("/api/v1/tenant", json=body, headers=tenant.admin.headers)


async def test_the_agencys_branding_is_a_setting_the_page_shows(
    client, tenant: SeededTenant
) -> None:
    changed = await brand(client, tenant, branding=BRANDING)
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"]["branding"] == BRANDING
    read = await client.get("/api/v1/tenant", headers=tenant.collector.headers)
    assert read.json()["settings"]["branding"] == BRANDING
    page = await link(client, tenant, tenant.accounts[0].id)
    summary = await client.get(f"{page}/summary")
    assert summary.json()["agency"] == {**BRANDING, "notice": DEBT_COLLECTOR_NOTICE}


async def test_a_tenant_without_branding_is_named_by_its_own_name(
    client, tenant: SeededTenant
) -> None:
    read = await client.get("/api/v1/tenant", headers=tenant.admin.headers)
    assert read.json()["settings"]["branding"] == {
        "name": "",
        "phone": "",
        "hours": "",
        "privacy_url": "",
        "logo_url": "",
    }
    page = await link(client, tenant, tenant.accounts[0].id)
    agency = (await client.get(f"{page}/summary")).json()["agency"]
    assert (agency["name"], agency["phone"]) == (f"Tenant {tenant.slug}", "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "call us"),
        ("phone", "+1 " + "5" * 32),
        ("privacy_url", "http://northwind.example/privacy"),
        ("privacy_url", "javascript:alert(1)"),
        ("privacy_url", "https://northwind.example/" + "p" * 480),
        ("logo_url", "data:image/png;base64,AAAA"),
        # The page loads nothing from elsewhere: a logo is a path on this server.
        ("logo_url", "https://northwind.example/logo.png"),
        ("logo_url", "//northwind.example/logo.png"),
        ("name", "N" * 201),
        ("hours", "H" * 201),
    ],
)
async def test_branding_refuses_what_the_page_could_not_show_safely(
    client, tenant: SeededTenant, field: str, value: str
) -> None:
    refused = await brand(client, tenant, branding={**BRANDING, field: value})
    assert refused.status_code == 422, refused.text
    read = await client.get("/api/v1/tenant", headers=tenant.admin.headers)
    assert read.json()["settings"]["branding"]["name"] == ""


async def test_branding_takes_values_at_its_limits(client, tenant: SeededTenant) -> None:
    longest = {
        "name": "N" * 200,
        "phone": "+1 " + "5" * 29,
        "hours": "H" * 200,
        "privacy_url": "https://n.example/" + "p" * 482,
        "logo_url": "/static/" + "l" * 492,
    }
    changed = await brand(client, tenant, branding=longest)
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"]["branding"] == longest


async def test_an_expired_link_names_the_agency_to_call(client, tenant: SeededTenant) -> None:
    await brand(client, tenant, branding=BRANDING)
    page = await link(client, tenant, tenant.accounts[0].id)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE payment_links SET expires_at = now() - interval '1 second'")
    words = (
        "this payment link has expired. For a new one, call Northwind Recovery LLC on "
        "+1 (555) 010-2030 (Monday to Friday, 8 am to 8 pm Eastern)."
    )
    response = await client.get(f"{page}/summary")
    assert response.status_code == 410
    assert response.json()["detail"] == words
    shown = await client.get(page)
    assert shown.status_code == 410
    assert "T" + words[1:] in shown.text


async def test_an_invalid_link_names_no_agency_but_says_where_to_turn(
    client, tenant: SeededTenant
) -> None:
    await brand(client, tenant, branding=BRANDING)
    shown = await client.get("/pay/not-a-real-link")
    assert shown.status_code == 404
    assert "call the company that sent you that message" in shown.text
    assert "Northwind" not in shown.text


async def test_the_promise_dates_follow_the_tenants_promise_rules(
    client, tenant: SeededTenant
) -> None:
    changed = await brand(client, tenant, promises={"max_days_ahead": 10})
    assert changed.status_code == 200, changed.text
    page = await link(client, tenant, tenant.accounts[0].id)
    dates = (await client.get(f"{page}/summary")).json()["promise_dates"]
    today = await tenant_today(client, tenant)
    assert dates == {
        "earliest": today.isoformat(),
        "latest": (today + dt.timedelta(days=10)).isoformat(),
    }
    # The page offers exactly what a promise may be: the last day is taken, the next is not.
    last = await client.post(f"{page}/promise", json={"due_date": dates["latest"]})
    assert last.status_code == 201, last.text
    beyond = today + dt.timedelta(days=11)
    refused = await client.post(f"{page}/promise", json={"due_date": beyond.isoformat()})
    assert refused.status_code == 422
