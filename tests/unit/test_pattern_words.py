"""A value that does not have a schema's form is refused in words, not as a regex."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from domain.accounts.schemas import Currency
from domain.custom_fields.schemas import Key, Label
from domain.debtors.schemas import Country, Ref
from domain.tenancy.schemas import ClockTime, Phone, WebAddress
from domain.webhooks.schemas import EventType
from domain.workflows.schemas import EventName
from server.problems import _in_words


@pytest.mark.parametrize(
    ("kind", "bad", "words"),
    [
        (Key, "Bad Key!", "letters, digits and _ only, starting with a letter or _"),
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
def test_each_pattern_is_said_in_words_with_its_place(kind: Any, bad: str, words: str) -> None:
    body = msgspec.defstruct("Body", [("value", kind)])
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.convert({"value": bad}, body)
    said = _in_words(str(caught.value))
    assert said.startswith(f"Expected {words}")
    assert said.endswith(" - at `$.value`")
    assert "regex" not in said


def test_other_messages_are_left_as_they_are() -> None:
    for message in ("Expected `int`, got `str` - at `$.x`", "Expected `str` matching regex 'x'"):
        assert _in_words(message) == message
