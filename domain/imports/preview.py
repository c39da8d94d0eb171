"""The first rows of a file as an import would read them: the domain's own reader and row
checks, so a preview shows the values as they would be stored and the reasons a row would
be refused, without writing anything."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec

from domain.custom_fields.schemas import CustomField
from domain.imports.mapping import Mapping
from domain.imports.payment_rows import PAYMENT_STAGE_COLUMNS, PaymentRowChecker
from domain.imports.reader import read_rows
from domain.imports.rows import STAGE_COLUMNS, RowChecker
from domain.imports.schemas import Rejection

PREVIEW_ROWS = 20


class PreviewRow(msgspec.Struct, kw_only=True):
    row: int
    # Field -> the value as it would be stored (amounts and dates as text), or null.
    values: dict[str, str | None]
    errors: list[Rejection]


class Preview(msgspec.Struct, kw_only=True):
    header: list[str]
    # Fields whose column the file's header does not have: the import itself would fail.
    missing: dict[str, str]
    rows: list[PreviewRow]


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bool, list, dict)):
        return msgspec.json.encode(value).decode()
    return str(value)


def preview_file(
    path: Path,
    mapping: Mapping,
    *,
    rows: int = PREVIEW_ROWS,
    kind: str = "accounts",
    custom_fields: dict[str, CustomField] | None = None,
) -> Preview:
    """Read the header and at most ``rows`` data rows of ``path`` and check each one.
    Raises ``FileRefused`` when the start of the file cannot be read as CSV."""
    header: list[str] = []
    found: list[PreviewRow] = []
    checker: RowChecker | PaymentRowChecker | None = None
    stage_columns = PAYMENT_STAGE_COLUMNS if kind == "payments" else STAGE_COLUMNS
    missing: dict[str, str] = {}
    for number, fields in read_rows(path, encoding=mapping.encoding, delimiter=mapping.delimiter):
        if number == 1:
            header = [h.strip() for h in fields]
            at = {name: i for i, name in reversed(list(enumerate(header)))}
            missing = {f: c for f, c in mapping.columns.items() if c not in at}
            positions = {f: at[c] for f, c in mapping.columns.items() if c in at}
            checker = (
                PaymentRowChecker(mapping, positions, header)
                if kind == "payments"
                else RowChecker(mapping, positions, header, custom_fields)
            )
            continue
        assert checker is not None
        result = checker.check(number, fields)
        if isinstance(result, list):
            errors = [Rejection(e.row, e.column, e.reason) for e in result]
            shown = {
                f: (fields[i].strip() or None) if i < len(fields) else None
                for f, i in checker.positions.items()
            }
        else:
            errors = []
            stored = dict(zip(stage_columns, result, strict=True))
            shown = {
                f: _text(stored[f])
                for f in stage_columns[1:]
                if f in checker.positions or f == "currency"
            }
            for f, (entity, key, _) in getattr(checker, "custom", {}).items():
                held = stored["custom" if entity == "account" else "debtor_custom"] or {}
                shown[f] = _text(held.get(key))
        found.append(PreviewRow(row=number, values=shown, errors=errors))
        if len(found) >= rows:
            break
    return Preview(header=header, missing=missing, rows=found)
