"""Checking each row of a file against its mapping: a record ready to COPY, or its errors.

The rules are the API's (``domain.money`` for amounts and currencies, ``domain.validation``
for e-mail, phone and time zone), applied per row so that a bad row never stops the good
ones. Each error names the row number, the file's own column name and the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from domain.custom_fields.schemas import CustomField
from domain.custom_fields.values import from_text, with_computed
from domain.errors import InvalidInput
from domain.imports.mapping import (
    ACCOUNT_FIELDS,
    CUSTOM_LONGEST,
    DEBTOR_FIELDS,
    FIELDS,
    Mapping,
    custom_columns,
    date_refused,
    read_date,
)
from domain.money import check_amount, currencies, is_plain_decimal, minor_digits
from domain.validation import check_email, check_phone, check_time_zone

# The staging table's columns, in the order of each record (row number first).
STAGE_COLUMNS: tuple[str, ...] = (
    "row_number",
    "account_ref",
    "debtor_ref",
    *DEBTOR_FIELDS,
    *ACCOUNT_FIELDS,
    "custom",
    "debtor_custom",
)
_ZERO = Decimal(0)


class RowError(NamedTuple):
    row: int
    column: str
    reason: str


class SeenRefs:
    """The 64-bit hashes of the account references seen so far, in 6 bytes each.

    The low 16 bits of a hash choose one of 65,536 byte strings, which holds the other 48
    bits of each hash that fell there, end to end: a lookup is a search of a few hundred
    bytes at most (for ten million rows), and the whole takes 6 bytes a row and 4 MB of
    strings instead of the hundred bytes a row a Python set of integers takes."""

    def __init__(self) -> None:
        self.buckets = [bytearray() for _ in range(1 << 16)]
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def add(self, key: int) -> bool:
        """Add ``key``; False (and nothing added) if it was there already."""
        key &= 0xFFFF_FFFF_FFFF_FFFF
        bucket = self.buckets[key & 0xFFFF]
        rest = (key >> 16).to_bytes(6, "little")
        at = bucket.find(rest)
        while at >= 0:
            if at % 6 == 0:  # a whole entry, not the end of one and the start of the next
                return False
            at = bucket.find(rest, at + 1)
        bucket += rest
        self.count += 1
        return True


def read_cells(
    positions: dict[str, int],
    fields: list[str],
    spec: dict[str, tuple[bool, int]],
    default_currency: str | None,
    values: dict[str, Any],
    fail: Callable[[str, str], None],
    currencies_in_use: dict[str, int],
) -> str | None:
    """A row's mapped cells into ``values`` (stripped; a blank one None), each required one
    present and none longer than ``spec`` allows (a field ``spec`` lacks is a custom one);
    returns the row's currency (its cell, else the mapping's default) if it is one in use."""
    for field, index in positions.items():
        text = fields[index].strip()
        required, longest = spec.get(field, (False, CUSTOM_LONGEST))
        if not text:
            # A blank currency is the mapping's default currency, when it has one.
            if required and not (field == "currency" and default_currency):
                fail(field, "is required")
            values[field] = None
            continue
        if len(text) > longest:
            fail(field, f"is longer than {longest} characters")
            continue
        values[field] = text
    currency = values.get("currency") or default_currency
    if currency is not None and currency not in currencies_in_use:
        fail("currency", f"{currency!r} is not an ISO 4217 currency in use")
        return None
    return currency


class RowChecker:
    """Turns the fields of one row into a staging record, or says what is wrong with it."""

    def __init__(
        self,
        mapping: Mapping,
        positions: dict[str, int],
        header: list[str],
        custom_fields: dict[str, CustomField] | None = None,
        computed: dict[str, list[CustomField]] | None = None,
    ) -> None:
        """``custom_fields``: the definition of each mapped custom field, by mapping field
        (``custom.tier``, ``debtor.custom.score``); ``computed``: the computed fields of
        each entity, evaluated over the row as a new record would hold it (the merge keeps
        them for new records only; written records are recomputed after it)."""
        self.mapping = mapping
        self.computed = {entity: found for entity, found in (computed or {}).items() if found}
        self.custom = {
            field: (entity, key, (custom_fields or {})[field])
            for field, (entity, key) in custom_columns(mapping).items()
            if field in positions
        }
        self.positions = positions
        self.width = len(header)
        self.columns = {f: header[i] for f, i in positions.items()}
        self._currencies = currencies()
        self._date_format = mapping.date_format
        self._plain: dict[str, tuple[re.Pattern[str], Decimal]] = {}
        self.seen = SeenRefs()

    def _plain_amount(self, currency: str) -> tuple[re.Pattern[str], Decimal]:
        """What an amount that needs no further check looks like in ``currency`` (digits,
        at most its decimals, under 10^16), and the exponent it is stored with; any other
        text goes through ``check_amount`` for its verdict and its reason."""
        plain = self._plain.get(currency)
        if plain is None:
            digits = minor_digits(currency)
            decimals = rf"(?:\.[0-9]{{1,{digits}}})?" if digits else ""
            plain = (re.compile(rf"[0-9]{{1,16}}{decimals}"), Decimal(1).scaleb(-digits))
            self._plain[currency] = plain
        return plain

    def check(self, number: int, fields: list[str]) -> tuple[Any, ...] | list[RowError]:
        if len(fields) != self.width:
            return [
                RowError(
                    number,
                    "",
                    f"the row has {len(fields)} fields where the header has {self.width}",
                )
            ]
        errors: list[RowError] = []
        values: dict[str, Any] = {}
        columns = self.columns

        def fail(field: str, reason: str) -> None:
            errors.append(RowError(number, columns.get(field, field), reason))

        currency = read_cells(
            self.positions,
            fields,
            FIELDS,
            self.mapping.default_currency,
            values,
            fail,
            self._currencies,
        )
        amounts: dict[str, Decimal] = {}
        plain = self._plain_amount(currency) if currency is not None else None
        for field in ("principal", "interest", "fees"):
            text = values.get(field)
            if text is None:
                amounts[field] = _ZERO
                continue
            if plain is not None and plain[0].fullmatch(text):
                amounts[field] = Decimal(text).quantize(plain[1])
                continue
            if not is_plain_decimal(text):
                fail(field, f'{text[:40]!r} is not a plain decimal number such as "1200.50"')
                continue
            if currency is None:
                continue
            try:
                amounts[field] = check_amount(Decimal(text), currency, field=field)
            except InvalidInput as exc:
                fail(field, str(exc.detail))
        due: dt.date | None = None
        if values.get("due_date") is not None:
            try:
                due = read_date(values["due_date"], self._date_format)
            except ValueError as exc:
                fail("due_date", date_refused(values["due_date"], self._date_format, exc))
        for field, check in (
            ("email", check_email),
            ("phone", check_phone),
            ("time_zone", check_time_zone),
        ):
            if values.get(field) is not None:
                try:
                    values[field] = check(values[field], field=field)
                except InvalidInput as exc:
                    fail(field, str(exc.detail))
        country = values.get("country")
        if country is not None:
            country = country.upper()
            if len(country) != 2 or not country.isascii() or not country.isalpha():
                fail("country", f"{country!r} is not a two-letter country code")
        customs: dict[str, dict[str, Any]] = {"account": {}, "debtor": {}}
        for field, (entity, key, definition) in self.custom.items():
            text = values.get(field)
            if text is None:
                continue  # a blank cell leaves the stored value as it is
            region = country if entity == "debtor" else None
            try:
                customs[entity][key] = from_text(definition, text, path=field, region=region)
            except InvalidInput as exc:
                fail(field, str(exc.detail))
        ref = values.get("account_ref")
        # Only a row that is otherwise good claims its reference (short-circuit: an added
        # hash is a row that is written).
        if ref is not None and not errors and not self.seen.add(hash(ref)):
            fail("account_ref", f"account {ref!r} appears more than once in the file")
        if errors:
            return errors
        if self.computed:
            self._compute(customs, values, ref, currency, amounts, due, country)
        return (
            number,
            ref,
            values.get("debtor_ref"),
            values.get("first_name"),
            values.get("last_name"),
            values.get("email"),
            values.get("phone"),
            values.get("address_line1"),
            values.get("city"),
            values.get("postal_code"),
            country,
            values.get("time_zone"),
            values.get("creditor"),
            currency,
            amounts["principal"],
            amounts["interest"],
            amounts["fees"],
            due,
            customs["account"] or None,
            customs["debtor"] or None,
        )

    def _compute(
        self,
        customs: dict[str, dict[str, Any]],
        values: dict[str, Any],
        ref: str | None,
        currency: str | None,
        amounts: dict[str, Decimal],
        due: dt.date | None,
        country: str | None,
    ) -> None:
        if fields := self.computed.get("account"):
            account = {
                "external_ref": ref,
                "creditor": values.get("creditor"),
                "currency": currency,
                "due_date": due,
                **amounts,
            }
            customs["account"] = with_computed(fields, "account", account, customs["account"])
        if fields := self.computed.get("debtor"):
            debtor = {
                name: values.get(name)
                for name in ("first_name", "last_name", "email", "phone", "city", "time_zone")
            }
            debtor |= {"external_ref": values.get("debtor_ref"), "country": country}
            customs["debtor"] = with_computed(fields, "debtor", debtor, customs["debtor"])
