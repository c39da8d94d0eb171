"""The supervisor's reports as the API shows them: each a list of rows, money always in one
currency per row (never summed across currencies)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import msgspec

Step = Literal["month", "week"]


class AgingRow(msgspec.Struct, kw_only=True):
    """The open accounts of one currency in one delinquency bucket."""

    bucket: str
    min_days: int
    max_days: int | None
    currency: str
    accounts: int
    balance: Decimal


class Aging(msgspec.Struct, kw_only=True):
    as_of: dt.date
    time_zone: str
    rows: list[AgingRow]


class BucketCount(msgspec.Struct, kw_only=True):
    """How many open accounts fall in one proposed delinquency bucket today."""

    name: str
    min_days: int
    max_days: int | None
    accounts: int


class BucketCounts(msgspec.Struct, kw_only=True):
    """Proposed buckets in order, each with its open accounts (every currency together)."""

    as_of: dt.date
    time_zone: str
    buckets: list[BucketCount]
    total: int


class LiquidationRow(msgspec.Struct, kw_only=True):
    """Accounts placed in one month, in one currency: what they were placed for and what
    they have brought in since (succeeded payments, to date)."""

    month: str  # YYYY-MM, the tenant's calendar
    currency: str
    accounts: int
    placed: Decimal
    collected: Decimal
    # collected / placed, to 4 places; null when nothing was placed.
    rate: float | None


class Liquidation(msgspec.Struct, kw_only=True):
    from_: dt.date = msgspec.field(name="from")
    to: dt.date
    time_zone: str
    rows: list[LiquidationRow]


class PromiseRow(msgspec.Struct, kw_only=True):
    """The promises made in one period (by when they were taken) and what became of them."""

    period: str  # YYYY-MM, or the Monday a week starts on (YYYY-MM-DD)
    made: int
    kept: int
    broken: int
    pending: int
    cancelled: int
    # kept / (kept + broken), to 4 places; null while none is judged.
    kept_rate: float | None


class PromiseKept(msgspec.Struct, kw_only=True):
    from_: dt.date = msgspec.field(name="from")
    to: dt.date
    by: Step
    time_zone: str
    rows: list[PromiseRow]


class CollectorMoney(msgspec.Struct, kw_only=True):
    currency: str
    amount: Decimal
    count: int


class CollectorRow(msgspec.Struct, kw_only=True):
    """One collector's work in the period."""

    id: int
    name: str
    calls: int
    right_party: int
    promises: int
    collected: list[CollectorMoney]
    tasks_completed: int
    # Mean seconds from starting a task to completing it; null without a completed task.
    avg_handle_seconds: int | None


class CollectorPerformance(msgspec.Struct, kw_only=True):
    from_: dt.date = msgspec.field(name="from")
    to: dt.date
    time_zone: str
    rows: list[CollectorRow]
