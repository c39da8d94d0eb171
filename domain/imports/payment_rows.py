"""Checking each row of a file of payments: a record ready to COPY, or its errors.

What one row can tell alone is checked here, by the API's own rules for a payment taken
outside the checkout (``domain.money``: an ISO currency, an amount greater than zero in
that currency's decimals; a method Recoup knows; a date in the mapping's format, not in
the future; each payment reference once in the file). What needs the database (the
account exists, is in that currency, and has room for the payment unless the tenant holds
overpayments as credit) is checked by the batch's merge (``payment_queries``), row by row
in one statement.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, get_args

from domain.errors import InvalidInput
from domain.imports.mapping import PAYMENT_FIELDS, Mapping, date_refused, read_date
from domain.imports.rows import RowError, SeenRefs, read_cells
from domain.money import check_amount, currencies, is_plain_decimal
from domain.payments.schemas import MAX_BACKDATE, Method

# The staging table's columns, in the order of each record (row number first).
PAYMENT_STAGE_COLUMNS: tuple[str, ...] = (
    "row_number",
    "account_ref",
    "payment_ref",
    "amount",
    "currency",
    "paid_on",
    "method",
)
METHODS: tuple[str, ...] = get_args(Method)
# A row without a method: money that came in by a way the file does not say.
DEFAULT_METHOD = "other"


class PaymentRowChecker:
    """Turns the fields of one row into a staging record, or says what is wrong with it."""

    def __init__(
        self,
        mapping: Mapping,
        positions: dict[str, int],
        header: list[str],
        today: dt.date | None = None,
    ) -> None:
        self.mapping = mapping
        self.positions = positions
        self.width = len(header)
        self.columns = {f: header[i] for f, i in positions.items()}
        self._currencies = currencies()
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.seen = SeenRefs()

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
        values: dict[str, str | None] = {}
        columns = self.columns

        def fail(field: str, reason: str) -> None:
            errors.append(RowError(number, columns.get(field, field), reason))

        currency = read_cells(
            self.positions,
            fields,
            PAYMENT_FIELDS,
            self.mapping.default_currency,
            values,
            fail,
            self._currencies,
        )
        amount: Decimal | None = None
        text = values.get("amount")
        if text is not None:
            if not is_plain_decimal(text):
                fail("amount", f'{text[:40]!r} is not a plain decimal number such as "120.50"')
            elif currency is not None:
                try:
                    amount = check_amount(Decimal(text), currency, field="amount", positive=True)
                except InvalidInput as exc:
                    fail("amount", str(exc.detail))
        paid_on: dt.date | None = None
        if values.get("paid_on") is not None:
            written = values["paid_on"]
            try:
                paid_on = read_date(written, self.mapping.date_format)  # type: ignore[arg-type]
            except ValueError as exc:
                fail("paid_on", date_refused(written, self.mapping.date_format, exc))  # type: ignore[arg-type]
            else:
                if paid_on > self.today:
                    fail("paid_on", f"{paid_on.isoformat()} is in the future")
                elif paid_on < self.today - MAX_BACKDATE:
                    fail("paid_on", f"{paid_on.isoformat()} is more than ten years ago")
        method = values.get("method")
        if method is not None:
            method = method.lower().replace(" ", "_")
            if method not in METHODS:
                fail("method", f"{values['method']!r} is not one of {', '.join(METHODS)}")
        ref = values.get("payment_ref")
        if ref is not None and not errors and not self.seen.add(hash(ref)):
            fail("payment_ref", f"payment {ref!r} appears more than once in the file")
        if errors:
            return errors
        return (
            number,
            values.get("account_ref"),
            ref,
            amount,
            currency,
            paid_on,
            method or DEFAULT_METHOD,
        )
