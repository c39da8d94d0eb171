"""Today's figures (GET /api/v1/stats/realtime) against hand-counted rows on both sides of
every edge: the tenant's midnight, the 7-day window, the urgency bands, a group, a queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.stats.service import day_bounds
from domain.validation import INT64_MAX
from tests.factories import SeededTenant

API = "/api/v1/stats/realtime"
NEW_YORK = ZoneInfo("America/New_York")
TICK = dt.timedelta(microseconds=1)


def test_the_tenants_day_is_23_or_25_hours_when_the_clocks_change() -> None:
    start, end = day_bounds(dt.date(2026, 3, 8), NEW_YORK)
    assert (start, end - start) == (
        dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC),
        dt.timedelta(hours=23),
    )
    start, end = day_bounds(dt.date(2026, 11, 1), NEW_YORK)
    assert (start, end - start) == (
        dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC),
        dt.timedelta(hours=25),
    )


class Floor:
    """Rows of one tenant, written straight into its tables."""

    def __init__(self, tenant: SeededTenant) -> None:
        self.tenant = tenant
        self.account = tenant.accounts[0]

    async def run(self, sql: str, *args: Any) -> Any:
        async with self.tenant.db.tenant(self.tenant.id) as conn:
            return await conn.fetchval(sql, *args)

    async def payment(
        self,
        amount: str,
        at: dt.datetime,
        *,
        by: int | None,
        currency: str = "USD",
        status: str = "succeeded",
    ) -> None:
        await self.run(
            """INSERT INTO payments (tenant_id, account_id, amount, currency, status, method,
              source, created_by, received_at)
            VALUES ($1, $2, $3, $4, $5, 'cash', 'staff', $6, $7)""",
            self.tenant.id,
            self.account.id,
            Decimal(amount),
            currency,
            status,
            by,
            at,
        )

    async def promise(
        self,
        *,
        made: dt.datetime,
        due: dt.date,
        status: str = "pending",
        resolved: dt.datetime | None = None,
        by: int | None = None,
    ) -> None:
        await self.run(
            """INSERT INTO promises (tenant_id, account_id, amount, currency, due_date, status,
              created_by, resolved_at, created_at)
            VALUES ($1, $2, 10, 'USD', $3, $4, $5, $6, $7)""",
            self.tenant.id,
            self.account.id,
            due,
            status,
            by,
            resolved,
            made,
        )

    async def call(
        self,
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
            self.account.id,
            self.account.debtor_id,
            by,
            channel,
            direction,
            disposition,
            at,
        )

    async def task(self, status: str, priority: int, **values: Any) -> int:
        columns = {"status": status, "priority": priority, **values}
        names = ", ".join(columns)
        marks = ", ".join(f"${n}" for n in range(3, len(columns) + 3))
        return await self.run(
            f"INSERT INTO tasks (tenant_id, account_id, {names}) VALUES ($1, $2, {marks}) "
            "RETURNING id",
            self.tenant.id,
            self.account.id,
            *columns.values(),
        )


@pytest.fixture
async def floor(client: httpx.AsyncClient, tenant: SeededTenant) -> Floor:
    changed = await client.patch(
        "/api/v1/tenant",
        json={
            "time_zone": "America/New_York",
            "stats": {"daily_targets": {"USD": "100.00", "GBP": "50"}},
        },
        headers=tenant.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    return Floor(tenant)


def today_bounds() -> tuple[dt.date, dt.datetime, dt.datetime]:
    today = dt.datetime.now(NEW_YORK).date()
    start, end = day_bounds(today, NEW_YORK)
    return today, start, end


async def figures(client: httpx.AsyncClient, tenant: SeededTenant, **params: Any) -> dict:
    response = await client.get(API, params=params, headers=tenant.supervisor.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_money_counts_what_succeeded_within_the_tenants_day(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    today, start, end = today_bounds()
    collector, other = tenant.collector.id, tenant.other_collector.id
    await floor.payment("10.00", start, by=collector)
    await floor.payment("5.00", start - TICK, by=collector)  # yesterday
    await floor.payment("7.50", end - TICK, by=collector, currency="EUR")
    await floor.payment("3.00", start + dt.timedelta(hours=1), by=collector, status="failed")
    await floor.payment("4.00", start + dt.timedelta(hours=1), by=collector, status="refunded")
    await floor.payment("2.00", start + dt.timedelta(hours=2), by=other)
    await floor.payment("1.00", start + dt.timedelta(hours=3), by=None)  # the debtor's page
    await floor.payment("9.00", end, by=collector)  # tomorrow

    got = await figures(client, tenant)
    assert (got["today"], got["time_zone"]) == (today.isoformat(), "America/New_York")
    assert got["collected"] == [
        {"currency": "EUR", "amount": "7.50", "count": 1, "target": None},
        {"currency": "GBP", "amount": "0.00", "count": 0, "target": "50.00"},
        {"currency": "USD", "amount": "13.00", "count": 3, "target": "100.00"},
    ]
    agents = {a["id"]: a for a in got["agents"]}
    assert agents[collector]["collected_today"] == [
        {"currency": "EUR", "amount": "7.50", "count": 1},
        {"currency": "USD", "amount": "10.00", "count": 1},
    ]
    assert agents[other]["collected_today"] == [{"currency": "USD", "amount": "2.00", "count": 1}]


async def test_promises_made_due_broken_today_and_kept_over_seven_days(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    today, start, end = today_bounds()
    week_ago = day_bounds(today - dt.timedelta(days=6), NEW_YORK)[0]
    later = today + dt.timedelta(days=10)
    await floor.promise(made=start, due=later)
    await floor.promise(made=end - TICK, due=later)
    await floor.promise(made=start - TICK, due=today)  # made yesterday, due today
    await floor.promise(made=start - TICK, due=today - dt.timedelta(days=1))
    await floor.promise(made=week_ago, due=today, status="broken", resolved=start)
    await floor.promise(made=week_ago, due=today, status="broken", resolved=start - TICK)
    await floor.promise(made=week_ago, due=today, status="kept", resolved=week_ago)
    await floor.promise(made=week_ago, due=today, status="kept", resolved=week_ago - TICK)

    got = (await figures(client, tenant))["promises"]
    # Due today: the one made yesterday and the four judged ones.
    assert got == {"made_today": 2, "due_today": 5, "broken_today": 1, "kept_rate_7d": 0.3333}


async def test_calls_attempted_and_right_party_contacts_today(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    _, start, end = today_bounds()
    agent = tenant.collector.id
    await floor.call(start, "right_party_contact", by=agent)
    await floor.call(start + TICK, "no_answer", by=agent)
    await floor.call(end - TICK, "promise", by=agent)
    await floor.call(start + TICK, None, by=agent)
    await floor.call(start + TICK, "right_party_contact", by=agent, direction="inbound")
    await floor.call(start - TICK, "right_party_contact", by=agent)
    await floor.call(start + TICK, "right_party_contact", by=agent, channel="sms")
    assert (await figures(client, tenant))["calls"] == {
        "attempted_today": 4,
        "right_party_today": 2,
        "right_party_rate": 0.5,
    }


async def test_work_by_status_and_urgency_queues_and_agents(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    _, start, _ = today_bounds()
    now = dt.datetime.now(dt.UTC)
    agent, other = tenant.collector.id, tenant.other_collector.id
    made = await client.post(
        "/api/v1/queues", json={"name": "Early stage"}, headers=tenant.supervisor.headers
    )
    queue = made.json()["id"]
    hour_ago, ten_minutes_ago = now - dt.timedelta(hours=1), now - dt.timedelta(minutes=10)
    await floor.task("open", 70, queue_id=queue, created_at=hour_ago)
    await floor.task("open", 29, queue_id=queue, created_at=ten_minutes_ago)
    await floor.task("open", 30, created_at=ten_minutes_ago)
    await floor.task("assigned", 69, assignee_id=agent)
    under_way = await floor.task("in_progress", 50, assignee_id=agent, started_at=now)
    await floor.task("completed", 50, assignee_id=agent, completed_at=start)
    await floor.task("completed", 50, assignee_id=other, completed_at=start - TICK)
    await floor.task("cancelled", 90, queue_id=queue)

    got = await figures(client, tenant)
    assert got["tasks"] == {
        "open_by_status": {"open": 3, "assigned": 1, "in_progress": 1},
        "open_by_priority": {"high": 1, "normal": 3, "low": 1},
        "completed_today": 1,
    }
    waiting = {q["name"]: q for q in got["queues"]}
    assert (waiting["Early stage"]["id"], waiting["Early stage"]["depth"]) == (queue, 2)
    assert 3600 <= waiting["Early stage"]["oldest_seconds"] < 3600 + 60
    assert dt.datetime.fromisoformat(waiting["Early stage"]["oldest_since"]) == hour_ago
    assert (waiting["No queue"]["id"], waiting["No queue"]["depth"]) == (None, 1)
    assert 600 <= waiting["No queue"]["oldest_seconds"] < 600 + 60
    agents = {a["id"]: a for a in got["agents"]}
    assert (agents[agent]["open_tasks"], agents[agent]["current_task_id"]) == (2, under_way)
    await floor.run("UPDATE users SET capacity = 7 WHERE id = $1", other)
    assert (
        next(a for a in (await figures(client, tenant))["agents"] if a["id"] == other)["capacity"]
        == 7
    )
    assert agents[agent]["completed_today"] == 1
    assert (agents[other]["open_tasks"], agents[other]["completed_today"]) == (0, 0)
    assert sum(got["agents_by_status"].values()) == len(got["agents"]) == 2

    only = await figures(client, tenant, queue_id=queue)
    assert only["tasks"]["open_by_status"] == {"open": 2, "assigned": 0, "in_progress": 0}
    assert [q["name"] for q in only["queues"]] == ["Early stage"]


async def test_a_group_sees_its_agents_figures_only(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    _, start, _ = today_bounds()
    made = await client.post(
        "/api/v1/agent-groups", json={"name": "Team A"}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    group = made.json()["id"]
    await floor.run("UPDATE users SET group_id = $1 WHERE id = $2", group, tenant.collector.id)
    await floor.payment("10.00", start, by=tenant.collector.id)
    await floor.payment("2.00", start, by=tenant.other_collector.id)
    await floor.call(start, "right_party_contact", by=tenant.other_collector.id)
    await floor.promise(made=start, due=dt.date.today(), by=tenant.collector.id)
    await floor.promise(made=start, due=dt.date.today(), by=tenant.other_collector.id)

    got = await figures(client, tenant, group_id=group)
    assert [a["id"] for a in got["agents"]] == [tenant.collector.id]
    assert [(c["currency"], c["amount"]) for c in got["collected"]] == [
        ("GBP", "0.00"),
        ("USD", "10.00"),
    ]
    assert got["calls"]["attempted_today"] == 0
    assert got["promises"]["made_today"] == 1


async def test_only_managers_see_the_figures_and_bad_ids_are_refused(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants
) -> None:  # type: ignore[no-untyped-def]
    for user in (tenant.collector, tenant.readonly):
        response = await client.get(API, headers=user.headers)
        assert response.status_code == 403, user
    assert (await client.get(API, headers=tenant.admin.headers)).status_code == 200
    headers = tenant.supervisor.headers
    past = await client.get(API, params={"group_id": INT64_MAX + 1}, headers=headers)
    assert past.status_code == 422
    assert past.headers["content-type"].startswith("application/problem+json")
    missing = await client.get(API, params={"queue_id": INT64_MAX}, headers=headers)
    assert (missing.status_code, missing.json()["detail"]) == (404, f"queue {INT64_MAX} not found")
    other = await tenants.new(with_accounts=False)
    async with other.db.tenant(other.id) as conn:
        group = await conn.fetchval(
            "INSERT INTO agent_groups (tenant_id, name) VALUES ($1, 'Theirs') RETURNING id",
            other.id,
        )
    theirs = await client.get(API, params={"group_id": group}, headers=headers)
    assert (theirs.status_code, theirs.json()["detail"]) == (404, f"group {group} not found")


async def test_daily_targets_are_amounts_of_currencies_in_use(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    def targets(value: Any) -> dict:
        return {"stats": {"daily_targets": value}}

    headers = tenant.admin.headers
    for value, field in (
        ({"XXX": "1"}, "stats.daily_targets.XXX"),
        ({"USD": "0"}, "stats.daily_targets.USD"),
        ({"USD": "1.001"}, "stats.daily_targets.USD"),
        ({"JPY": "1.5"}, "stats.daily_targets.JPY"),
        ({"USD": "1e20"}, "stats.daily_targets.USD"),
    ):
        refused = await client.patch("/api/v1/tenant", json=targets(value), headers=headers)
        assert refused.status_code == 422, value
        assert refused.json()["field"] == field
    kept = await client.patch(
        "/api/v1/tenant", json=targets({"USD": "0.01", "JPY": "1"}), headers=headers
    )
    assert kept.status_code == 200, kept.text
    # Kept with each currency's decimals.
    assert kept.json()["settings"]["stats"]["daily_targets"] == {"JPY": "1", "USD": "0.01"}
    again = await client.patch("/api/v1/tenant", json=targets({"GBP": "50"}), headers=headers)
    assert again.json()["settings"]["stats"]["daily_targets"] == {"GBP": "50.00"}
