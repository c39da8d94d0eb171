"""The supervisor's reports (GET /api/v1/reports/...) against hand-counted rows on both sides
of every edge: bucket boundaries, the period's first and last instant in the tenant's time
zone, months and weeks cut in that zone, currencies kept apart, other tenants' rows; and
each CSV against its JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.stats.service import day_bounds
from tests.factories import SeededTenant, TenantFactory

API = "/api/v1/reports"
NEW_YORK = ZoneInfo("America/New_York")
TICK = dt.timedelta(microseconds=1)
ROUTES = [
    "aging",
    "aging.csv",
    "liquidation",
    "liquidation.csv",
    "promises",
    "promises.csv",
    "collectors",
    "collectors.csv",
]


def ny(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


class Rows:
    """Rows of one tenant written straight into its tables."""

    def __init__(self, tenant: SeededTenant) -> None:
        self.tenant = tenant

    async def run(self, sql: str, *args: Any) -> Any:
        async with self.tenant.db.tenant(self.tenant.id) as conn:
            return await conn.fetchval(sql, *args)

    async def account(self, *, placed: dt.datetime | None = None, **values: Any) -> tuple[int, int]:
        account = await self.tenant.account(**values)
        if placed is not None:
            await self.run("UPDATE accounts SET created_at = $1 WHERE id = $2", placed, account.id)
        return account.id, account.debtor_id

    async def payment(
        self,
        account_id: int,
        amount: str,
        at: dt.datetime,
        *,
        currency: str = "USD",
        status: str = "succeeded",
        by: int | None = None,
    ) -> None:
        await self.run(
            """INSERT INTO payments (tenant_id, account_id, amount, currency, status, method,
              source, created_by, received_at)
            VALUES ($1, $2, $3, $4, $5, 'cash', 'staff', $6, $7)""",
            self.tenant.id,
            account_id,
            Decimal(amount),
            currency,
            status,
            by,
            at,
        )

    async def promise(
        self, account_id: int, made: dt.datetime, status: str, *, by: int | None = None
    ) -> None:
        await self.run(
            """INSERT INTO promises (tenant_id, account_id, amount, currency, due_date, status,
              created_by, created_at)
            VALUES ($1, $2, 10, 'USD', $3, $4, $5, $6)""",
            self.tenant.id,
            account_id,
            made.date() + dt.timedelta(days=7),
            status,
            by,
            made,
        )

    async def call(
        self,
        account: tuple[int, int],
        at: dt.datetime,
        disposition: str | None,
        *,
        by: int,
        direction: str = "outbound",
        channel: str = "call",
    ) -> None:
        await self.run(
            """INSERT INTO interactions (tenant_id, account_id, debtor_id, user_id, channel,
              direction, disposition, occurred_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            self.tenant.id,
            *account,
            by,
            channel,
            direction,
            disposition,
            at,
        )

    async def task(
        self,
        account_id: int,
        by: int,
        started: dt.datetime | None,
        completed: dt.datetime,
        status: str = "completed",
    ) -> None:
        await self.run(
            """INSERT INTO tasks (tenant_id, account_id, status, assignee_id, started_at,
              completed_at)
            VALUES ($1, $2, $3, $4, $5, $6)""",
            self.tenant.id,
            account_id,
            status,
            by,
            started,
            completed,
        )


async def in_zone(client: httpx.AsyncClient, tenant: SeededTenant, zone: str) -> None:
    changed = await client.patch(
        "/api/v1/tenant", json={"time_zone": zone}, headers=tenant.admin.headers
    )
    assert changed.status_code == 200, changed.text


@pytest.fixture
async def bare(tenants: TenantFactory) -> SeededTenant:
    return await tenants.new(with_accounts=False)


@pytest.fixture
async def stranger(tenants: TenantFactory) -> Rows:
    """Another tenant with a row of every kind inside every period below."""
    other = await tenants.new(with_accounts=False)
    rows = Rows(other)
    account = await rows.account(placed=ny(2026, 9, 15), due_date=dt.date(2020, 1, 1))
    agent = other.collector.id
    for at in (ny(2026, 9, 15, 12), ny(2026, 10, 2, 12), ny(2026, 10, 15, 12)):
        await rows.payment(account[0], "1000.00", at, by=agent)
        await rows.promise(account[0], at, "kept", by=agent)
        await rows.call(account, at, "right_party_contact", by=agent)
        await rows.task(account[0], agent, at - dt.timedelta(hours=1), at)
    return rows


async def report(
    client: httpx.AsyncClient, tenant: SeededTenant, name: str, **params: Any
) -> tuple[dict[str, Any], list[list[str]]]:
    """The report as JSON and its CSV, parsed."""
    got = await client.get(f"{API}/{name}", params=params, headers=tenant.supervisor.headers)
    assert got.status_code == 200, got.text
    sheet = await client.get(f"{API}/{name}.csv", params=params, headers=tenant.supervisor.headers)
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8"
    assert sheet.headers["content-disposition"].startswith("attachment; filename=")
    assert sheet.text.endswith("\r\n")
    return got.json(), list(csv.reader(io.StringIO(sheet.text)))


def local_today_unlike_utc() -> tuple[str, dt.date]:
    """A time zone whose date is not UTC's right now, and its date."""
    now = dt.datetime.now(dt.UTC)
    zone = "Etc/GMT-14" if now.hour >= 12 else "Etc/GMT+12"
    today = now.astimezone(ZoneInfo(zone)).date()
    assert today != now.date()
    return zone, today


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


async def test_promise_kept_rate_per_month_and_week_of_making(
    client: httpx.AsyncClient, bare: SeededTenant, stranger: Rows
) -> None:
    await in_zone(client, bare, "America/New_York")
    rows = Rows(bare)
    account, _ = await rows.account()
    for made, status in (
        (ny(2026, 9, 1) - TICK, "kept"),  # August: outside
        (ny(2026, 9, 1), "kept"),
        (ny(2026, 9, 15, 12), "broken"),
        (ny(2026, 9, 20, 12), "pending"),
        (ny(2026, 9, 30, 23, 59, 59, 999999), "cancelled"),  # October in UTC
        (ny(2026, 10, 2, 12), "kept"),
        (ny(2026, 10, 2, 13), "kept"),
        (ny(2026, 10, 31, 23, 59, 59, 999999), "broken"),
        (ny(2026, 11, 1), "kept"),  # November: outside
    ):
        await rows.promise(account, made, status)

    got, sheet = await report(
        client, bare, "promises", **{"from": "2026-09-01", "to": "2026-10-31"}
    )
    assert got["by"] == "month"
    assert got["rows"] == [
        {
            "period": "2026-09",
            "made": 4,
            "kept": 1,
            "broken": 1,
            "pending": 1,
            "cancelled": 1,
            "kept_rate": 0.5,
        },
        {
            "period": "2026-10",
            "made": 3,
            "kept": 2,
            "broken": 1,
            "pending": 0,
            "cancelled": 0,
            "kept_rate": 0.6667,
        },
    ]
    assert sheet == [
        ["Month", "Made", "Kept", "Broken", "Pending", "Cancelled", "Kept %"],
        ["2026-09", "4", "1", "1", "1", "1", "50.00"],
        ["2026-10", "3", "2", "1", "0", "0", "66.67"],
    ]

    # Weeks start on Monday: 2026-09-28 and 2026-10-05; the second has none.
    params = {"from": "2026-09-30", "to": "2026-10-11", "by": "week"}
    got, sheet = await report(client, bare, "promises", **params)
    assert got["rows"] == [
        {
            "period": "2026-09-28",
            "made": 3,
            "kept": 2,
            "broken": 0,
            "pending": 0,
            "cancelled": 1,
            "kept_rate": 1.0,
        },
        {
            "period": "2026-10-05",
            "made": 0,
            "kept": 0,
            "broken": 0,
            "pending": 0,
            "cancelled": 0,
            "kept_rate": None,
        },
    ]
    assert sheet[0][0] == "Week of"
    assert sheet[1:] == [
        ["2026-09-28", "3", "2", "0", "0", "1", "100.00"],
        ["2026-10-05", "0", "0", "0", "0", "0", ""],
    ]


async def test_collector_performance_counts_the_periods_work_of_each_collector(
    client: httpx.AsyncClient, bare: SeededTenant, stranger: Rows
) -> None:
    await in_zone(client, bare, "America/New_York")
    rows = Rows(bare)
    account = await rows.account()
    agent, other = bare.collector.id, bare.other_collector.id
    await rows.run("UPDATE users SET name = $1 WHERE id = $2", '=HYPERLINK("x")', other)
    start, end = day_bounds(dt.date(2026, 10, 15), NEW_YORK)

    await rows.call(account, start, "right_party_contact", by=agent)
    await rows.call(account, end - TICK, "no_answer", by=agent)
    await rows.call(account, start - TICK, "right_party_contact", by=agent)  # the day before
    await rows.call(account, end, "promise", by=agent)  # the day after
    await rows.call(account, start, "right_party_contact", by=agent, direction="inbound")
    await rows.call(account, start, "right_party_contact", by=agent, channel="sms")
    await rows.call(account, start, "promise", by=other)

    await rows.promise(account[0], start, "pending", by=agent)
    await rows.promise(account[0], end - TICK, "pending", by=agent)
    await rows.promise(account[0], end, "pending", by=agent)

    await rows.payment(account[0], "10.00", start, by=agent)
    await rows.payment(account[0], "5.00", end - TICK, by=agent, currency="EUR")
    await rows.payment(account[0], "3.00", start, by=agent, status="failed")
    await rows.payment(account[0], "7.00", end, by=agent)
    await rows.payment(account[0], "9.00", start, by=bare.supervisor.id)  # not a collector

    hour = dt.timedelta(hours=1)
    await rows.task(account[0], agent, start + hour, start + hour + dt.timedelta(minutes=5))
    await rows.task(account[0], agent, end - hour, end - TICK)
    await rows.task(account[0], agent, end - hour, end)  # the day after
    await rows.task(account[0], agent, None, start + hour)  # never started: no handle time
    await rows.task(account[0], agent, start, start + hour, status="cancelled")

    got, sheet = await report(
        client, bare, "collectors", **{"from": "2026-10-15", "to": "2026-10-15"}
    )
    by_id = {r["id"]: r for r in got["rows"]}
    assert set(by_id) == {agent, other}
    # Handle time: (300 s + 3599.999999 s) / 2, rounded.
    assert by_id[agent] == {
        "id": agent,
        "name": f"Collector of {bare.slug}",
        "calls": 2,
        "right_party": 1,
        "promises": 2,
        "collected": [
            {"currency": "EUR", "amount": "5.00", "count": 1},
            {"currency": "USD", "amount": "10.00", "count": 1},
        ],
        "tasks_completed": 3,
        "avg_handle_seconds": 1950,
    }
    assert by_id[other] == {
        "id": other,
        "name": '=HYPERLINK("x")',
        "calls": 1,
        "right_party": 1,
        "promises": 0,
        "collected": [],
        "tasks_completed": 0,
        "avg_handle_seconds": None,
    }
    assert sheet[0] == [
        "Collector",
        "Calls",
        "Right-party contacts",
        "Promises",
        "Tasks completed",
        "Avg handle (s)",
        "Collected EUR",
        "Payments EUR",
        "Collected USD",
        "Payments USD",
    ]
    assert sorted(sheet[1:]) == sorted(
        [
            [f"Collector of {bare.slug}", "2", "1", "2", "3", "1950", "5.00", "1", "10.00", "1"],
            ['\'=HYPERLINK("x")', "1", "1", "0", "0", "", "0.00", "0", "0.00", "0"],
        ]
    )


async def test_default_periods_end_today_in_the_tenants_zone(
    client: httpx.AsyncClient, bare: SeededTenant
) -> None:
    zone, today = local_today_unlike_utc()
    await in_zone(client, bare, zone)
    month = today.replace(day=1)
    got, _ = await report(client, bare, "collectors")
    assert (got["from"], got["to"]) == (month.isoformat(), today.isoformat())
    got, _ = await report(client, bare, "liquidation")
    assert got["to"] == today.isoformat()
    start = dt.date.fromisoformat(got["from"])
    assert start.day == 1
    assert (today.year * 12 + today.month) - (start.year * 12 + start.month) == 11
    got, _ = await report(client, bare, "promises")
    assert got["rows"][-1]["period"] == today.strftime("%Y-%m")
    assert len(got["rows"]) == 6
