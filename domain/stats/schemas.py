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
    agents_by_status: dict[str, int]
    agents: list[AgentFigures]
