"""A value that does not have a schema's form is refused in words: not as a regex, not in
msgspec's terms; the problem names the field, so the words say only what is wrong."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
import pytest

from domain.accounts.schemas import Currency
from domain.custom_fields.schemas import Key, Label
from domain.debtors.schemas import Country, Ref
from domain.tenancy.schemas import ClockTime, Phone, WebAddress
from domain.webhooks.schemas import EventType
from domain.workflows.schemas import EventName
from server.refusal_words import in_words


@pytest.mark.parametrize(
    ("kind", "bad", "words"),
    [
        (
            Key,
            "Bad Key!",
            "letters, digits and _ only, starting with a letter or _, at most 63 characters",
        ),
        (Label, " x", "text that neither starts nor ends with a space"),
        (Ref, " x", "text that does not start with a space"),
        (ClockTime, "24:00", "a time of day as HH:MM, such as 08:30"),
        (Phone, "abc", "a phone number: digits, optionally with a leading +"),
        (WebAddress, "http://x", "an https:// address"),
        (EventType, "X", "an event type such as payment.received"),
        (EventName, "X", "lowercase letters, digits, _ and dots, starting with a letter"),
        (Currency, "usd", "a currency's three capital letters, such as USD"),
        (Country, "usa", "a country's two capital letters, such as US"),
    ],
)
def test_each_pattern_is_said_in_words(kind: Any, bad: str, words: str) -> None:
    assert refusal(kind, bad) == f"must be {words}"


def refusal(kind: Any, value: Any = ...) -> str:
    """What a request sending ``value`` (nothing, for ...) as a field of type ``kind`` hears."""
    body = msgspec.defstruct("Body", [("value", kind)])
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert({} if value is ... else {"value": value}, body)
    return in_words(str(caught.value))


Text = Annotated[str, msgspec.Meta(min_length=1, max_length=5)]
Count = Annotated[int, msgspec.Meta(ge=1, lt=10)]
Items = Annotated[list[int], msgspec.Meta(min_length=1, max_length=2)]


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        (str, ..., "is required"),
        (Text, "", "must not be empty"),
        (Annotated[str, msgspec.Meta(min_length=3)], "ab", "must be at least 3 characters"),
        (Text, "abcdef", "must be at most 5 characters"),
        (Annotated[str, msgspec.Meta(max_length=1)], "ab", "must be at most 1 character"),
        (Items, [], "must list at least one"),
        (Items, [1, 2, 3], "must list at most 2"),
        (
            Annotated[dict[str, int], msgspec.Meta(max_length=1)],
            {"a": 1, "b": 2},
            "must have at most 1 key",
        ),
        (Count, 0, "must be at least 1"),
        (Count, 10, "must be at most 9"),
        (Annotated[int, msgspec.Meta(gt=0)], 0, "must be at least 1"),
        (int, "7", "must be a whole number, not text"),
        (int, 1.5, "must be a whole number, not a number with a fraction"),
        (str, 7, "must be text, not a number"),
        (bool, 1, "must be true or false, not a number"),
        (list[int], {}, "must be a list, not an object"),
        (int | None, "x", "must be a whole number or null, not text"),
        (dt.date, "03/12/2026", "must be a date as YYYY-MM-DD"),
        (dt.datetime, "soon", "must be a date and time, such as 2026-12-03T09:30:00Z"),
        (Literal["a", "b"], "c", "is not one of the values this field takes ('c')"),
        (Literal["a", "b"], "c" * 100, f"is not one of the values this field takes ('{'c' * 38}…)"),
    ],
)
def test_msgspecs_refusals_are_said_in_words(kind: Any, value: Any, words: str) -> None:
    assert refusal(kind, value) == words


def test_messages_without_words_are_left_as_they_are() -> None:
    for message in ("Expected `str` matching regex 'x'", "Something else - at `$.x`"):
        assert in_words(message) == message
