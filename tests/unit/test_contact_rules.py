"""Contact rules as properties, across time zones and daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.compliance.rules import Flags, History, decide
from domain.tenancy.schemas import ContactRules

RULES = ContactRules()
ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/St_Johns",
    "Pacific/Chatham",
    "Pacific/Honolulu",
    "Etc/GMT-14",
]
# Instants across 2026, DST changes included.
instants = st.integers(min_value=0, max_value=365 * 24 * 3600).map(
    lambda s: dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=s)
)
zones = st.sampled_from(ZONES)


def local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))


def ny(day: int, hour: int, minute: int = 0, month: int = 6) -> dt.datetime:
    """A New York wall-clock time in 2026, as the UTC instant the rules are given."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(NY)).astimezone(dt.UTC)


NY = "America/New_York"
# A conversation on Monday 1 June 2026 at 20:30 New York time: day 1 of the quiet period,
# whose last day is Sunday 7 June.
SPOKE = ny(1, 20, 30)


def at_the_edges_of_the_day(test: Any) -> Any:
    """Examples at 07:59, 08:00, 20:59, 21:00 and 21:01 New York time, in summer and in
    winter (20:59 in December is 01:59 UTC the next day)."""
    edges = [ny(1, 7, 59), ny(1, 8, 0), ny(1, 20, 59), ny(1, 21, 0), ny(1, 21, 1)]
    for at in [*edges, ny(1, 20, 59, month=12), ny(1, 21, 0, month=12)]:
        test = example(at=at, zone=NY)(test)
    return test


@given(at=instants, zone=zones)
@at_the_edges_of_the_day
def test_calls_only_inside_the_debtors_hours(at: dt.datetime, zone: str) -> None:
    decision = decide("call", at, zone, RULES, Flags())
    inside = dt.time(8) <= local(at, zone).time() < dt.time(21)
    assert decision.allowed == inside
    if not inside:
        opens = decision.opens_at
        assert opens is not None
        assert opens > at
        assert local(opens, zone).time() == dt.time(8)
        assert (opens - at) <= dt.timedelta(hours=12)
        assert decide("call", opens, zone, RULES, Flags()).allowed


@given(at=instants, zone=zones)
@at_the_edges_of_the_day
def test_email_has_no_hours_but_sms_does(at: dt.datetime, zone: str) -> None:
    assert decide("email", at, zone, RULES, Flags()).allowed
    sms = decide("sms", at, zone, RULES, Flags())
    assert sms.allowed == (dt.time(8) <= local(at, zone).time() < dt.time(21))


@settings(max_examples=200)
@given(
    at=instants,
    zone=zones,
    offsets=st.lists(st.integers(min_value=1, max_value=10 * 24 * 3600), max_size=12),
)
def test_never_more_than_seven_attempts_in_seven_local_days(at, zone, offsets) -> None:
    attempts = tuple(sorted(at - dt.timedelta(seconds=s) for s in offsets))
    history = History(call_attempts=attempts)
    decision = decide("call", at, zone, RULES, Flags(), history)
    today = local(at, zone).date()
    in_window = sum(1 for a in attempts if 0 <= (today - local(a, zone).date()).days <= 6)
    rules = {r.rule for r in decision.refusals}
    assert ("call_frequency" in rules) == (in_window >= 7)
    if decision.opens_at is not None:
        opening = decision.opens_at
        day = local(opening, zone).date()
        assert sum(1 for a in attempts if 0 <= (day - local(a, zone).date()).days <= 6) < 7
        assert decide("call", opening, zone, RULES, Flags(), history).allowed


@given(conversation=instants, zone=zones, later=st.integers(min_value=0, max_value=12 * 24 * 3600))
# The last minute of the quiet period's last day (day 7), and the first minute of day 8.
@example(conversation=SPOKE, zone=NY, later=int((ny(7, 23, 59) - SPOKE).total_seconds()))
@example(conversation=SPOKE, zone=NY, later=int((ny(8, 0, 0) - SPOKE).total_seconds()))
@example(conversation=SPOKE, zone=NY, later=int((ny(8, 8, 0) - SPOKE).total_seconds()))
def test_no_call_within_seven_days_of_a_conversation(conversation, zone, later) -> None:
    at = conversation + dt.timedelta(seconds=later)
    history = History(call_attempts=(conversation,), conversations=(conversation,))
    decision = decide("call", at, zone, RULES, Flags(), history)
    days_since = (local(at, zone).date() - local(conversation, zone).date()).days
    rules = {r.rule for r in decision.refusals}
    assert ("conversation_quiet_period" in rules) == (days_since < 7)
    if days_since < 7:
        opening = decision.opens_at
        assert opening is not None
        assert (local(opening, zone).date() - local(conversation, zone).date()).days == 7
        assert local(opening, zone).time() == dt.time(8)


@given(at=instants, zone=zones)
@example(at=ny(1, 12), zone=NY)  # inside calling hours: only the block refuses
def test_standing_blocks_have_no_opening_time(at, zone) -> None:
    for flags, rule in (
        (Flags(opt_out_call=True), "opted_out"),
        (Flags(cease_requested=True), "cease_requested"),
        (Flags(dispute_open=True), "dispute_open"),
        (Flags(do_not_contact=True), "do_not_contact"),
    ):
        decision = decide("call", at, zone, RULES, flags)
        assert not decision.allowed
        assert decision.opens_at is None
        assert rule in {r.rule for r in decision.refusals}
    assert decide("letter", at, zone, RULES, Flags(cease_requested=True)).allowed


@given(at=instants, zone=zones)
@example(at=ny(1, 12), zone=NY)
def test_a_cease_request_stops_every_channel_but_letters(at, zone) -> None:
    for channel in ("call", "sms", "email"):
        decision = decide(channel, at, zone, RULES, Flags(cease_requested=True))
        assert not decision.allowed
        assert decision.opens_at is None
        assert "cease_requested" in {r.rule for r in decision.refusals}
    assert decide("letter", at, zone, RULES, Flags(cease_requested=True)).allowed


def test_dst_spring_forward_in_new_york() -> None:
    # 2026-03-08: clocks jump from 02:00 to 03:00. At 06:30 UTC it is 01:30 EST; calls open at
    # 08:00 EDT, which is 12:00 UTC (not 13:00, as it would be in winter).
    at = dt.datetime(2026, 3, 8, 6, 30, tzinfo=dt.UTC)
    decision = decide("call", at, "America/New_York", RULES, Flags())
    assert decision.opens_at == dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)


def test_seven_days_means_local_calendar_days() -> None:
    # A conversation at 23:30 on Monday in Sydney counts Monday as day 1, although it is
    # still Monday morning in UTC.
    zone = "Australia/Sydney"
    conversation = dt.datetime(2026, 6, 1, 23, 30, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
    history = History(call_attempts=(conversation,), conversations=(conversation,))
    sunday = dt.datetime(2026, 6, 7, 12, 0, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
    monday = dt.datetime(2026, 6, 8, 8, 0, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)
    assert not decide("call", sunday, zone, RULES, Flags(), history).allowed
    assert decide("call", monday, zone, RULES, Flags(), history).allowed
