"""The supervisor's reports (GET /api/v1/reports/...), aging and liquidation, against
hand-counted rows on both sides of every edge: bucket boundaries, the period's first and
last instant in the tenant's time zone, months cut in that zone, currencies kept apart,
other tenants' rows; and each CSV against its JSON. Promises and collectors: test_reports_activity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx

from tests.factories import SeededTenant
from tests.integration.reports.rows import (
    TICK,
    Rows,
    in_zone,
    local_today_unlike_utc,
    ny,
    report,
)


async def test_aging_counts_open_accounts_per_bucket_and_currency_on_both_sides_of_each_edge(
    client: httpx.AsyncClient, bare: SeededTenant, stranger: Rows
) -> None:
    zone, today = local_today_unlike_utc()
    await in_zone(client, bare, zone)
    rows = Rows(bare)

    def ago(days: int) -> dt.date:
        return today - dt.timedelta(days=days)

    def amounts(principal: str) -> dict[str, Any]:
        return {"principal": Decimal(principal), "interest": Decimal(0), "fees": Decimal(0)}

    await rows.account(due_date=None, **amounts("1"))  # current: no due date
    await rows.account(due_date=today + dt.timedelta(days=5), **amounts("2"))  # current
    await rows.account(due_date=today, **amounts("4"))  # current: due today
    await rows.account(due_date=ago(1), **amounts("8"))  # 1-30
    await rows.account(due_date=ago(30), **amounts("16"), status="promised")  # 1-30
    await rows.account(due_date=ago(31), **amounts("32"), status="disputed")  # 31-60
    await rows.account(due_date=ago(60), **amounts("64"))  # 31-60
    await rows.account(due_date=ago(61), **amounts("128"), status="promise_broken")  # 61-90
    await rows.account(due_date=ago(90), **amounts("256"))  # 61-90
    await rows.account(
        due_date=ago(91),
        principal=Decimal("500.10"),
        interest=Decimal("10.20"),
        fees=Decimal("0.30"),
    )  # 90+
    await rows.account(due_date=ago(3000), **amounts("1000"), currency="EUR")  # 90+
    await rows.account(due_date=ago(10), **amounts("5"), currency="EUR")  # 1-30
    await rows.account(due_date=ago(100), **amounts("9999"), status="paid")
    await rows.account(due_date=ago(100), **amounts("9999"), status="closed")

    got, sheet = await report(client, bare, "aging")
    assert (got["as_of"], got["time_zone"]) == (today.isoformat(), zone)
    table = [
        ["current", "0-0", "EUR", "0", "0.00"],
        ["1-30", "1-30", "EUR", "1", "5.00"],
        ["31-60", "31-60", "EUR", "0", "0.00"],
        ["61-90", "61-90", "EUR", "0", "0.00"],
        ["90+", "91+", "EUR", "1", "1000.00"],
        ["current", "0-0", "USD", "3", "7.00"],
        ["1-30", "1-30", "USD", "2", "24.00"],
        ["31-60", "31-60", "USD", "2", "96.00"],
        ["61-90", "61-90", "USD", "2", "384.00"],
        ["90+", "91+", "USD", "1", "510.60"],
    ]
    assert [
        [
            r["bucket"],
            f"{r['min_days']}-{r['max_days']}",
            r["currency"],
            r["accounts"],
            r["balance"],
        ]
        for r in got["rows"]
    ] == [[b, d.replace("91+", "91-None"), c, int(n), m] for b, d, c, n, m in table]
    assert sheet == [["Bucket", "Days past due", "Currency", "Accounts", "Balance"], *table]


async def test_aging_follows_the_tenants_own_buckets(
    client: httpx.AsyncClient, bare: SeededTenant
) -> None:
    zone, today = local_today_unlike_utc()
    buckets = [
        {"name": "=early", "min_days": 0, "max_days": 9},
        {"name": "late", "min_days": 10},
    ]
    changed = await client.patch(
        "/api/v1/tenant", json={"time_zone": zone, "buckets": buckets}, headers=bare.admin.headers
    )
    assert changed.status_code == 200, changed.text
    rows = Rows(bare)
    await rows.account(
        due_date=today - dt.timedelta(days=9),
        currency="JPY",
        principal=Decimal(7),
        interest=Decimal(0),
        fees=Decimal(0),
    )
    await rows.account(
        due_date=today - dt.timedelta(days=10),
        currency="JPY",
        principal=Decimal(3),
        interest=Decimal(0),
        fees=Decimal(0),
    )
    got, sheet = await report(client, bare, "aging")
    assert [(r["bucket"], r["accounts"], r["balance"]) for r in got["rows"]] == [
        ("=early", 1, "7"),
        ("late", 1, "3"),
    ]
    # A name a spreadsheet would read as a formula is written as text.
    assert sheet[1:] == [["'=early", "0-9", "JPY", "1", "7"], ["late", "10+", "JPY", "1", "3"]]


async def test_liquidation_is_collected_over_placed_per_month_of_placement_in_the_tenants_zone(
    client: httpx.AsyncClient, bare: SeededTenant, stranger: Rows
) -> None:
    await in_zone(client, bare, "America/New_York")
    rows = Rows(bare)
    # Placed for 1075.00 (the factory's amounts) on the first instant of September.
    first, _ = await rows.account(placed=ny(2026, 9, 1))
    # The last instant of September in New York, October in UTC: placed for 500.00.
    last, _ = await rows.account(
        placed=ny(2026, 9, 30, 23, 59, 59, 999999),
        principal=Decimal(500),
        interest=Decimal(0),
        fees=Decimal(0),
    )
    euro, _ = await rows.account(
        placed=ny(2026, 10, 31, 23, 59, 59, 999999),
        currency="EUR",
        principal=Decimal(200),
        interest=Decimal(0),
        fees=Decimal(0),
    )
    before, _ = await rows.account(placed=ny(2026, 9, 1) - TICK)  # August: outside
    after, _ = await rows.account(placed=ny(2026, 11, 1))  # November: outside
    # What is owed changes after placement; what was placed does not.
    await rows.run("UPDATE accounts SET principal = 1 WHERE id = $1", first)
    later = ny(2026, 11, 20)
    await rows.payment(first, "100.00", later)
    await rows.payment(first, "50.00", later, status="failed")
    await rows.payment(first, "30.00", later, status="refunded")
    await rows.payment(first, "70.00", later, currency="GBP")  # not the account's currency
    await rows.payment(last, "57.50", later)
    await rows.payment(euro, "20.00", later, currency="EUR")
    await rows.payment(before, "999.00", later)
    await rows.payment(after, "999.00", later)

    got, sheet = await report(
        client, bare, "liquidation", **{"from": "2026-09-01", "to": "2026-10-31"}
    )
    assert (got["from"], got["to"], got["time_zone"]) == (
        "2026-09-01",
        "2026-10-31",
        "America/New_York",
    )
    assert got["rows"] == [
        {
            "month": "2026-09",
            "currency": "EUR",
            "accounts": 0,
            "placed": "0.00",
            "collected": "0.00",
            "rate": None,
        },
        {
            "month": "2026-10",
            "currency": "EUR",
            "accounts": 1,
            "placed": "200.00",
            "collected": "20.00",
            "rate": 0.1,
        },
        # 157.50 / 1575.00
        {
            "month": "2026-09",
            "currency": "USD",
            "accounts": 2,
            "placed": "1575.00",
            "collected": "157.50",
            "rate": 0.1,
        },
        {
            "month": "2026-10",
            "currency": "USD",
            "accounts": 0,
            "placed": "0.00",
            "collected": "0.00",
            "rate": None,
        },
    ]
    assert sheet == [
        ["Month placed", "Currency", "Accounts", "Placed", "Collected", "Liquidation %"],
        ["2026-09", "EUR", "0", "0.00", "0.00", ""],
        ["2026-10", "EUR", "1", "200.00", "20.00", "10.00"],
        ["2026-09", "USD", "2", "1575.00", "157.50", "10.00"],
        ["2026-10", "USD", "0", "0.00", "0.00", ""],
    ]
    # One day less on each side leaves out the accounts placed on it.
    got, _ = await report(client, bare, "liquidation", **{"from": "2026-09-02", "to": "2026-10-30"})
    assert [(r["month"], r["currency"], r["accounts"]) for r in got["rows"]] == [
        ("2026-09", "USD", 1),
        ("2026-10", "USD", 0),
    ]


async def test_an_account_keeps_the_balance_it_was_placed_for(
    client: httpx.AsyncClient, bare: SeededTenant
) -> None:
    made = await client.post(
        "/api/v1/accounts",
        json={
            "external_ref": "PLACED-1",
            "currency": "USD",
            "principal": "300.00",
            "interest": "20.00",
            "fees": "5.00",
            "debtor": {"first_name": "Ana", "last_name": "Placed"},
        },
        headers=bare.supervisor.headers,
    )
    assert made.status_code == 201, made.text
    rows = Rows(bare)
    assert await rows.run(
        "SELECT placed_balance FROM accounts WHERE id = $1", made.json()["id"]
    ) == Decimal("325.0000")
    changed = await client.patch(
        f"/api/v1/accounts/{made.json()['id']}",
        json={"principal": "10.00"},
        headers=bare.supervisor.headers,
    )
    assert changed.status_code == 200, changed.text
    assert await rows.run(
        "SELECT placed_balance FROM accounts WHERE id = $1", made.json()["id"]
    ) == Decimal("325.0000")
