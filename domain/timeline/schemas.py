"""An account's timeline: everything that happened on it, newest first, each with who."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec

TimelineKind = Literal[
    "interaction",
    "message",
    "payment_link_sent",
    "payment_link_opened",
    "payment",
    "promise",
    "task_created",
    "task_closed",
    "status_change",
]


class TimelineEntry(msgspec.Struct, kw_only=True):
    """One thing that happened: ``who`` is a person's name, ``"debtor"`` or ``"system"``;
    ``details`` holds what a collector needs of it (its fields depend on ``kind``; money as
    strings)."""

    kind: TimelineKind
    id: int
    at: dt.datetime
    who: str
    summary: str
    details: dict[str, Any]
