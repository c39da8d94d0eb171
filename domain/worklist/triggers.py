"""Which committed events call for an assignment round in their tenant.

The relay asks this of every event it publishes and hands the tenants that answer yes to
one assignment job per batch: new pushed work, finished or returned work (capacity freed)
and an agent becoming available may let waiting work move. Pulls and queue-only work need
no round.
"""

from __future__ import annotations

from typing import Any

import msgspec

from domain.outbox import events
from domain.worklist.schemas import PUSH_KINDS

_TASK_EVENTS = frozenset(
    {events.TASK_CREATED, events.TASK_ASSIGNED, events.TASK_UPDATED, events.TASK_COMPLETED}
)
_DONE = frozenset({"completed", "cancelled"})


class _Change(msgspec.Struct):
    """The parts of an event's data this decision reads (the rest is not decoded)."""

    status: str | None = None
    task: dict[str, Any] | None = None


_decode = msgspec.json.Decoder(_Change).decode


def assignment_due(event_type: str, data: str | bytes) -> bool:
    """Does this event (its type and its JSON data) call for an assignment round?"""
    if event_type == events.AGENT_STATUS:
        return _decode(data).status == "available"
    if event_type not in _TASK_EVENTS:
        return False
    task = _decode(data).task
    if task is None:  # a rule's bulk announcement
        return True
    if task.get("status") in _DONE:
        return True
    return task.get("status") == "open" and task.get("strategy") in PUSH_KINDS
