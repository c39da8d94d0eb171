"""When a debtor may be contacted: pure functions of the rules, the contact history, the
debtor's choices and the clock (Regulation F by default).

- Calls: at most ``max_calls_per_7_days`` attempts in any 7 consecutive days, and none in
  the ``quiet_days_after_conversation`` days that start with a telephone conversation
  (the conversation's day is day 1). Days are the debtor's own calendar days.
- Calls and SMS (``window_channels``): only between ``window_start`` and ``window_end`` in
  the debtor's time zone.
- No contact on a channel the debtor opted out of; none at all (letters aside) after a
  cease request or when the debtor is marked do-not-contact; none by any channel while a
  dispute is open, or once the debtor is in bankruptcy or deceased.

Everything is decided for a given instant, so the same functions answer "may we call now?"
and "when may we call next?".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from domain.tenancy.schemas import ContactRules

Channel = Literal["call", "sms", "email", "letter"]
CHANNELS: tuple[Channel, ...] = ("call", "sms", "email", "letter")
# Outcomes of a call in which the debtor was spoken to (a "telephone conversation").
CONVERSATION_DISPOSITIONS = frozenset(
    {"right_party_contact", "promise", "dispute", "refusal", "callback_requested"}
)
_SEARCH_DAYS = 60


# The local dates of call attempts and of conversations.
DayHistory = tuple[list[dt.date], list[dt.date]]


@dataclass(frozen=True, slots=True)
class Flags:
    """The debtor's and the account's state that stops contact regardless of the clock."""

    do_not_contact: bool = False
    cease_requested: bool = False
    dispute_open: bool = False
    bankrupt: bool = False
    deceased: bool = False
    opt_out_call: bool = False
    opt_out_sms: bool = False
    opt_out_email: bool = False


@dataclass(frozen=True, slots=True)
class History:
    """Outbound call attempts (UTC) and which of them were conversations."""

    call_attempts: tuple[dt.datetime, ...] = ()
    conversations: tuple[dt.datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class Refusal:
    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    channel: Channel
    allowed: bool
    refusals: tuple[Refusal, ...]
    # The earliest moment contact is allowed again; None when allowed now, or when only a
    # person can lift the block (an opt-out, a cease request, a dispute).
    opens_at: dt.datetime | None
    # The debtor's zone the decision was made in: a screen names it beside ``opens_at``.
    time_zone: str = "UTC"


def _clock(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def _local_dates(moments: tuple[dt.datetime, ...], zone: ZoneInfo) -> list[dt.date]:
    return [m.astimezone(zone).date() for m in moments]


def _day_refusals(
    channel: Channel,
    day: dt.date,
    rules: ContactRules,
    history_days: tuple[list[dt.date], list[dt.date]],
) -> list[Refusal]:
    """Rules that forbid the whole local ``day``."""
    if channel != "call":
        return []
    attempts, conversations = history_days
    refusals = []
    quiet = rules.quiet_days_after_conversation
    if any(0 <= (day - c).days < quiet for c in conversations):
        refusals.append(
            Refusal(
                "conversation_quiet_period",
                f"no calls within {quiet} days of a telephone conversation "
                "(that day counts as day 1)",
            )
        )
    window_start = day - dt.timedelta(days=6)
    if sum(1 for a in attempts if window_start <= a <= day) >= rules.max_calls_per_7_days:
        refusals.append(
            Refusal(
                "call_frequency",
                f"at most {rules.max_calls_per_7_days} call attempts in 7 consecutive days",
            )
        )
    return refusals


def decide(
    channel: Channel,
    at: dt.datetime,
    time_zone: str,
    rules: ContactRules,
    flags: Flags,
    history: History = History(),
) -> Decision:
    """May ``channel`` be used at ``at`` (UTC-aware), and if not, when next?"""
    zone = ZoneInfo(time_zone)
    standing: list[Refusal] = []
    if flags.do_not_contact and channel != "letter":
        standing.append(Refusal("do_not_contact", "the debtor is marked do-not-contact"))
    if flags.cease_requested and channel != "letter":
        standing.append(Refusal("cease_requested", "the debtor asked that contact cease"))
    if flags.dispute_open:
        standing.append(Refusal("dispute_open", "contact is paused while a dispute is open"))
    if flags.bankrupt:
        standing.append(Refusal("bankruptcy", "the debtor is in bankruptcy: no contact at all"))
    if flags.deceased:
        standing.append(Refusal("deceased", "the debtor is deceased: no contact at all"))
    if getattr(flags, f"opt_out_{channel}", False):
        standing.append(Refusal("opted_out", f"the debtor opted out of {channel} contact"))

    days = (_local_dates(history.call_attempts, zone), _local_dates(history.conversations, zone))
    in_window = channel in rules.window_channels
    start, end = _clock(rules.window_start), _clock(rules.window_end)
    local = at.astimezone(zone)

    timed: list[Refusal] = _day_refusals(channel, local.date(), rules, days)
    if in_window and not start <= local.time() < end:
        timed.append(
            Refusal(
                "contact_hours",
                f"{channel} only between {rules.window_start} and {rules.window_end} debtor time "
                f"(it is {local:%H:%M} there)",
            )
        )
    if not standing and not timed:
        return Decision(channel, True, (), None, time_zone)
    opens_at = (
        None if standing else _next_opening(channel, local, rules, days, in_window, start, end)
    )
    return Decision(channel, False, tuple(standing + timed), opens_at, time_zone)


def _next_opening(
    channel: Channel,
    local: dt.datetime,
    rules: ContactRules,
    days: DayHistory,
    in_window: bool,
    start: dt.time,
    end: dt.time,
) -> dt.datetime | None:
    zone = local.tzinfo
    for offset in range(_SEARCH_DAYS):
        day = local.date() + dt.timedelta(days=offset)
        if _day_refusals(channel, day, rules, days):
            continue
        earliest = local if offset == 0 else dt.datetime.combine(day, dt.time(0), zone)
        if in_window:
            opening = dt.datetime.combine(day, start, zone)
            closing = dt.datetime.combine(day, end, zone)
            candidate = max(earliest, opening)
            if candidate >= closing:
                continue
        else:
            candidate = earliest
        return candidate.astimezone(dt.UTC)
    return None
