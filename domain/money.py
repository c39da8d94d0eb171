"""Money: exact Decimal amounts in ISO 4217 currencies, never floats.

Babel's CLDR data says which currencies are legal tender today; the number of
minor digits is ISO 4217's, where CLDR's display precision differs from it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from domain.errors import InvalidInput

# ISO 4217 minor units for the currencies where CLDR's display digits differ.
_ISO_MINOR_UNITS = {
    "IQD": 3,
    "AFN": 2,
    "ALL": 2,
    "IRR": 2,
    "KPW": 2,
    "LAK": 2,
    "LBP": 2,
    "MGA": 2,
    "MMK": 2,
    "RSD": 2,
    "SOS": 2,
    "SYP": 2,
    "YER": 2,
}


@lru_cache(maxsize=1)
def _currencies() -> dict[str, int]:
    from babel.core import get_global
    from babel.numbers import get_currency_precision, get_territory_currencies

    today = dt.datetime.now(dt.UTC).date()
    codes: set[str] = set()
    for territory in get_global("territory_currencies"):
        codes.update(get_territory_currencies(territory, today, tender=True))
    return {c: _ISO_MINOR_UNITS.get(c, get_currency_precision(c)) for c in codes}


def currencies() -> dict[str, int]:
    """Every currency Recoup accepts, with its number of minor digits."""
    return dict(_currencies())


def minor_digits(currency: str) -> int:
    """How many decimals an amount in ``currency`` may carry (JPY 0, USD 2, BHD 3)."""
    try:
        return _currencies()[currency]
    except KeyError:
        raise InvalidInput(
            f"{currency!r} is not an ISO 4217 currency in use", field="currency"
        ) from None


# ASCII digits only (``\d`` would take any script's), one optional leading minus, and a
# fraction only after a digit: what msgspec and Decimal() read beyond this is refused.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MAX_DECIMAL_CHARS = 40


def in_currency(amount: Decimal, currency: str) -> Decimal:
    """An amount with exactly its currency's decimals (the database keeps four)."""
    return amount.quantize(Decimal(1).scaleb(-minor_digits(currency)))


def display(amount: Decimal, currency: str) -> str:
    """An amount as people read it, in its currency's own digits: $1,075.00, ¥5,000."""
    from babel.numbers import format_currency

    return format_currency(
        in_currency(amount, currency), currency, locale="en_US", decimal_quantization=False
    )


def is_plain_decimal(text: str) -> bool:
    """``"1200.50"``, ``"15000"`` or ``"-3"``: no exponent, underscores, spaces, plus sign,
    digits other than 0-9, NaN or Infinity."""
    return len(text) <= _MAX_DECIMAL_CHARS and _PLAIN_DECIMAL.fullmatch(text) is not None


def parse_decimal(text: str, *, field: str) -> Decimal:
    """A plain decimal string as a Decimal; anything else is refused naming ``field``."""
    if not is_plain_decimal(text):
        raise InvalidInput(
            f'{field} must be a plain decimal number written as a string, such as "1200.50"',
            field=field,
        )
    return Decimal(text)


def check_currency(currency: str, *, field: str = "currency") -> str:
    if currency not in _currencies():
        raise InvalidInput(f"{currency!r} is not an ISO 4217 currency in use", field=field)
    return currency


def check_amount(amount: Decimal, currency: str, *, field: str, positive: bool = False) -> Decimal:
    """Refuse a negative (or, with ``positive``, zero) amount or one with too many decimals."""
    digits = minor_digits(currency)
    if not amount.is_finite():
        raise InvalidInput(f"{field} must be a finite amount", field=field)
    if positive and amount <= 0:
        raise InvalidInput(f"{field} must be greater than zero", field=field)
    if amount < 0:
        raise InvalidInput(f"{field} must not be negative", field=field)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        raise InvalidInput(
            f"{field} has more decimals than {currency} allows ({digits})", field=field
        )
    if amount >= Decimal(10) ** 16:
        raise InvalidInput(f"{field} is too large", field=field)
    return amount.quantize(Decimal(1).scaleb(-digits))


class Overpayment(InvalidInput):
    slug = "overpayment"
    title = "More than the balance"


class Allocation(NamedTuple):
    """How a payment is split; ``credit`` is what it pays beyond the balance."""

    fees: Decimal
    interest: Decimal
    principal: Decimal
    credit: Decimal


def allocate(
    amount: Decimal,
    *,
    fees: Decimal,
    interest: Decimal,
    principal: Decimal,
    allow_credit: bool,
    currency: str | None = None,
) -> Allocation:
    """Fees first, then interest, then principal; beyond that, credit or a refusal (its
    amounts written in ``currency``'s format when given: "$0.01 more than ... $1,075.00")."""
    to_fees = min(amount, fees)
    rest = amount - to_fees
    to_interest = min(rest, interest)
    rest -= to_interest
    to_principal = min(rest, principal)
    rest -= to_principal
    if rest > 0 and not allow_credit:
        # In the payment's own places (the currency's): the columns carry four.
        places = Decimal(1).scaleb(amount.as_tuple().exponent)
        balance = (fees + interest + principal).quantize(places)
        over = rest.quantize(places)
        said = (
            (over, balance)
            if currency is None
            else (display(over, currency), display(balance, currency))
        )
        raise Overpayment(
            f"the payment is {said[0]} more than the balance of {said[1]}",
            field="amount",
            balance=str(balance),
        )
    return Allocation(to_fees, to_interest, to_principal, rest)
