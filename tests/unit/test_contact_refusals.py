"""Contact rules at a fixed instant: what each refusal says, both sides of every limit, and
the opening time each block gives."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from domain.compliance.rules import Flags, History, Refusal, decide
from domain.tenancy.schemas import ContactRules

RULES = ContactRules()
NY = "America/New_York"


def ny(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A New York wall-clock time in June 2026 (Monday 1 June), as a UTC instant."""
    return dt.datetime(2026, 6, day, hour, minute, tzinfo=ZoneInfo(NY)).astimezone(dt.UTC)


def calls(*moments: dt.datetime) -> History:
    return History(call_attempts=tuple(sorted(moments)))


@pytest.mark.parametrize("channel", ["call", "sms", "email", "letter"])
def test_an_allowed_decision_names_its_channel_and_nothing_else(channel: str) -> None:
    decision = decide(channel, ny(3, 12), NY, RULES, Flags())  # type: ignore[arg-type]
    assert (decision.channel, decision.allowed, decision.refusals, decision.opens_at) == (
        channel,
        True,
        (),
        None,
    )


@pytest.mark.parametrize(
    ("flags", "refusal"),
    [
        (
            Flags(do_not_contact=True),
            Refusal("do_not_contact", "the debtor is marked do-not-contact"),
        ),
        (
            Flags(cease_requested=True),
            Refusal("cease_requested", "the debtor asked that contact cease"),
        ),
        (
            Flags(dispute_open=True),
            Refusal("dispute_open", "contact is paused while a dispute is open"),
        ),
        (Flags(opt_out_sms=True), Refusal("opted_out", "the debtor opted out of sms contact")),
    ],
    ids=["do-not-contact", "cease", "dispute", "opt-out"],
)
def test_each_standing_block_says_what_it_is(flags: Flags, refusal: Refusal) -> None:
    decision = decide("sms", ny(3, 12), NY, RULES, flags)
    assert (decision.channel, decision.allowed, decision.refusals, decision.opens_at) == (
        "sms",
        False,
        (refusal,),
        None,
    )


def test_letters_pass_do_not_contact_and_cease_but_not_a_dispute() -> None:
    noon = ny(3, 12)
    everything = Flags(
        do_not_contact=True,
        cease_requested=True,
        opt_out_call=True,
        opt_out_sms=True,
        opt_out_email=True,
    )
    assert decide("letter", noon, NY, RULES, everything).allowed
    assert decide("letter", noon, NY, RULES, Flags(do_not_contact=True)).allowed
    assert [
        r.rule for r in decide("letter", noon, NY, RULES, Flags(dispute_open=True)).refusals
    ] == ["dispute_open"]


@pytest.mark.parametrize("channel", ["call", "sms", "email"])
def test_an_opt_out_stops_only_its_own_channel(channel: str) -> None:
    noon = ny(3, 12)
    flags = Flags(**{f"opt_out_{channel}": True})
    for other in ("call", "sms", "email", "letter"):
        decision = decide(other, noon, NY, RULES, flags)  # type: ignore[arg-type]
        assert decision.allowed == (other != channel), other
    refused = decide(channel, noon, NY, RULES, flags)  # type: ignore[arg-type]
    assert refused.refusals == (Refusal("opted_out", f"the debtor opted out of {channel} contact"),)


def test_standing_blocks_come_first_and_a_block_outside_hours_has_no_opening() -> None:
    late = ny(3, 21, 30)
    decision = decide("call", late, NY, RULES, Flags(cease_requested=True, dispute_open=True))
    assert [r.rule for r in decision.refusals] == [
        "cease_requested",
        "dispute_open",
        "contact_hours",
    ]
    assert decision.opens_at is None


def test_the_hours_refusal_gives_the_window_and_the_debtors_time() -> None:
    decision = decide("sms", ny(3, 21, 30), NY, RULES, Flags())
    assert decision.channel == "sms"
    assert decision.allowed is False
    assert decision.refusals == (
        Refusal(
            "contact_hours", "sms only between 08:00 and 21:00 debtor time (it is 21:30 there)"
        ),
    )
    assert decision.opens_at == ny(4, 8)


def test_a_window_with_minutes_opens_and_closes_on_the_minute() -> None:
    rules = ContactRules(window_start="08:30", window_end="20:45")
    allowed = {
        (hour, minute): decide("call", ny(3, hour, minute), NY, rules, Flags()).allowed
        for hour, minute in ((8, 29), (8, 30), (20, 44), (20, 45))
    }
    assert allowed == {(8, 29): False, (8, 30): True, (20, 44): True, (20, 45): False}
    early = decide("call", ny(3, 8, 29), NY, rules, Flags())
    assert early.opens_at == ny(3, 8, 30)
    assert early.refusals[0].message == (
        "call only between 08:30 and 20:45 debtor time (it is 08:29 there)"
    )


def test_a_window_that_never_opens_gives_no_opening_time() -> None:
    rules = ContactRules(window_start="08:00", window_end="08:00")
    decision = decide("sms", ny(3, 12), NY, rules, Flags())
    assert not decision.allowed
    assert decision.opens_at is None


def test_the_seventh_attempt_is_allowed_and_the_eighth_refused() -> None:
    six = calls(*(ny(day, 10) for day in range(2, 8)))  # Tue 2 .. Sun 7 June
    assert decide("call", ny(8, 9), NY, RULES, Flags(), six).allowed
    seven = calls(*six.call_attempts, ny(8, 9))
    refused = decide("call", ny(8, 15), NY, RULES, Flags(), seven)
    assert refused.refusals == (
        Refusal("call_frequency", "at most 7 call attempts in 7 consecutive days"),
    )
    # Tuesday's attempt leaves the window on Tuesday 9 June, at the start of calling hours.
    assert refused.opens_at == ny(9, 8)


def test_seven_attempts_on_one_day_close_that_day() -> None:
    today = calls(*(ny(3, 8, minute) for minute in range(7)))
    decision = decide("call", ny(3, 9), NY, RULES, Flags(), today)
    assert [r.rule for r in decision.refusals] == ["call_frequency"]
    assert decision.opens_at == ny(10, 8)


def test_an_attempt_seven_days_back_is_out_of_the_window() -> None:
    week = calls(*(ny(day, 10) for day in range(1, 8)))  # Mon 1 .. Sun 7 June
    assert decide("call", ny(8, 12), NY, RULES, Flags(), week).allowed
    assert not decide("call", ny(7, 12), NY, RULES, Flags(), week).allowed


def test_attempts_count_on_the_debtors_calendar() -> None:
    # 20:30 in New York is already the next day in UTC: Monday 1 June's attempt is the oldest
    # of the week on the debtor's calendar and has left the window by Monday 8 June.
    evenings = calls(*(ny(day, 20, 30) for day in range(1, 8)))
    assert decide("call", ny(8, 8), NY, RULES, Flags(), evenings).allowed


def test_a_lower_cap_from_the_tenants_rules() -> None:
    rules = ContactRules(max_calls_per_7_days=2)
    two = calls(ny(2, 10), ny(3, 10))
    assert decide("call", ny(3, 12), NY, rules, Flags(), calls(ny(2, 10))).allowed
    assert decide("call", ny(3, 12), NY, rules, Flags(), two).refusals == (
        Refusal("call_frequency", "at most 2 call attempts in 7 consecutive days"),
    )


def test_the_conversations_own_day_is_quiet() -> None:
    spoke = History(call_attempts=(ny(3, 10),), conversations=(ny(3, 10),))
    decision = decide("call", ny(3, 14), NY, RULES, Flags(), spoke)
    assert decision.refusals == (
        Refusal(
            "conversation_quiet_period",
            "no calls within 7 days of a telephone conversation (that day counts as day 1)",
        ),
    )
    assert decision.opens_at == ny(10, 8)
    assert decide("sms", ny(3, 14), NY, RULES, Flags(), spoke).allowed


def test_no_quiet_period_when_the_tenant_sets_none() -> None:
    spoke = History(call_attempts=(ny(3, 10),), conversations=(ny(3, 10),))
    rules = ContactRules(quiet_days_after_conversation=0)
    assert decide("call", ny(3, 14), NY, rules, Flags(), spoke).allowed


def test_a_call_outside_the_window_channels_opens_at_the_debtors_midnight() -> None:
    rules = ContactRules(window_channels=("sms",))
    spoke = History(call_attempts=(ny(3, 10),), conversations=(ny(3, 10),))
    assert decide("call", ny(2, 23, 30), NY, rules, Flags()).allowed  # no hours for calls
    decision = decide("call", ny(3, 23, 30), NY, rules, Flags(), spoke)
    assert [r.rule for r in decision.refusals] == ["conversation_quiet_period"]
    assert decision.opens_at == ny(10, 0)


def test_opening_times_are_utc_whatever_the_servers_zone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        decision = decide("call", ny(3, 21, 30), NY, RULES, Flags())
    finally:
        monkeypatch.undo()
        time.tzset()
    assert decision.opens_at == ny(4, 8)
    assert decision.opens_at.utcoffset() == dt.timedelta(0)
