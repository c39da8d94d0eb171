"""The supervisor's figures of the day, and of a period, computed from the database.

"Today" is the tenant's day, in its time zone; a period is any range of instants within the
30 days of history kept (``domain.stats.period``), its money per hour of that time zone.
For a group, the figures of its agents (the money they took, the calls they made, the
promises they took, the work they hold or finished) and of its queues and work; for a
queue, the work in it (the money, promise and call figures do not belong to a queue and
stay those of the tenant or group).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg

from domain.errors import NotFound
from domain.money import in_currency
from domain.service import Service
from domain.stats import live, period_queries, queries
from domain.stats.period import days_touched, hour_starts, period
from domain.stats.schemas import (
    HIGH_FROM,
    LOW_BELOW,
    AgentFigures,
    Calls,
    Collected,
    Cumulative,
    FeedItem,
    Hour,
    HourlyMoney,
    HourMoney,
    Money,
    PeriodAgent,
    PeriodCalls,
    PeriodPromises,
    PeriodTasks,
    Promises,
    QueueFigures,
    QueueThresholds,
    Realtime,
    Tasks,
)
from domain.users import queries as user_queries
from domain.worklist.queries import queues as queue_queries

STATUSES = ("open", "assigned", "in_progress")
URGENCIES = ("high", "normal", "low")
AGENT_STATUSES = ("available", "away", "offline")


def day_bounds(day: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The tenant's day as an instant range [start, end): 23 or 25 hours long when the
    clocks change."""
    start = dt.datetime.combine(day, dt.time(), zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def hours(rows: list[asyncpg.Record], currencies: set[str]) -> list[Hour]:
    """Every hour of the day for every currency seen today, a week ago or with a target,
    zero where nothing came in."""
    amounts = {(r["today"], r["hour"], r["currency"]): r["amount"] for r in rows}
    currencies = currencies | {r["currency"] for r in rows}
    zero = Decimal(0)
    return [
        Hour(
            hour=hour,
            currency=currency,
            today=in_currency(amounts.get((True, hour, currency), zero), currency),
            last_week=in_currency(amounts.get((False, hour, currency), zero), currency),
        )
        for currency in sorted(currencies)
        for hour in range(24)
    ]


def to_money(row: asyncpg.Record) -> Money:
    return Money(
        currency=row["currency"],
        amount=in_currency(row["amount"], row["currency"]),
        count=row["count"],
    )


def money_by_agent(rows: list[asyncpg.Record]) -> dict[int, list[Money]]:
    """The per-agent rows of ``queries.collected`` (its grouping sets), by agent."""
    by_agent: dict[int, list[Money]] = defaultdict(list)
    for r in rows:
        if not r["total"] and r["agent_id"] is not None:
            by_agent[r["agent_id"]].append(to_money(r))
    return by_agent


def seconds(value: float | None) -> float | None:
    """An average duration, to the tenth of a second."""
    return round(value, 1) if value is not None else None


class StatsService(Service):
    async def _check_scope(self, group_id: int | None, queue_id: int | None) -> None:
        if group_id is not None and not await user_queries.group_exists(self.conn, group_id):
            raise NotFound(f"group {group_id} not found")
        if queue_id is not None and not await queue_queries.queue_exists(self.conn, queue_id):
            raise NotFound(f"queue {queue_id} not found")

    async def realtime(
        self, *, group_id: int | None = None, queue_id: int | None = None
    ) -> Realtime:
        await self._check_scope(group_id, queue_id)
        tenant = await self.tenant()
        now = self.clock()
        today = await self.today()
        zone = ZoneInfo(tenant.time_zone)
        start, end = day_bounds(today, zone)
        week_ago = day_bounds(today - dt.timedelta(days=6), zone)[0]
        conn = self.conn
        # One backend per snapshot: counting the open work in parallel spreads the same CPU
        # time over more processes and, where PostgreSQL has few cores, only adds their
        # start-up and hand-off (bench/README.md, stats.py: 120 ms parallel, 40-65 ms not).
        await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")

        money = await queries.collected(conn, start, end, group_id)
        targets = tenant.settings.stats.daily_targets
        collected = [
            Collected(
                currency=r["currency"],
                amount=in_currency(r["amount"], r["currency"]),
                count=r["count"],
                target=targets.get(r["currency"]),
            )
            for r in money
            if r["total"]
        ]
        seen = {c.currency for c in collected}
        collected += [
            Collected(currency=c, amount=in_currency(Decimal(0), c), count=0, target=amount)
            for c, amount in sorted(targets.items())
            if c not in seen
        ]
        collected.sort(key=lambda c: c.currency)
        by_agent_money = money_by_agent(money)

        p = await queries.promises(conn, start, end, today, week_ago, group_id)
        c = await queries.calls(conn, start, end, group_id)

        by_status = dict.fromkeys(STATUSES, 0)
        by_urgency = dict.fromkeys(URGENCIES, 0)
        for r in await queries.open_tasks(conn, group_id, queue_id, HIGH_FROM, LOW_BELOW):
            by_status[r["status"]] += r["count"]
            by_urgency[r["urgency"]] += r["count"]
        done = await queries.completed(conn, start, end, group_id, queue_id)
        completed_today = next((r["count"] for r in done if r["total"]), 0)
        done_by_agent = {r["agent_id"]: r["count"] for r in done if not r["total"]}

        held = {r["agent_id"]: r for r in await queries.held(conn, group_id)}
        agents = []
        agents_by_status = dict.fromkeys(AGENT_STATUSES, 0)
        for a in await queries.agents(conn, group_id):
            agents_by_status[a["status"]] = agents_by_status.get(a["status"], 0) + 1
            holding = held.get(a["id"])
            agents.append(
                AgentFigures(
                    id=a["id"],
                    name=a["name"],
                    group_id=a["group_id"],
                    status=a["status"],
                    since=a["status_changed_at"],
                    capacity=a["capacity"],
                    open_tasks=holding["open_tasks"] if holding else 0,
                    completed_today=done_by_agent.get(a["id"], 0),
                    collected_today=by_agent_money.get(a["id"], []),
                    current_task_id=holding["current_task_id"] if holding else None,
                )
            )
        stats_rules = tenant.settings.stats
        hourly = await live.by_hour(
            conn,
            group_id,
            (start, end),
            day_bounds(today - dt.timedelta(days=7), zone),
            tenant.time_zone,
        )
        feed = await live.feed(conn, group_id, start, end)
        queue_rows = await queries.queues(conn, group_id, queue_id, now)
        return Realtime(
            # Read after the last figure: a row stamped before this moment was counted if it
            # was committed, and a row stamped after it was not (a screen adds its event).
            as_of=self.clock(),
            today=today,
            time_zone=tenant.time_zone,
            group_id=group_id,
            queue_id=queue_id,
            collected=collected,
            promises=Promises(
                made_today=p["made_today"],
                due_today=p["due_today"],
                broken_today=p["broken_today"],
                kept_rate_7d=rate(p["kept_7d"], p["judged_7d"]),
            ),
            calls=Calls(
                attempted_today=c["attempted"],
                right_party_today=c["right_party"],
                right_party_rate=rate(c["right_party"], c["attempted"]),
            ),
            tasks=Tasks(
                open_by_status=by_status,
                open_by_priority=by_urgency,
                completed_today=completed_today,
            ),
            queues=[
                QueueFigures(
                    id=q["id"],
                    name=q["name"] or "No queue",
                    depth=q["depth"],
                    oldest_seconds=max(q["oldest"], 0) if q["oldest"] is not None else None,
                    oldest_since=q["oldest_since"],
                )
                for q in queue_rows
            ],
            queue_thresholds=QueueThresholds(
                warn_seconds=stats_rules.queue_age_warn_minutes * 60,
                alert_seconds=stats_rules.queue_age_alert_minutes * 60,
            ),
            agents_by_status=agents_by_status,
            agents=agents,
            by_hour=hours(hourly, {c.currency for c in collected}),
            feed=[
                FeedItem(
                    type=r["type"],
                    at=r["at"],
                    account_id=r["account_id"],
                    account_ref=r["account_ref"],
                    agent_id=r["agent_id"],
                    agent_name=r["agent_name"],
                    currency=r["currency"],
                    amount=in_currency(r["amount"], r["currency"]),
                )
                for r in feed
            ],
        )

    async def cumulative(
        self,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        group_id: int | None = None,
        queue_id: int | None = None,
    ) -> Cumulative:
        """The figures of [start, end) (the last 15 minutes by default; within the 30 days
        of history kept), narrowed as ``realtime`` narrows them."""
        start, end = period(start, end, self.clock())
        await self._check_scope(group_id, queue_id)
        tenant = await self.tenant()
        zone = ZoneInfo(tenant.time_zone)
        conn = self.conn

        money = await queries.collected(conn, start, end, group_id)
        collected = [to_money(r) for r in money if r["total"]]
        by_agent_money = money_by_agent(money)
        hours = hour_starts(start, end, zone)
        hourly = {
            (r["currency"], r["hour"]): r
            for r in await period_queries.collected_per_hour(conn, start, end, group_id, hours)
        }
        per_hour = []
        for c in collected:
            got = [hourly.get((c.currency, n)) for n in range(1, len(hours) + 1)]
            per_hour.append(
                HourlyMoney(
                    currency=c.currency,
                    hours=[
                        HourMoney(
                            start=at,
                            amount=in_currency(h["amount"] if h else Decimal(0), c.currency),
                            count=h["count"] if h else 0,
                        )
                        for at, h in zip(hours, got, strict=True)
                    ],
                )
            )

        first_day, last_day = days_touched(start, end, zone)
        made = await period_queries.promises(conn, start, end, first_day, last_day, group_id)
        p = next(r for r in made if r["total"])
        made_by = {r["agent_id"]: r["made"] for r in made if not r["total"]}
        dialled = await period_queries.calls(conn, start, end, group_id)
        c = next(r for r in dialled if r["total"])
        calls_by = {r["agent_id"]: r for r in dialled if not r["total"]}
        done = await period_queries.completed(conn, start, end, group_id, queue_id)
        d = next(r for r in done if r["total"])
        done_by = {r["agent_id"]: r for r in done if not r["total"]}
        picked = await period_queries.picked_up(conn, start, end, group_id, queue_id)
        timed_out = await period_queries.timed_out(conn, start, end, group_id, queue_id)

        agents = []
        for a in await queries.agents(conn, group_id):
            mine, finished = calls_by.get(a["id"]), done_by.get(a["id"])
            agents.append(
                PeriodAgent(
                    id=a["id"],
                    name=a["name"],
                    group_id=a["group_id"],
                    calls_attempted=mine["attempted"] if mine else 0,
                    right_party=mine["right_party"] if mine else 0,
                    promises_made=made_by.get(a["id"], 0),
                    collected=by_agent_money.get(a["id"], []),
                    completed=finished["count"] if finished else 0,
                    average_handle_seconds=seconds(finished["handle"]) if finished else None,
                )
            )
        return Cumulative(
            from_=start,
            to=end,
            time_zone=tenant.time_zone,
            group_id=group_id,
            queue_id=queue_id,
            collected=collected,
            collected_per_hour=per_hour,
            promises=PeriodPromises(
                made=p["made"],
                due=p["due"],
                broken=p["broken"],
                kept=p["kept"],
                kept_rate=rate(p["kept"], p["kept"] + p["broken"]),
            ),
            calls=PeriodCalls(
                attempted=c["attempted"],
                right_party=c["right_party"],
                right_party_rate=rate(c["right_party"], c["attempted"]),
            ),
            tasks=PeriodTasks(
                completed=d["count"],
                timed_out=timed_out,
                picked_up=picked["count"],
                average_pickup_seconds=seconds(picked["pickup"]),
                average_handle_seconds=seconds(d["handle"]),
            ),
            agents=agents,
        )
