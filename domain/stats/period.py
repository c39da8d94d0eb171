"""The period of the cumulative figures, and its hours in the tenant's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

# History the figures may reach back into (and the longest period asked at once).
HISTORY = dt.timedelta(days=30)
DEFAULT_PERIOD = dt.timedelta(minutes=15)

# Every time zone's offset and change of offset is a whole number of quarter hours.
_QUARTER = dt.timedelta(minutes=15)


def period(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) as UTC instants, checked: both with an offset, start before end, start
    within the history kept, no longer than it. ``end`` is now by default, ``start`` 15
    minutes before ``end``."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.utcoffset() is None:
            raise InvalidInput(
                f"{name} needs a UTC offset (such as 2026-11-30T09:00:00Z or +01:00)",
                field=name,
            )
    if end is None:
        end = now
    if start is None:
        start = end - DEFAULT_PERIOD
    if start >= end:
        raise InvalidInput("from must be before to", field="from")
    oldest = now - HISTORY
    if start < oldest:
        raise InvalidInput(
            f"history is kept {HISTORY.days} days: from may not be before {oldest.isoformat()}",
            field="from",
        )
    if end - start > HISTORY:
        raise InvalidInput(f"a period is at most {HISTORY.days} days long", field="to")
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _hour_of(instant: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, dt.timedelta | None]:
    """Which local hour an instant is in: its wall-clock hour, and the offset then (the two
    01:00 hours of the night the clocks go back differ by it)."""
    local = instant.astimezone(zone)
    return local.replace(minute=0, second=0, microsecond=0, tzinfo=None), local.utcoffset()


def hour_starts(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> list[dt.datetime]:
    """The first instant of each local hour that [start, end) touches, in the zone's time:
    the first at or before ``start``. Each hour begins where the wall-clock hour or the
    offset changes, so that the day the clocks go forward has 23 and the day they go back
    25, and the hour of a half-hour change is cut where it happens."""
    step = _QUARTER
    # Quarter hours since the epoch: the instants at which an hour may begin.
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    at = epoch + (start - epoch) // step * step
    first = _hour_of(start, zone)
    while _hour_of(at - step, zone) == first:
        at -= step
    starts = [at]
    hour = first
    at += step
    while at < end:
        now_hour = _hour_of(at, zone)
        if now_hour != hour:
            starts.append(at)
            hour = now_hour
        at += step
    return [s.astimezone(zone) for s in starts]


def days_touched(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> tuple[dt.date, dt.date]:
    """The first and last of the tenant's days that [start, end) touches."""
    return (
        start.astimezone(zone).date(),
        (end - dt.timedelta(microseconds=1)).astimezone(zone).date(),
    )
