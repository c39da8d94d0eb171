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
