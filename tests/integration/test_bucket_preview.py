"""Proposed delinquency buckets are counted before they are saved: the open accounts each
would hold on the tenant's today, every currency together, nothing saved, checked as a save
checks them, for admins only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from tests.factories import SeededTenant, TenantFactory
from tests.integration.reports.rows import Rows, local_today_unlike_utc

PREVIEW = "/api/v1/tenant/buckets/preview"
PROPOSED = [
    {"name": "fresh", "min_days": 0, "max_days": 9},
    {"name": "late", "min_days": 10, "max_days": 29},
    {"name": "old", "min_days": 30},
]


@pytest.fixture
async def bare(tenants: TenantFactory) -> SeededTenant:
    return await tenants.new(with_accounts=False)


async def test_proposed_buckets_count_open_accounts_on_both_sides_of_each_edge(
    client: httpx.AsyncClient, bare: SeededTenant, tenants: TenantFactory
) -> None:
    zone, today = local_today_unlike_utc()
    admin = bare.admin.headers
    assert (
        await client.patch("/api/v1/tenant", json={"time_zone": zone}, headers=admin)
    ).status_code == 200
    rows = Rows(bare)
    for days, currency in ((9, "USD"), (10, "EUR"), (29, "USD"), (30, "JPY"), (400, "USD")):
        await rows.account(
            due_date=today - dt.timedelta(days=days),
            currency=currency,
            principal=Decimal(100),
            interest=Decimal(0),
            fees=Decimal(0),
        )
    await rows.account(due_date=None)
    closed, _ = await rows.account(due_date=today - dt.timedelta(days=10))
    await rows.run("UPDATE accounts SET status = 'paid' WHERE id = $1", closed)
    other = await tenants.new(with_accounts=False)
    await other.account(due_date=today - dt.timedelta(days=10))
    before = (await client.get("/api/v1/tenant", headers=admin)).json()["settings"]["buckets"]

    # Sent out of order: answered in order.
    got = await client.post(PREVIEW, json={"buckets": PROPOSED[::-1]}, headers=admin)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["as_of"] == today.isoformat()
    assert body["time_zone"] == zone
    assert [(b["name"], b["min_days"], b["max_days"], b["accounts"]) for b in body["buckets"]] == [
        ("fresh", 0, 9, 2),
        ("late", 10, 29, 2),
        ("old", 30, None, 2),
    ]
    assert body["total"] == 6
    # Nothing was saved, and no event or audit row written.
    after = (await client.get("/api/v1/tenant", headers=admin)).json()["settings"]["buckets"]
    assert after == before
    async with bare.db.tenant(bare.id) as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'tenant.update'")
            == 1
        )


@pytest.mark.parametrize(
    ("buckets", "field", "says"),
    [
        (
            [{"name": "a", "min_days": 0, "max_days": 30}, {"name": "b", "min_days": 30}],
            "buckets",
            "must start the day after",
        ),
        (
            [{"name": "a", "min_days": 0, "max_days": 30}, {"name": "b", "min_days": 32}],
            "buckets",
            "must start the day after",
        ),
        ([{"name": "a", "min_days": 1}], "buckets", "must start at 0"),
        ([{"name": "a", "min_days": 0, "max_days": 5}], "buckets", "no upper bound"),
        ([], "buckets", "at least one bucket"),
        (
            [{"name": "a", "min_days": 0}, {"name": "b", "min_days": -1}],
            "buckets[1].min_days",
            "must be at least 0",
        ),
        ([{"name": "", "min_days": 0}], "buckets[0].name", "must not be empty"),
    ],
)
async def test_proposed_buckets_are_refused_as_a_save_refuses_them(
    client: httpx.AsyncClient, bare: SeededTenant, buckets: list, field: str, says: str
) -> None:
    got = await client.post(PREVIEW, json={"buckets": buckets}, headers=bare.admin.headers)
    assert got.status_code == 422, got.text
    assert got.json()["field"] == field
    assert says in got.json()["detail"]
    saved = await client.patch(
        "/api/v1/tenant", json={"buckets": buckets}, headers=bare.admin.headers
    )
    assert (saved.status_code, saved.json()["field"]) == (422, field)


@pytest.mark.parametrize("role", ["supervisor", "collector", "readonly"])
async def test_only_admins_preview_buckets(
    client: httpx.AsyncClient, bare: SeededTenant, role: str
) -> None:
    got = await client.post(PREVIEW, json={"buckets": PROPOSED}, headers=bare.users[role].headers)
    assert got.status_code == 403
