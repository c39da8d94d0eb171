"""The period of the cumulative figures (``domain.stats.period``): its defaults and bounds
(30 days of history, pinned to the second and the microsecond), and its hours in the
tenant's time zone across both changes of the clocks and in a half-hour zone."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidInput
from domain.stats.period import hour_starts, period
from domain.stats.service import day_bounds

NEW_YORK = ZoneInfo("America/New_York")
TICK = dt.timedelta(microseconds=1)
SECOND = dt.timedelta(seconds=1)
THIRTY_DAYS = dt.timedelta(days=30)
NOW = dt.datetime(2026, 11, 3, 17, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 11, 3, 4, 30, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 3, 6, 0, tzinfo=dt.UTC)
EST = dt.timezone(dt.timedelta(hours=-5))
EDT = dt.timezone(dt.timedelta(hours=-4))


def local(*args: int, tz: dt.tzinfo = EST) -> str:
    return dt.datetime(*args, tzinfo=tz).isoformat()


# The period: defaults and bounds ------------------------------------------------------


def test_the_period_is_the_last_15_minutes_by_default() -> None:
    assert period(None, None, NOW) == (NOW - dt.timedelta(minutes=15), NOW)
    assert period(None, END, NOW) == (END - dt.timedelta(minutes=15), END)
    assert period(START, None, NOW) == (START, NOW)
    # Any offset, answered in UTC.
    assert period(START.astimezone(EST), END.astimezone(EDT), NOW) == (START, END)
    assert period(START, END, NOW)[0].utcoffset() == dt.timedelta(0)


def refused(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> tuple:
    with pytest.raises(InvalidInput) as caught:
        period(start, end, now)
    return caught.value.field, caught.value.detail


def test_history_reaches_back_30_days_exactly_and_a_period_is_no_longer() -> None:
    oldest = NOW - THIRTY_DAYS
    assert period(oldest, oldest + SECOND, NOW) == (oldest, oldest + SECOND)
    assert refused(oldest - SECOND, oldest, NOW) == (
        "from",
        "history is kept 30 days: from may not be before 2026-10-04T17:00:00+00:00",
    )
    assert refused(oldest - TICK, NOW, NOW)[0] == "from"
    # 30 days long, even ending in the future; a second more is refused.
    assert period(NOW, NOW + THIRTY_DAYS, NOW) == (NOW, NOW + THIRTY_DAYS)
    assert period(oldest, NOW, NOW) == (oldest, NOW)
    assert refused(NOW, NOW + THIRTY_DAYS + SECOND, NOW) == (
        "to",
        "a period is at most 30 days long",
    )
    assert refused(oldest + SECOND, NOW + 2 * SECOND, NOW)[0] == "to"


def test_a_period_ends_after_it_starts_and_names_its_offset() -> None:
    assert refused(END, END, NOW) == ("from", "from must be before to")
    assert refused(END, START, NOW)[0] == "from"
    assert period(END - TICK, END, NOW) == (END - TICK, END)
    assert refused(NOW + TICK, None, NOW)[0] == "from"  # to is now by default
    naive = dt.datetime(2026, 11, 3, 1, 0)
    assert refused(naive, END, NOW) == (
        "from",
        "from needs a UTC offset (such as 2026-11-30T09:00:00Z or +01:00)",
    )
    assert refused(START, naive, NOW)[0] == "to"


def test_hours_begin_at_each_local_hour_across_the_changes_of_the_clocks() -> None:
    def starts(first: dt.datetime, last: dt.datetime) -> list[str]:
        return [s.isoformat() for s in hour_starts(first, last, NEW_YORK)]

    # The clocks go back at 02:00 EDT (06:00 UTC): 01:00 twice, a 25-hour day.
    back = dt.datetime(2026, 11, 1, 4, 0, tzinfo=dt.UTC)
    assert starts(back, back + dt.timedelta(hours=4)) == [
        local(2026, 11, 1, 0, tz=EDT),
        local(2026, 11, 1, 1, tz=EDT),
        local(2026, 11, 1, 1),
        local(2026, 11, 1, 2),
    ]
    assert len(hour_starts(*day_bounds(dt.date(2026, 11, 1), NEW_YORK), NEW_YORK)) == 25
    assert len(hour_starts(*day_bounds(dt.date(2026, 3, 8), NEW_YORK), NEW_YORK)) == 23
    # Forward at 02:00 EST (07:00 UTC): no 02:00, a 23-hour day.
    forward = dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC)
    assert starts(forward, forward + dt.timedelta(hours=3)) == [
        local(2026, 3, 8, 0),
        local(2026, 3, 8, 1),
        local(2026, 3, 8, 3, tz=EDT),
    ]
    # Started within an hour: that hour first; ended at an hour's start: not that hour.
    assert starts(START, END) == [local(2026, 11, 2, 23), local(2026, 11, 3, 0)]
    assert starts(END - TICK, END) == [local(2026, 11, 3, 0)]
    assert starts(END, END + TICK) == [local(2026, 11, 3, 1)]
    # A half-hour zone's hours begin at half past the hours of UTC.
    india = [s.isoformat() for s in hour_starts(START, END, ZoneInfo("Asia/Kolkata"))]
    assert india == ["2026-11-03T10:00:00+05:30", "2026-11-03T11:00:00+05:30"]


# History ---------------------------------------------------------------------------------

READ = ("payments", "promises", "interactions", "tasks", "audit_log")


def test_nothing_prunes_what_the_figures_read() -> None:
    """History is kept 30 days: no code deletes the rows a period's figures count."""
    root = Path(__file__).resolve().parents[2]
    deletes = re.compile(rf"DELETE\s+FROM\s+({'|'.join(READ)})\b", re.IGNORECASE)
    piccolo = re.compile(r"\b(Payment|Promise|Interaction|Task|AuditEntry)\.delete\(")
    found = [
        f"{path.relative_to(root)}: {hit[0]}"
        for folder in ("domain", "tasks", "server", "channels")
        for path in sorted((root / folder).rglob("*.py"))
        for hit in (*deletes.finditer(path.read_text()), *piccolo.finditer(path.read_text()))
    ]
    assert found == []
    # The guard sees a deletion when there is one.
    assert deletes.search('"DELETE FROM tasks WHERE id = $1"')
    assert not deletes.search("DELETE FROM task_rules WHERE id = $1")
