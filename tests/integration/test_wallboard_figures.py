"""What the wallboard shows besides the day's totals (GET /api/v1/stats/realtime): money per
local hour against a week ago, the feed of the day's latest money and promises, and the
queue-age thresholds, against hand-counted rows on both sides of every edge."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import httpx
import pytest

from domain.stats.live import FEED_SIZE
from domain.stats.service import day_bounds
from tests.factories import SeededTenant
from tests.integration.test_stats import NEW_YORK, TICK, Floor, figures, today_bounds


@pytest.fixture
async def floor(client: httpx.AsyncClient, tenant: SeededTenant) -> Floor:
    changed = await client.patch(
        "/api/v1/tenant",
        json={"time_zone": "America/New_York", "stats": {"daily_targets": {"GBP": "50"}}},
        headers=tenant.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    return Floor(tenant)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), NEW_YORK)


async def test_money_per_local_hour_today_against_the_same_day_last_week(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    today, start, end = today_bounds()
    week_ago = today - dt.timedelta(days=7)
    week_start, week_end = day_bounds(week_ago, NEW_YORK)
    by = tenant.collector.id
    await floor.payment("1.00", start, by=by)  # hour 0
    await floor.payment("2.00", local(today, 9, 30), by=by)
    await floor.payment("3.00", local(today, 9, 59), by=None)  # the debtor's page counts too
    await floor.payment("4.00", end - TICK, by=by)  # hour 23
    await floor.payment("5.00", local(today, 9), by=by, status="failed")
    await floor.payment("6.00", local(today, 10), by=by, currency="EUR")
    await floor.payment("7.00", local(week_ago, 9), by=by)
    await floor.payment("8.00", week_start, by=by)  # last week's hour 0
    await floor.payment("9.00", week_end - TICK, by=by)  # last week's hour 23
    await floor.payment("10.00", week_start - TICK, by=by)  # eight days ago
    await floor.payment("11.00", week_end, by=by)  # six days ago
    await floor.payment("12.00", end, by=by)  # tomorrow

    hours = (await figures(client, tenant))["by_hour"]
    # Every hour of the day for every currency seen or aimed at, zero where nothing came in.
    assert [(h["currency"], h["hour"]) for h in hours] == [
        (currency, hour) for currency in ("EUR", "GBP", "USD") for hour in range(24)
    ]
    moved = {
        (h["currency"], h["hour"]): (h["today"], h["last_week"])
        for h in hours
        if (h["today"], h["last_week"]) != ("0.00", "0.00")
    }
    assert moved == {
        ("USD", 0): ("1.00", "8.00"),
        ("USD", 9): ("5.00", "7.00"),
        ("USD", 23): ("4.00", "9.00"),
        ("EUR", 10): ("6.00", "0.00"),
    }


async def test_money_per_hour_is_kept_per_agent_for_a_group(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    today, _, _ = today_bounds()
    made = await client.post(
        "/api/v1/agent-groups", json={"name": "Team A"}, headers=tenant.admin.headers
    )
    group = made.json()["id"]
    await floor.run("UPDATE users SET group_id = $1 WHERE id = $2", group, tenant.collector.id)
    await floor.payment("1.00", local(today, 8), by=tenant.collector.id)
    await floor.payment("2.00", local(today, 8), by=tenant.other_collector.id)
    await floor.payment("4.00", local(today, 8), by=None)

    def eight(got: dict) -> str:
        return next(h["today"] for h in got["by_hour"] if (h["currency"], h["hour"]) == ("USD", 8))

    assert eight(await figures(client, tenant)) == "7.00"
    assert eight(await figures(client, tenant, group_id=group)) == "1.00"


async def promise_plan(
    floor: Floor, amounts: list[str], made: dt.datetime, *, by: int | None, status: str = "pending"
) -> None:
    plan = uuid.uuid4()
    for n, amount in enumerate(amounts, start=1):
        await floor.run(
            """INSERT INTO promises (tenant_id, account_id, plan_id, instalment, instalments,
              amount, currency, due_date, status, created_by, resolved_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'USD', $7, $8, $9, $10, $11)""",
            floor.tenant.id,
            floor.account.id,
            plan,
            n,
            len(amounts),
            Decimal(amount),
            made.date() + dt.timedelta(days=7 * n),
            status,
            by,
            made if status != "pending" else None,
            made,
        )


async def test_the_feed_holds_the_days_latest_money_and_promises_newest_first(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    today, start, end = today_bounds()
    by = tenant.collector.id
    await floor.payment("1.00", local(today, 8), by=by)
    await floor.payment("2.00", local(today, 9), by=None)
    await floor.payment("3.00", local(today, 10), by=by, status="failed")  # not money in
    await floor.payment("4.00", start - TICK, by=by)  # yesterday
    await promise_plan(floor, ["10.00", "15.00"], local(today, 11), by=by)  # one plan, one entry
    await promise_plan(floor, ["20.00"], start - TICK, by=by)  # made yesterday
    await promise_plan(floor, ["30.00"], local(today, 12), by=by, status="broken")
    await promise_plan(floor, ["40.00"], end, by=by, status="broken")  # tomorrow

    feed = (await figures(client, tenant))["feed"]
    ref = floor.account.external_ref
    collector = await floor.run("SELECT name FROM users WHERE id = $1", by)
    assert [(f["type"], f["amount"], f["agent_name"], f["account_ref"]) for f in feed] == [
        # The broken one was also made today: it is both.
        ("promise.broken", "30.00", collector, ref),
        ("promise.made", "30.00", collector, ref),
        ("promise.made", "25.00", collector, ref),
        ("payment.received", "2.00", None, ref),
        ("payment.received", "1.00", collector, ref),
    ]
    assert dt.datetime.fromisoformat(feed[0]["at"]) == local(today, 12)
    assert feed[-1]["agent_id"] == by
    assert feed[-1]["account_id"] == floor.account.id


async def test_the_feed_keeps_the_latest_twenty_and_a_groups_own(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    _, start, _ = today_bounds()
    for n in range(FEED_SIZE + 1):
        await floor.payment(f"{n + 1}.00", start + dt.timedelta(minutes=n), by=tenant.collector.id)
    await floor.payment("99.00", start, by=tenant.other_collector.id)
    feed = (await figures(client, tenant))["feed"]
    assert len(feed) == FEED_SIZE == 20
    assert [f["amount"] for f in feed] == [f"{n}.00" for n in range(21, 1, -1)]

    made = await client.post(
        "/api/v1/agent-groups", json={"name": "Team B"}, headers=tenant.admin.headers
    )
    group = made.json()["id"]
    other = tenant.other_collector.id
    await floor.run("UPDATE users SET group_id = $1 WHERE id = $2", group, other)
    feed = (await figures(client, tenant, group_id=group))["feed"]
    assert [(f["amount"], f["agent_id"]) for f in feed] == [("99.00", other)]


async def test_queue_age_thresholds_are_the_tenants_and_red_comes_after_amber(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    got = await figures(client, tenant)
    assert got["queue_thresholds"] == {"warn_seconds": 900, "alert_seconds": 3600}

    async def thresholds(warn: int, alert: int) -> httpx.Response:
        return await client.patch(
            "/api/v1/tenant",
            json={"stats": {"queue_age_warn_minutes": warn, "queue_age_alert_minutes": alert}},
            headers=tenant.admin.headers,
        )

    for warn, alert, field in (
        (20, 20, "stats.queue_age_alert_minutes"),
        (20, 19, "stats.queue_age_alert_minutes"),
        (0, 20, "stats.queue_age_warn_minutes"),
        (20, 10_081, "stats.queue_age_alert_minutes"),
    ):
        refused = await thresholds(warn, alert)
        assert refused.status_code == 422, (warn, alert)
        assert field in refused.text, (warn, alert, refused.text)
    assert (await figures(client, tenant))["queue_thresholds"]["warn_seconds"] == 900

    kept = await thresholds(20, 21)
    assert kept.status_code == 200, kept.text
    assert (await figures(client, tenant))["queue_thresholds"] == {
        "warn_seconds": 1200,
        "alert_seconds": 1260,
    }
    assert (await thresholds(1, 10_080)).status_code == 200
