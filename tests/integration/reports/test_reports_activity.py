"""The supervisor's reports on activity (promises kept, collector performance) and their
default periods, against hand-counted rows on both sides of every edge, in the tenant's
time zone, with other tenants' rows about."""

from __future__ import annotations

import datetime as dt

import httpx

from domain.stats.service import day_bounds
from tests.factories import SeededTenant
from tests.integration.reports.rows import (
    NEW_YORK,
    TICK,
    Rows,
    in_zone,
    local_today_unlike_utc,
    ny,
    report,
)


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
