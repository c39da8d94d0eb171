from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.money import (
    check_amount,
    check_currency,
    currencies,
    is_plain_decimal,
    minor_digits,
    parse_decimal,
)


def test_minor_digits_follow_iso_4217() -> None:
    assert minor_digits("USD") == 2
    assert minor_digits("JPY") == 0
    assert minor_digits("BHD") == 3
    assert minor_digits("IQD") == 3  # ISO, where CLDR's display precision says 0
    assert minor_digits("ALL") == 2


def test_currencies_lists_each_currency_in_use_with_its_digits() -> None:
    listed = currencies()
    assert (listed["JPY"], listed["USD"], listed["BHD"], listed["IQD"]) == (0, 2, 3, 3)
    assert "DEM" not in listed
    listed["USD"] = 0  # a copy: changing it changes nothing
    assert currencies()["USD"] == minor_digits("USD") == 2


def test_unknown_or_retired_currency_is_refused() -> None:
    for code in ("XYZ", "DEM", "usd", ""):
        with pytest.raises(InvalidInput) as error:
            check_currency(code)
        assert error.value.field == "currency"
        assert error.value.detail == f"{code!r} is not an ISO 4217 currency in use"
    assert check_currency("USD") == "USD"


def test_an_unknown_currency_names_the_field_it_came_in() -> None:
    with pytest.raises(InvalidInput) as error:
        check_currency("XXX", field="plan.currency")
    assert (error.value.field, error.value.detail) == (
        "plan.currency",
        "'XXX' is not an ISO 4217 currency in use",
    )


def test_the_digits_of_an_unknown_currency_are_refused_naming_the_currency() -> None:
    for call in (lambda: minor_digits("XXX"), lambda: check_amount(Decimal(1), "XXX", field="x")):
        with pytest.raises(InvalidInput) as error:
            call()
        assert (error.value.field, error.value.detail) == (
            "currency",
            "'XXX' is not an ISO 4217 currency in use",
        )


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("10.001", "USD"),
        ("1.5", "JPY"),
        ("0.0001", "BHD"),
        ("-1", "USD"),
        ("NaN", "USD"),
        ("Infinity", "EUR"),
        ("1e16", "USD"),
    ],
)
def test_refused_amounts(amount: str, currency: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_amount(Decimal(amount), currency, field="amount")
    assert error.value.field == "amount"


@pytest.mark.parametrize(
    ("amount", "currency", "positive", "detail"),
    [
        ("NaN", "USD", False, "principal must be a finite amount"),
        ("-Infinity", "USD", True, "principal must be a finite amount"),
        ("0", "USD", True, "principal must be greater than zero"),
        ("-0.01", "USD", True, "principal must be greater than zero"),
        ("-0.01", "USD", False, "principal must not be negative"),
        ("10.001", "USD", False, "principal has more decimals than USD allows (2)"),
        ("0.5", "JPY", True, "principal has more decimals than JPY allows (0)"),
        ("1e16", "BHD", False, "principal is too large"),
    ],
)
def test_each_refused_amount_says_why_and_names_its_field(
    amount: str, currency: str, positive: bool, detail: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        check_amount(Decimal(amount), currency, field="principal", positive=positive)
    assert (error.value.field, error.value.detail) == ("principal", detail)


def test_positive_refuses_zero() -> None:
    assert check_amount(Decimal("0"), "USD", field="x") == Decimal("0.00")
    with pytest.raises(InvalidInput):
        check_amount(Decimal("0"), "USD", field="x", positive=True)


@given(
    currency=st.sampled_from(sorted(currencies())),
    units=st.integers(min_value=0, max_value=10**12),
)
@example(currency="JPY", units=1)  # 1
@example(currency="USD", units=1)  # 0.01
@example(currency="BHD", units=1)  # 0.001
@example(currency="USD", units=0)
def test_amounts_within_the_currency_digits_pass_unchanged(currency: str, units: int) -> None:
    digits = minor_digits(currency)
    amount = Decimal(units).scaleb(-digits)
    result = check_amount(amount, currency, field="amount")
    assert result == amount
    assert result.as_tuple().exponent == -digits


@given(
    currency=st.sampled_from(sorted(currencies())),
    units=st.integers(min_value=1, max_value=10**12).filter(lambda n: n % 10),
)
@example(currency="JPY", units=5)  # 0.5
@example(currency="USD", units=1)  # 0.001
@example(currency="BHD", units=1)  # 0.0001
def test_one_decimal_too_many_is_refused(currency: str, units: int) -> None:
    amount = Decimal(units).scaleb(-(minor_digits(currency) + 1))
    with pytest.raises(InvalidInput):
        check_amount(amount, currency, field="amount")


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("9999999999999999", "JPY"), ("9999999999999999.99", "USD"), ("9999999999999999.999", "BHD")],
)
def test_the_largest_amount_is_one_minor_unit_under_the_limit(amount: str, currency: str) -> None:
    assert check_amount(Decimal(amount), currency, field="amount") == Decimal(amount)
    with pytest.raises(InvalidInput, match="too large"):
        check_amount(
            Decimal(amount) + Decimal(1).scaleb(-minor_digits(currency)), currency, field="amount"
        )


def test_positive_takes_one_minor_unit() -> None:
    assert check_amount(Decimal("1"), "JPY", field="x", positive=True) == Decimal("1")
    assert check_amount(Decimal("0.01"), "USD", field="x", positive=True) == Decimal("0.01")
    assert check_amount(Decimal("0.001"), "BHD", field="x", positive=True) == Decimal("0.001")


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", "0"), ("1200.50", "1200.50"), ("15000", "15000"), ("-3.5", "-3.5"), ("007", "7")],
)
def test_plain_decimal_strings_parse(text: str, value: str) -> None:
    assert parse_decimal(text, field="amount") == Decimal(value)


@pytest.mark.parametrize(
    "text",
    [
        "1e3",
        "1E-2",
        "1_000",
        "\u0661\u0662\u0663",
        "\uff15",  # fullwidth five
        " 5",
        "5 ",
        "5\n",
        "+5",
        "--5",
        "5.",
        ".5",
        "5.0.0",
        "NaN",
        "sNaN",
        "Infinity",
        "-Inf",
        "0x10",
        "",
        "-",
        "1" * 41,
    ],
)
def test_anything_but_a_plain_decimal_string_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_decimal(text, field="principal")
    assert error.value.field == "principal"
    assert error.value.detail == (
        'principal must be a plain decimal number written as a string, such as "1200.50"'
    )


def test_a_plain_decimal_is_at_most_40_characters() -> None:
    for text in ("1" * 40, "-" + "1" * 39, "1" * 20 + "." + "1" * 19):
        assert is_plain_decimal(text)
        assert parse_decimal(text, field="amount") == Decimal(text)
    for text in ("1" * 41, "-" + "1" * 40, "1" * 20 + "." + "1" * 20):
        assert not is_plain_decimal(text)
