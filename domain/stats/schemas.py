"""What the floor looks like now: the figures of the supervisor's wallboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

# Open work by urgency: "high" from this priority up, "low" below LOW_BELOW.
HIGH_FROM = 70
LOW_BELOW = 30


class Money(msgspec.Struct, kw_only=True):
    currency: str
    amount: Decimal
    count: int


class Collected(Money, kw_only=True):
    """Received today in one currency, and the tenant's daily target for it (if set)."""

    target: Decimal | None = None


class Promises(msgspec.Struct, kw_only=True):
    made_today: int
    due_today: int
    broken_today: int
    # Of the promises judged in the last 7 days, the share kept (null when none was).
    kept_rate_7d: float | None


class Calls(msgspec.Struct, kw_only=True):
    attempted_today: int
    right_party_today: int
    right_party_rate: float | None


class Tasks(msgspec.Struct, kw_only=True):
    open_by_status: dict[str, int]
    open_by_priority: dict[str, int]
    completed_today: int


class QueueFigures(msgspec.Struct, kw_only=True):
    id: int | None  # None: open work in no queue
    name: str
    depth: int
    oldest_seconds: int | None
    # When the oldest waiting task was created: a screen ages it by itself between updates.
    oldest_since: dt.datetime | None


class QueueThresholds(msgspec.Struct, kw_only=True):
    """How long the oldest waiting task may wait before its queue shows amber, then red."""

    warn_seconds: int
    alert_seconds: int


class Hour(msgspec.Struct, kw_only=True):
    """Money received in one hour of the tenant's day (0 to 23, local), today and on the
    same weekday last week."""

    hour: int
    currency: str
    today: Decimal
    last_week: Decimal


class FeedItem(msgspec.Struct, kw_only=True):
    """One of today's latest payments, promises and broken promises."""

    type: str  # payment.received, promise.made or promise.broken
    at: dt.datetime
    account_id: int
    account_ref: str
    agent_id: int | None
    agent_name: str | None
    currency: str
    amount: Decimal


class AgentFigures(msgspec.Struct, kw_only=True):
    id: int
    name: str
    group_id: int | None
    status: str
    since: dt.datetime
    # How much work the agent may hold at once, and holds now.
    capacity: int
    open_tasks: int
    completed_today: int
    collected_today: list[Money]
    current_task_id: int | None


class Realtime(msgspec.Struct, kw_only=True):
    # When the figures were read: every row stamped earlier and committed by then is in
    # them, and none stamped later (a screen applies the events of later rows on top).
    as_of: dt.datetime
    today: dt.date
    time_zone: str
    group_id: int | None
    queue_id: int | None
    collected: list[Collected]
    promises: Promises
    calls: Calls
    tasks: Tasks
    queues: list[QueueFigures]
    queue_thresholds: QueueThresholds
    agents_by_status: dict[str, int]
    agents: list[AgentFigures]
    by_hour: list[Hour]
    feed: list[FeedItem]


# Over a period ------------------------------------------------------------------------


class HourMoney(msgspec.Struct, kw_only=True):
    # The local hour's first instant, with the tenant's offset then (two hours read 01:00
    # when the clocks go back, none 02:00 when they go forward).
    start: dt.datetime
    amount: Decimal
    count: int


class HourlyMoney(msgspec.Struct, kw_only=True):
    """Received in one currency, hour by hour: every hour of the period, zero or not."""

    currency: str
    hours: list[HourMoney]


class PeriodPromises(msgspec.Struct, kw_only=True):
    made: int
    # Due on one of the tenant's days the period touches.
    due: int
    broken: int
    kept: int
    # Of the promises judged (kept or broken) in the period, the share kept.
    kept_rate: float | None


class PeriodCalls(msgspec.Struct, kw_only=True):
    attempted: int
    right_party: int
    right_party_rate: float | None


class PeriodTasks(msgspec.Struct, kw_only=True):
    completed: int
    # Assigned work taken back because it was not started in the tenant's time.
    timed_out: int
    # Pushed work started in the period, and how long it waited for its agent (seconds).
    picked_up: int
    average_pickup_seconds: float | None
    # Of the work completed in the period, the time from start to finish (seconds).
    average_handle_seconds: float | None


class PeriodAgent(msgspec.Struct, kw_only=True):
    id: int
    name: str
    group_id: int | None
    calls_attempted: int
    right_party: int
    promises_made: int
    collected: list[Money]
    completed: int
    average_handle_seconds: float | None


class Cumulative(msgspec.Struct, kw_only=True):
    from_: dt.datetime = msgspec.field(name="from")
    to: dt.datetime
    time_zone: str
    group_id: int | None
    queue_id: int | None
    collected: list[Money]
    collected_per_hour: list[HourlyMoney]
    promises: PeriodPromises
    calls: PeriodCalls
    tasks: PeriodTasks
    agents: list[PeriodAgent]
