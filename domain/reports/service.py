"""The supervisor's reports, computed from the database.

Periods are the tenant's calendar days, ``from`` and ``to`` both included, in its time
zone; months and weeks too. Money is summed per currency, never across currencies.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput
from domain.money import in_currency
from domain.reports import queries
from domain.reports.schemas import (
    Aging,
    AgingRow,
    BucketCount,
    BucketCounts,
    CollectorMoney,
    CollectorPerformance,
    CollectorRow,
    Liquidation,
    LiquidationRow,
    PromiseKept,
    PromiseRow,
    Step,
)
from domain.service import Service
from domain.stats.queries import RIGHT_PARTY
from domain.stats.service import day_bounds, rate
from domain.tenancy.schemas import Bucket
from domain.tenancy.service import check_buckets

# The longest period a report covers, and the dates a period may name at all.
MAX_DAYS = 731
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


def check_period(start: dt.date, end: dt.date) -> None:
    """``from`` and ``to`` (both included) must be in order, within 2000-2099 and at most
    MAX_DAYS days apart."""
    for name, day in (("from", start), ("to", end)):
        if not EARLIEST <= day <= LATEST:
            raise InvalidInput(f"{name} must be between {EARLIEST} and {LATEST}", field=name)
    if end < start:
        raise InvalidInput("to must not be before from", field="to")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"a period is at most {MAX_DAYS} days", field="to")


def months(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of each month from ``start``'s to ``end``'s."""
    out, day = [], start.replace(day=1)
    while day <= end:
        out.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return out


def weeks(start: dt.date, end: dt.date) -> list[dt.date]:
    """The Monday of each week from ``start``'s to ``end``'s."""
    day = start - dt.timedelta(days=start.weekday())
    out = []
    while day <= end:
        out.append(day)
        day += dt.timedelta(days=7)
    return out


def month_label(day: dt.date) -> str:
    return day.strftime("%Y-%m")


class ReportService(Service):
    async def _bounds(self, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime, str]:
        check_period(start, end)
        zone = (await self.tenant()).time_zone
        return day_bounds(start, ZoneInfo(zone))[0], day_bounds(end, ZoneInfo(zone))[1], zone

    async def default_period(self, *, months_back: int) -> tuple[dt.date, dt.date]:
        """From the first of the month ``months_back`` months ago to today."""
        today = await self.today()
        first = today.replace(day=1)
        for _ in range(months_back):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        return first, today

    async def aging(self) -> Aging:
        tenant = await self.tenant()
        today = await self.today()
        buckets = sorted(tenant.settings.buckets, key=lambda b: b.min_days)
        thresholds = [b.min_days for b in buckets[1:]]
        found: dict[tuple[str, int], tuple[int, Decimal]] = {}
        for r in await queries.aging(self.conn, today, thresholds):
            found[(r["currency"], r["bucket"])] = (r["accounts"], r["balance"])
        rows = []
        for currency in sorted({c for c, _ in found}):
            for index, bucket in enumerate(buckets):
                count, balance = found.get((currency, index), (0, Decimal(0)))
                rows.append(
                    AgingRow(
                        bucket=bucket.name,
                        min_days=bucket.min_days,
                        max_days=bucket.max_days,
                        currency=currency,
                        accounts=count,
                        balance=in_currency(balance, currency),
                    )
                )
        return Aging(as_of=today, time_zone=tenant.time_zone, rows=rows)

    async def bucket_counts(self, buckets: list[Bucket]) -> BucketCounts:
        """How many open accounts each of ``buckets`` (proposed, checked as a save checks
        them) would hold today, before they are saved."""
        ordered = check_buckets(buckets)
        tenant = await self.tenant()
        today = await self.today()
        thresholds = [b.min_days for b in ordered[1:]]
        found = {
            r["bucket"]: r["accounts"]
            for r in await queries.bucket_counts(self.conn, today, thresholds)
        }
        rows = [
            BucketCount(
                name=b.name, min_days=b.min_days, max_days=b.max_days, accounts=found.get(i, 0)
            )
            for i, b in enumerate(ordered)
        ]
        return BucketCounts(
            as_of=today,
            time_zone=tenant.time_zone,
            buckets=rows,
            total=sum(r.accounts for r in rows),
        )

    async def liquidation(self, start: dt.date, end: dt.date) -> Liquidation:
        since, until, zone = await self._bounds(start, end)
        found = {
            (r["month"], r["currency"]): r
            for r in await queries.placed(self.conn, since, until, zone)
        }
        money = {
            (r["month"], r["currency"]): r["collected"]
            for r in await queries.collected_since_placement(self.conn, since, until, zone)
        }
        rows = []
        for currency in sorted({c for _, c in found}):
            for month in months(start, end):
                r = found.get((month, currency))
                placed = in_currency(r["placed"] if r else Decimal(0), currency)
                collected = in_currency(money.get((month, currency), Decimal(0)), currency)
                rows.append(
                    LiquidationRow(
                        month=month_label(month),
                        currency=currency,
                        accounts=r["accounts"] if r else 0,
                        placed=placed,
                        collected=collected,
                        rate=round(float(collected / placed), 4) if placed > 0 else None,
                    )
                )
        return Liquidation(from_=start, to=end, time_zone=zone, rows=rows)

    async def promise_kept(self, start: dt.date, end: dt.date, by: Step) -> PromiseKept:
        since, until, zone = await self._bounds(start, end)
        found = {r["period"]: r for r in await queries.promises(self.conn, since, until, zone, by)}
        periods = months(start, end) if by == "month" else weeks(start, end)
        rows = []
        for period in periods:
            r = found.get(period)
            kept, broken = (r["kept"], r["broken"]) if r else (0, 0)
            rows.append(
                PromiseRow(
                    period=month_label(period) if by == "month" else period.isoformat(),
                    made=r["made"] if r else 0,
                    kept=kept,
                    broken=broken,
                    pending=r["pending"] if r else 0,
                    cancelled=r["cancelled"] if r else 0,
                    kept_rate=rate(kept, kept + broken),
                )
            )
        return PromiseKept(from_=start, to=end, by=by, time_zone=zone, rows=rows)

    async def collectors(self, start: dt.date, end: dt.date) -> CollectorPerformance:
        since, until, zone = await self._bounds(start, end)
        money: dict[int, list[CollectorMoney]] = defaultdict(list)
        for r in await queries.collected(self.conn, since, until):
            money[r["user_id"]].append(
                CollectorMoney(
                    currency=r["currency"],
                    amount=in_currency(r["amount"], r["currency"]),
                    count=r["count"],
                )
            )
        rows = [
            CollectorRow(
                id=r["id"],
                name=r["name"],
                calls=r["calls"],
                right_party=r["right_party"],
                promises=r["promises"],
                collected=money.get(r["id"], []),
                tasks_completed=r["completed"],
                avg_handle_seconds=r["handle"],
            )
            for r in await queries.collectors(self.conn, since, until, list(RIGHT_PARTY))
        ]
        return CollectorPerformance(from_=start, to=end, time_zone=zone, rows=rows)
