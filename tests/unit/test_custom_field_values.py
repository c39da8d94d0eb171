"""Computed fields are handed only the fields their expressions read, and give what they
would give over the whole record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domain.custom_fields.schemas import CustomField
from domain.custom_fields.values import _used_fields, from_text, record_variables, with_computed
from domain.errors import InvalidInput
from domain.workflows.conditions import compiled

RECORD = {
    "external_ref": "A-1",
    "creditor": "Acme",
    "currency": "USD",
    "status": "active",
    "due_date": dt.date(2026, 1, 31),
    "principal": Decimal("1200.50"),
    "interest": Decimal("10"),
    "fees": Decimal("0"),
}
CUSTOM = {"score": 712, "tier": "gold"}


def _computed(expression: str) -> CustomField:
    return CustomField(
        id=1,
        entity="account",
        key="out",
        label="Out",
        type="computed",
        options=[],
        expression=expression,
        position=0,
        created_at=dt.datetime.now(dt.UTC),
        updated_at=dt.datetime.now(dt.UTC),
    )


@pytest.mark.parametrize(
    ("expression", "used"),
    [
        ("account.balance_minor >= 100000", {"balance_minor"}),
        ("account.custom.score > 700 && account.currency == 'USD'", {"custom", "currency"}),
        ('account["balance_minor"] > 1', None),
        ("account.creditor == 'account'", None),
        ("size(account) > 3", None),
    ],
)
def test_the_expressions_get_what_they_read_and_give_the_same(expression: str, used) -> None:
    assert _used_fields("account", (expression,)) == (frozenset(used) if used else None)
    whole = compiled(expression).execute({"account": record_variables("account", RECORD, CUSTOM)})
    assert with_computed([_computed(expression)], "account", RECORD, CUSTOM)["out"] == whole


def test_an_expression_that_fails_on_a_record_gives_null() -> None:
    failing = _computed("account.custom.missing > 1")
    assert with_computed([failing], "account", RECORD, CUSTOM) == {**CUSTOM, "out": None}


def _number() -> CustomField:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return CustomField(
        id=1, entity="account", key="score", label="Score", type="number", options=[],
        expression=None, position=0, created_at=at, updated_at=at,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "stored"),
    [("12.50", 12.5), ("0.1", 0.1), ("123456789012.345", 123456789012.345), ("7", 7),
     ("999999999999999", 10**15 - 1), ("-999999999999999", 1 - 10**15), ("1e14", 10**14)],
)  # fmt: skip
def test_an_imported_number_is_stored_as_written(text: str, stored: object) -> None:
    value = from_text(_number(), text, path="custom.score")
    assert value == stored
    assert type(value) is type(stored)


@pytest.mark.parametrize("text", ["12345678901234.5678", "0.12345678901234567"])
def test_an_imported_number_a_double_cannot_hold_is_refused_not_rounded(text: str) -> None:
    with pytest.raises(InvalidInput, match="more digits than a number field keeps"):
        from_text(_number(), text, path="custom.score")


@pytest.mark.parametrize(
    "text", ["1000000000000000", "-1e15", str(2**70), "1e5000", "-1E+4300", "1e300000000"]
)
def test_an_imported_number_past_15_digits_before_the_point_is_refused_unexpanded(
    text: str,
) -> None:
    """Refused from its exponent, before any integer is built: ``1e300000000`` would
    otherwise hold the process for hours."""
    with pytest.raises(InvalidInput, match="not a number of at most 15 digits before the point"):
        from_text(_number(), text, path="custom.score")


@pytest.mark.parametrize(
    "expression",
    ["[10, 20][account.custom.score]", "9223372036854775807 + account.custom.score", "1 / 0"],
)
def test_an_expression_that_cannot_be_worked_out_gives_null_never_an_error(
    expression: str,
) -> None:
    failing = _computed(expression)
    assert with_computed([failing], "account", RECORD, CUSTOM) == {**CUSTOM, "out": None}
