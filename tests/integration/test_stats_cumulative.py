"""A period's figures (GET /api/v1/stats/cumulative) against hand-counted rows just inside
and just outside both ends of the period: money and its hours (across both changes of the
clocks), promises, calls, work picked up, handled and timed out, per agent, for a group, a
queue, and never another tenant's; the 30 days of history and bad periods over HTTP (the
period's bounds to the microsecond and its hours are tests/unit/test_stats_period.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from domain.actor import system_actor
from domain.errors import InvalidInput
from domain.stats.schemas import Cumulative
from domain.stats.service import StatsService
from domain.worklist import sweeps
from tests.factories import SeededTenant, TenantFactory
from tests.integration.test_stats import Floor

API = "/api/v1/stats/cumulative"
NEW_YORK = ZoneInfo("America/New_York")
TICK = dt.timedelta(microseconds=1)
SECOND = dt.timedelta(seconds=1)
THIRTY_DAYS = dt.timedelta(days=30)

# The clock of the service tests: noon in New York (EST, -05:00) on 3 November 2026.
NOW = dt.datetime(2026, 11, 3, 17, 0, tzinfo=dt.UTC)
# The period: 23:30 on 2 November to 01:00 on 3 November, New York time.
START = dt.datetime(2026, 11, 3, 4, 30, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 3, 6, 0, tzinfo=dt.UTC)
EST = dt.timezone(dt.timedelta(hours=-5))
EDT = dt.timezone(dt.timedelta(hours=-4))


def local(*args: int, tz: dt.tzinfo = EST) -> str:
    return dt.datetime(*args, tzinfo=tz).isoformat()


def utc(instant: dt.datetime) -> str:
    """An instant as the API writes it."""
    return instant.isoformat().replace("+00:00", "Z")


# The figures, through the service ------------------------------------------------------


@pytest.fixture
async def floor(client: httpx.AsyncClient, tenant: SeededTenant) -> Floor:
    changed = await client.patch(
        "/api/v1/tenant",
        json={"time_zone": "America/New_York", "worklist": {"assignment_timeout_minutes": 5}},
        headers=tenant.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    return Floor(tenant)


async def compute(tenant: SeededTenant, now: dt.datetime = NOW, **params: Any) -> dict:
    """The service's figures at ``now``, as the API writes them."""
    params.setdefault("start", START)
    params.setdefault("end", END)
    async with tenant.db.tenant(tenant.id) as conn:
        figures = await StatsService(conn, tenant.supervisor.actor, lambda: now).cumulative(
            **params
        )
    assert isinstance(figures, Cumulative)
    return msgspec.to_builtins(figures)


class World:
    """The hand-counted rows of the period [START, END), and ids to narrow them by."""

    def __init__(self, floor: Floor, queue: int, group: int) -> None:
        self.floor, self.queue, self.group = floor, queue, group


async def timeout(floor: Floor, agent: int, at: dt.datetime, **values: Any) -> int:
    """A task assigned six minutes before ``at`` and taken back by the sweep at ``at``."""
    task = await floor.task(
        "assigned", 50, assignee_id=agent, assigned_at=at - dt.timedelta(minutes=6), **values
    )
    tenant = floor.tenant
    async with tenant.db.tenant(tenant.id) as conn:
        assert await sweeps.return_timed_out(conn, system_actor(tenant.id), lambda: at) == [task]
    return task


async def seed(client: httpx.AsyncClient, floor: Floor) -> World:
    tenant = floor.tenant
    me, other = tenant.collector.id, tenant.other_collector.id
    made = await client.post(
        "/api/v1/queues", json={"name": "Early stage"}, headers=tenant.supervisor.headers
    )
    queue = made.json()["id"]
    made = await client.post(
        "/api/v1/agent-groups", json={"name": "Team A"}, headers=tenant.admin.headers
    )
    group = made.json()["id"]
    await floor.run("UPDATE users SET group_id = $1 WHERE id = $2", group, me)

    hour = dt.timedelta(hours=1)
    await floor.payment("10.00", START, by=me)
    await floor.payment("5.00", START - TICK, by=me)
    await floor.payment("7.50", END - TICK, by=me, currency="EUR")
    await floor.payment("9.00", END, by=me)
    await floor.payment("3.00", START + TICK, by=me, status="failed")
    await floor.payment("2.00", START + hour, by=other)
    await floor.payment("1.00", START + hour / 4, by=None)  # the debtor's own page

    nov = {d: dt.date(2026, 11, d) for d in range(1, 21)}
    day_before = START - dt.timedelta(days=1)
    await floor.promise(made=START, due=nov[20], by=me)
    await floor.promise(made=END - TICK, due=nov[20], by=other)
    await floor.promise(made=START - TICK, due=nov[2], by=me)  # due on the first day
    await floor.promise(made=START - TICK, due=nov[1], by=me)
    await floor.promise(made=day_before, due=nov[3], status="broken", resolved=START, by=me)
    await floor.promise(made=day_before, due=nov[4], status="broken", resolved=END, by=me)
    await floor.promise(made=day_before, due=nov[20], status="kept", resolved=END - TICK)
    await floor.promise(made=day_before, due=nov[20], status="kept", resolved=START - TICK)
    await floor.promise(made=day_before, due=nov[3])  # due on the last day

    await floor.call(START, "right_party_contact", by=me)
    await floor.call(START + TICK, "no_answer", by=me)
    await floor.call(END - TICK, "promise", by=other)
    await floor.call(START - TICK, "right_party_contact", by=me)
    await floor.call(END, "right_party_contact", by=me)
    await floor.call(START + TICK, "right_party_contact", by=me, direction="inbound")
    await floor.call(START + TICK, "right_party_contact", by=me, channel="sms")

    minute = dt.timedelta(minutes=1)
    # Picked up after 600 s, handled in 100 s, in the queue.
    await floor.task(
        "completed", 50, assignee_id=me, queue_id=queue, assigned_by="round_robin",
        assigned_at=START - 10 * minute, started_at=START,
        completed_at=START + 100 * SECOND,
    )  # fmt: skip
    # Picked up after 30 s, handled in 50 s.
    await floor.task(
        "completed", 50, assignee_id=other, assigned_by="supervisor",
        assigned_at=END - TICK - 80 * SECOND, started_at=END - TICK - 50 * SECOND,
        completed_at=END - TICK,
    )  # fmt: skip
    # Picked up in the period (after 90 s), completed after it.
    await floor.task(
        "completed", 50, assignee_id=me, assigned_by="fewest_open",
        assigned_at=END - 190 * SECOND, started_at=END - 100 * SECOND, completed_at=END,
    )  # fmt: skip
    # Started and completed before the period.
    await floor.task(
        "completed", 50, assignee_id=me, queue_id=queue, assigned_by="round_robin",
        assigned_at=START - hour, started_at=START - 200 * SECOND, completed_at=START - TICK,
    )  # fmt: skip
    # Pulled by the agent: not waiting for anyone.
    await floor.task(
        "in_progress", 50, assignee_id=me, assigned_by="pull",
        assigned_at=START + minute, started_at=START + minute,
    )  # fmt: skip
    # Completed as the period starts (started before it): handled in 30 s.
    await floor.task(
        "completed", 50, assignee_id=other, assigned_by="round_robin",
        assigned_at=START - hour, started_at=START - 30 * SECOND, completed_at=START,
    )  # fmt: skip
    # Open work a supervisor completed: never assigned, started as it was completed.
    await floor.task(
        "completed", 50, assignee_id=other,
        started_at=START + 20 * minute, completed_at=START + 20 * minute,
    )  # fmt: skip
    # Started as the period ends.
    await floor.task(
        "in_progress", 50, assignee_id=me, assigned_by="round_robin",
        assigned_at=END - 10 * SECOND, started_at=END,
    )  # fmt: skip
    # Started just before the period.
    await floor.task(
        "in_progress", 50, assignee_id=other, assigned_by="round_robin",
        assigned_at=START - hour, started_at=START - TICK,
    )  # fmt: skip

    await timeout(floor, me, START - TICK)
    await timeout(floor, me, START, queue_id=queue)
    await timeout(floor, other, END - TICK)
    await timeout(floor, other, END, queue_id=queue)
    return World(floor, queue, group)


def hours(*figures: tuple[str, int]) -> list[dict]:
    starts = [local(2026, 11, 2, 23), local(2026, 11, 3, 0)]
    return [
        {"start": at, "amount": amount, "count": count}
        for at, (amount, count) in zip(starts, figures, strict=True)
    ]


async def test_each_figure_counts_the_rows_of_the_period_and_not_a_tick_beyond(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    world = await seed(client, floor)
    got = await compute(tenant)
    assert (got["from"], got["to"]) == (utc(START), utc(END))
    assert (got["time_zone"], got["group_id"], got["queue_id"]) == ("America/New_York", None, None)
    assert got["collected"] == [
        {"currency": "EUR", "amount": "7.50", "count": 1},
        {"currency": "USD", "amount": "13.00", "count": 3},
    ]
    assert got["collected_per_hour"] == [
        {"currency": "EUR", "hours": hours(("0.00", 0), ("7.50", 1))},
        {"currency": "USD", "hours": hours(("11.00", 2), ("2.00", 1))},
    ]
    # Due on 2 or 3 November (the days the period touches): three.
    assert got["promises"] == {"made": 2, "due": 3, "broken": 1, "kept": 1, "kept_rate": 0.5}
    assert got["calls"] == {"attempted": 3, "right_party": 2, "right_party_rate": 0.6667}
    assert got["tasks"] == {
        "completed": 4,
        "timed_out": 2,
        "picked_up": 3,
        "average_pickup_seconds": 240.0,  # (600 + 30 + 90) / 3
        "average_handle_seconds": 45.0,  # (100 + 50 + 30 + 0) / 4
    }
    agents = {a["id"]: a for a in got["agents"]}
    assert agents[tenant.collector.id] == {
        "id": tenant.collector.id,
        "name": f"Collector of {tenant.slug}",
        "group_id": world.group,
        "calls_attempted": 2,
        "right_party": 1,
        "promises_made": 1,
        "collected": [
            {"currency": "EUR", "amount": "7.50", "count": 1},
            {"currency": "USD", "amount": "10.00", "count": 1},
        ],
        "completed": 1,
        "average_handle_seconds": 100.0,
    }
    assert agents[tenant.other_collector.id] == {
        "id": tenant.other_collector.id,
        "name": f"Collector2 of {tenant.slug}",
        "group_id": None,
        "calls_attempted": 1,
        "right_party": 1,
        "promises_made": 1,
        "collected": [{"currency": "USD", "amount": "2.00", "count": 1}],
        "completed": 3,
        "average_handle_seconds": 26.7,  # (50 + 30 + 0) / 3, to the tenth
    }
    assert len(agents) == 2  # collectors only

    # Due on a day the period touches: one ending at midnight does not touch the next.
    midnight = dt.datetime(2026, 11, 3, 5, 0, tzinfo=dt.UTC)
    assert (await compute(tenant, end=midnight))["promises"]["due"] == 1
    assert (await compute(tenant, start=midnight))["promises"]["due"] == 2


async def test_an_empty_period_has_zeros_and_no_averages(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    await seed(client, floor)
    quiet = START + dt.timedelta(minutes=10)
    got = await compute(tenant, start=quiet, end=quiet + dt.timedelta(minutes=5))
    assert (got["collected"], got["collected_per_hour"]) == ([], [])
    assert got["promises"] == {"made": 0, "due": 1, "broken": 0, "kept": 0, "kept_rate": None}
    assert got["calls"] == {"attempted": 0, "right_party": 0, "right_party_rate": None}
    assert got["tasks"] == {
        "completed": 0,
        "timed_out": 0,
        "picked_up": 0,
        "average_pickup_seconds": None,
        "average_handle_seconds": None,
    }
    assert {a["completed"] for a in got["agents"]} == {0}
    assert {a["average_handle_seconds"] for a in got["agents"]} == {None}


async def test_a_group_counts_its_agents_and_a_queue_its_work(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    world = await seed(client, floor)
    team = await compute(tenant, group_id=world.group)
    assert [a["id"] for a in team["agents"]] == [tenant.collector.id]
    assert team["collected"] == [
        {"currency": "EUR", "amount": "7.50", "count": 1},
        {"currency": "USD", "amount": "10.00", "count": 1},
    ]
    assert team["collected_per_hour"][1] == {
        "currency": "USD",
        "hours": hours(("10.00", 1), ("0.00", 0)),
    }
    assert team["promises"] == {"made": 1, "due": 2, "broken": 1, "kept": 0, "kept_rate": 0.0}
    assert team["calls"] == {"attempted": 2, "right_party": 1, "right_party_rate": 0.5}
    # The group's agent let one task time out in the period (the audit row keeps who).
    assert team["tasks"] == {
        "completed": 1,
        "timed_out": 1,
        "picked_up": 2,
        "average_pickup_seconds": 345.0,  # (600 + 90) / 2
        "average_handle_seconds": 100.0,
    }

    queue = await compute(tenant, queue_id=world.queue)
    assert queue["tasks"] == {
        "completed": 1,
        "timed_out": 1,
        "picked_up": 1,
        "average_pickup_seconds": 600.0,
        "average_handle_seconds": 100.0,
    }
    # Money, promises and calls belong to no queue: the tenant's.
    assert queue["calls"]["attempted"] == 3
    agents = {a["id"]: a for a in queue["agents"]}
    assert agents[tenant.collector.id]["completed"] == 1
    assert agents[tenant.other_collector.id]["completed"] == 0


async def test_the_sweep_keeps_who_held_the_task_it_took_back(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    task = await timeout(floor, tenant.collector.id, START)
    before = await floor.run(
        "SELECT before FROM audit_log WHERE action = 'task.timeout' AND entity_id = $1", task
    )
    assert (before["status"], before["assignee_id"]) == ("assigned", tenant.collector.id)
    made = await client.post(
        "/api/v1/agent-groups", json={"name": "Team B"}, headers=tenant.admin.headers
    )
    group = made.json()["id"]
    await floor.run("UPDATE users SET group_id = $1 WHERE id = $2", group, tenant.collector.id)
    assert (await compute(tenant, group_id=group))["tasks"]["timed_out"] == 1
    # A task of the group's timed out in another agent's hands counts for the group too.
    await timeout(floor, tenant.other_collector.id, START + SECOND, group_id=group)
    assert (await compute(tenant, group_id=group))["tasks"]["timed_out"] == 2
    await floor.run("UPDATE users SET group_id = NULL WHERE id = $1", tenant.collector.id)
    assert (await compute(tenant, group_id=group))["tasks"]["timed_out"] == 1


async def test_money_per_local_hour_across_the_changes_of_the_clocks(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    me = tenant.collector.id
    back = dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC)  # midnight EDT
    await floor.payment("1.00", back + dt.timedelta(minutes=90), by=me)  # 01:30 EDT
    await floor.payment("2.00", back + dt.timedelta(minutes=150), by=me)  # 01:30 EST
    await floor.payment("4.00", back + dt.timedelta(minutes=179), by=me)  # 01:59 EST
    await floor.payment("8.00", back + dt.timedelta(minutes=180), by=me)  # 02:00 EST
    got = await compute(tenant, start=back, end=back + dt.timedelta(hours=4))
    assert got["collected_per_hour"] == [
        {
            "currency": "USD",
            "hours": [
                {"start": local(2026, 11, 1, 0, tz=EDT), "amount": "0.00", "count": 0},
                {"start": local(2026, 11, 1, 1, tz=EDT), "amount": "1.00", "count": 1},
                {"start": local(2026, 11, 1, 1), "amount": "6.00", "count": 2},
                {"start": local(2026, 11, 1, 2), "amount": "8.00", "count": 1},
            ],
        }
    ]

    forward = dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC)  # midnight EST
    await floor.payment("16.00", forward + dt.timedelta(minutes=119), by=me)  # 01:59 EST
    await floor.payment("32.00", forward + dt.timedelta(minutes=120), by=me)  # 03:00 EDT
    march = forward + dt.timedelta(days=1)
    got = await compute(tenant, march, start=forward, end=forward + dt.timedelta(hours=3))
    assert got["collected_per_hour"][0]["hours"] == [
        {"start": local(2026, 3, 8, 0), "amount": "0.00", "count": 0},
        {"start": local(2026, 3, 8, 1), "amount": "16.00", "count": 1},
        {"start": local(2026, 3, 8, 3, tz=EDT), "amount": "32.00", "count": 1},
    ]


async def test_another_tenants_rows_are_never_counted(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor, tenants: TenantFactory
) -> None:
    theirs = await tenants.new()
    changed = await client.patch(
        "/api/v1/tenant",
        json={"time_zone": "America/New_York", "worklist": {"assignment_timeout_minutes": 5}},
        headers=theirs.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    await seed(client, Floor(theirs))
    got = await compute(tenant)
    assert (got["collected"], got["collected_per_hour"]) == ([], [])
    assert got["promises"] == {"made": 0, "due": 0, "broken": 0, "kept": 0, "kept_rate": None}
    assert got["calls"]["attempted"] == 0
    assert got["tasks"]["completed"] == got["tasks"]["timed_out"] == 0
    assert got["tasks"]["picked_up"] == 0
    assert {a["id"] for a in got["agents"]} == {tenant.collector.id, tenant.other_collector.id}
    # Theirs are theirs.
    assert (await compute(theirs))["tasks"]["timed_out"] == 2


async def test_the_30_days_of_history_are_pinned_in_the_service(tenant: SeededTenant) -> None:
    oldest = NOW - THIRTY_DAYS
    got = await compute(tenant, start=oldest, end=NOW)
    assert (got["from"], got["to"]) == (utc(oldest), utc(NOW))
    assert len(got["agents"]) == 2
    with pytest.raises(InvalidInput, match="history is kept 30 days"):
        await compute(tenant, start=oldest - SECOND, end=NOW)


# Through HTTP --------------------------------------------------------------------------


async def test_the_figures_over_http(
    client: httpx.AsyncClient, tenant: SeededTenant, floor: Floor
) -> None:
    now = dt.datetime.now(dt.UTC)
    end = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    start = end - dt.timedelta(hours=2)
    me = tenant.collector.id
    await floor.payment("12.34", start, by=me)
    await floor.payment("1.00", start - TICK, by=me)
    await floor.payment("2.00", end - TICK, by=me)
    await floor.payment("4.00", end, by=me)
    await floor.task(
        "completed", 50, assignee_id=me, assigned_by="supervisor",
        assigned_at=start, started_at=start + 2 * SECOND, completed_at=start + 12 * SECOND,
    )  # fmt: skip
    await floor.call(start, "no_answer", by=me)
    params = {"from": start.astimezone(NEW_YORK).isoformat(), "to": end.isoformat()}
    response = await client.get(API, params=params, headers=tenant.supervisor.headers)
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["from"], got["to"]) == (utc(start), utc(end))
    assert got["collected"] == [{"currency": "USD", "amount": "14.34", "count": 2}]
    first, second = (start + dt.timedelta(hours=n) for n in range(2))
    assert got["collected_per_hour"] == [
        {
            "currency": "USD",
            "hours": [
                {"start": first.astimezone(NEW_YORK).isoformat(), "amount": "12.34", "count": 1},
                {"start": second.astimezone(NEW_YORK).isoformat(), "amount": "2.00", "count": 1},
            ],
        }
    ]
    assert got["tasks"] == {
        "completed": 1,
        "timed_out": 0,
        "picked_up": 1,
        "average_pickup_seconds": 2.0,
        "average_handle_seconds": 10.0,
    }
    assert got["calls"] == {"attempted": 1, "right_party": 0, "right_party_rate": 0.0}
    agent = next(a for a in got["agents"] if a["id"] == me)
    assert (agent["completed"], agent["average_handle_seconds"]) == (1, 10.0)

    # By default the last 15 minutes: a payment 5 minutes ago, not one 20 minutes ago.
    await floor.payment("3.00", now - dt.timedelta(minutes=5), by=me)
    await floor.payment("5.00", now - dt.timedelta(minutes=20), by=me)
    response = await client.get(API, headers=tenant.supervisor.headers)
    got = response.json()
    window = dt.datetime.fromisoformat(got["to"]) - dt.datetime.fromisoformat(got["from"])
    assert window == dt.timedelta(minutes=15)
    assert now <= dt.datetime.fromisoformat(got["to"]) < now + dt.timedelta(minutes=1)
    assert got["collected"] == [{"currency": "USD", "amount": "3.00", "count": 1}]


async def test_bad_periods_are_refused_over_http(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    now = dt.datetime.now(dt.UTC)
    headers = tenant.supervisor.headers

    async def field_of(**params: str) -> str:
        response = await client.get(API, params=params, headers=headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        return response.json()["field"]

    assert await field_of(**{"from": "2026-11-30T09:00:00"}) == "from"
    assert await field_of(to="2026-11-30T09:00:00") == "to"
    assert await field_of(**{"from": "yesterday"}) == "from"
    assert await field_of(to="2026-13-01T00:00:00Z") == "to"
    hour_ago = (now - dt.timedelta(hours=1)).isoformat()
    assert await field_of(**{"from": hour_ago, "to": hour_ago}) == "from"
    assert await field_of(**{"from": (now + dt.timedelta(hours=1)).isoformat()}) == "from"
    too_old = (now - THIRTY_DAYS - dt.timedelta(minutes=1)).isoformat()
    assert await field_of(**{"from": too_old}) == "from"
    assert await field_of(**{"from": "0001-01-01T00:00:00+05:00"}) == "from"
    long_from = now - dt.timedelta(days=1)
    too_long = (long_from + THIRTY_DAYS + dt.timedelta(minutes=1)).isoformat()
    assert await field_of(**{"from": long_from.isoformat(), "to": too_long}) == "to"
    assert await field_of(**{"from": hour_ago, "to": "9999-12-31T23:59:59-05:00"}) == "to"

    just_in = (now - THIRTY_DAYS + dt.timedelta(minutes=1)).isoformat()
    kept = await client.get(API, params={"from": just_in}, headers=headers)
    assert kept.status_code == 200, kept.text


async def test_only_managers_and_only_their_groups_and_queues(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    for user in (tenant.collector, tenant.readonly):
        response = await client.get(API, headers=user.headers)
        assert response.status_code == 403, user
    assert (await client.get(API, headers=tenant.admin.headers)).status_code == 200
    other = await tenants.new(with_accounts=False)
    async with other.db.tenant(other.id) as conn:
        group = await conn.fetchval(
            "INSERT INTO agent_groups (tenant_id, name) VALUES ($1, 'Theirs') RETURNING id",
            other.id,
        )
        queue = await conn.fetchval(
            "INSERT INTO task_queues (tenant_id, name) VALUES ($1, 'Theirs') RETURNING id",
            other.id,
        )
    headers = tenant.supervisor.headers
    theirs = await client.get(API, params={"group_id": group}, headers=headers)
    assert (theirs.status_code, theirs.json()["detail"]) == (404, f"group {group} not found")
    theirs = await client.get(API, params={"queue_id": queue}, headers=headers)
    assert (theirs.status_code, theirs.json()["detail"]) == (404, f"queue {queue} not found")
    # Their own do: the same ids answer them.
    mine = await client.get(API, params={"group_id": group}, headers=other.supervisor.headers)
    assert mine.status_code == 200, mine.text
