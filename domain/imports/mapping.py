"""Column mappings: which CSV column feeds which field, and how its values are written.

A mapping is saved per tenant under a name (a preset) and copied onto each import, so an
import keeps the mapping it ran with whatever happens to the preset later.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Final, Literal

import msgspec

from domain.custom_fields.schemas import CustomField, custom_path
from domain.errors import InvalidInput
from domain.money import check_currency
from domain.validation import FIRST_DAY, LAST_DAY

Kind = Literal["accounts", "payments"]
KINDS: Final = ("accounts", "payments")

# Field -> (required, longest value). Money and dates are checked by type, not length.
FIELDS: Final[dict[str, tuple[bool, int]]] = {
    "account_ref": (True, 100),
    "debtor_ref": (True, 100),
    "first_name": (False, 100),
    "last_name": (False, 100),
    "email": (False, 254),
    "phone": (False, 32),
    "address_line1": (False, 200),
    "city": (False, 100),
    "postal_code": (False, 20),
    "country": (False, 2),
    "time_zone": (False, 64),
    "creditor": (False, 200),
    "currency": (True, 3),
    "principal": (True, 40),
    "interest": (False, 40),
    "fees": (False, 40),
    "due_date": (False, 40),
}
# The fields of a file of payments: each row one payment, on the account of that reference,
# recorded once by its own reference (``payment_ref``).
PAYMENT_FIELDS: Final[dict[str, tuple[bool, int]]] = {
    "account_ref": (True, 100),
    "payment_ref": (True, 120),
    "amount": (True, 40),
    "currency": (True, 3),
    "paid_on": (False, 40),
    "method": (False, 20),
}
DEBTOR_FIELDS: Final = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_line1",
    "city",
    "postal_code",
    "country",
    "time_zone",
)
ACCOUNT_FIELDS: Final = ("creditor", "currency", "principal", "interest", "fees", "due_date")
CUSTOM_LONGEST: Final = 16 * 1024
DATE_FORMATS: Final = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Column = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class Mapping(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How the columns of one client's files become debtors and accounts."""

    columns: dict[str, Column]
    date_format: Literal["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d"] = "%Y-%m-%d"
    default_currency: str | None = None
    encoding: Literal["utf-8", "latin-1", "cp1252"] = "utf-8"
    delimiter: Literal[",", ";", "\t", "|"] = ","


class MappingPreset(msgspec.Struct, kw_only=True):
    id: int
    name: str
    kind: Kind
    mapping: Mapping
    created_at: dt.datetime
    updated_at: dt.datetime


class MappingPresetCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    mapping: Mapping
    kind: Kind = "accounts"


class MappingPresetUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    mapping: Mapping | msgspec.UnsetType = msgspec.UNSET


def date_written(date_format: str) -> str:
    """A mapping's date format as people read it: ``2026-01-31 (%Y-%m-%d)``."""
    return f"{dt.date(2026, 1, 31).strftime(date_format)} ({date_format})"


class DayOutOfRange(ValueError):
    """A date outside the days the API takes (``validation.FIRST_DAY``..``LAST_DAY``)."""


def read_date(text: str, date_format: str) -> dt.date:
    """A cell's date in the mapping's format; ``ValueError`` when it is not one. A format
    without separators takes exactly its digits (``2026111`` is no date: it could be the
    1st of November or the 11th of January); every date lies in the days the API takes."""
    if date_format == "%Y-%m-%d":
        if len(text) != 10:
            raise ValueError(text)
        day = dt.date.fromisoformat(text)
    elif date_format == "%Y%m%d":
        if len(text) != 8 or not text.isascii() or not text.isdigit():
            raise ValueError(text)
        day = dt.datetime.strptime(text, date_format).date()  # noqa: DTZ007 (a date)
    else:
        day = dt.datetime.strptime(text, date_format).date()  # noqa: DTZ007 (a date)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DayOutOfRange(text)
    return day


def date_refused(text: str, date_format: str, exc: ValueError) -> str:
    """Why a cell is not a date: the days a date may name, or the form it is written in."""
    if isinstance(exc, DayOutOfRange):
        return (
            f"{text[:40]!r} is outside the days a date may name "
            f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})"
        )
    return f"{text[:40]!r} is not a date written as {date_written(date_format)}"


def fields_of(kind: str) -> dict[str, tuple[bool, int]]:
    return PAYMENT_FIELDS if kind == "payments" else FIELDS


def check_mapping(mapping: Mapping, kind: str = "accounts") -> Mapping:
    """Refuse a mapping that names unknown fields or leaves a required one unfed."""
    fields = fields_of(kind)
    for field in mapping.columns:
        # A custom field (``custom.<key>``, ``debtor.custom.<key>``) of accounts and
        # debtors: whether the tenant defines it is the service's check.
        custom = kind != "payments" and custom_path(field) is not None
        if field not in fields and not custom:
            also = ", custom.<key> and debtor.custom.<key>" if kind != "payments" else ""
            raise InvalidInput(
                f"unknown field {field!r}; the fields of {kind} are {', '.join(fields)}{also}",
                field=f"mapping.columns.{field}",
            )
    if mapping.default_currency is not None:
        check_currency(mapping.default_currency, field="mapping.default_currency")
    for field, (required, _) in fields.items():
        if not required or field in mapping.columns:
            continue
        if field == "currency" and mapping.default_currency is not None:
            continue
        raise InvalidInput(
            f"the mapping must say which column holds {field}", field=f"mapping.columns.{field}"
        )
    taken: dict[str, str] = {}
    for field, column in mapping.columns.items():
        if column in taken:
            raise InvalidInput(
                f"column {column!r} feeds both {taken[column]} and {field}",
                field=f"mapping.columns.{field}",
            )
        taken[column] = field
    return mapping


def custom_columns(mapping: Mapping) -> dict[str, tuple[str, str]]:
    """The mapped custom fields: mapping field -> (entity, key)."""
    return {f: path for f in mapping.columns if (path := custom_path(f)) is not None}


def custom_definitions(
    mapping: Mapping, fields: dict[str, list[CustomField]]
) -> dict[str, CustomField]:
    """The definition of each custom field the mapping feeds (``fields``: the tenant's, by
    entity); refused when the tenant defines no such field, or it is computed."""
    found: dict[str, CustomField] = {}
    for field, (entity, key) in custom_columns(mapping).items():
        definition = next((f for f in fields.get(entity, ()) if f.key == key), None)
        if definition is None:
            raise InvalidInput(
                f"{field}: the {entity}s of this tenant have no custom field {key!r}",
                field=f"mapping.columns.{field}",
            )
        if definition.type == "computed":
            raise InvalidInput(
                f"{field} is computed and cannot be imported", field=f"mapping.columns.{field}"
            )
        found[field] = definition
    return found


def check_header(mapping: Mapping, header: list[str]) -> dict[str, int]:
    """Where each mapped field is in the file's header (a refused file names the missing)."""
    from domain.imports.reader import FileRefused

    positions = {name: i for i, name in reversed(list(enumerate(header)))}
    missing = [c for c in mapping.columns.values() if c not in positions]
    if missing:
        raise FileRefused(
            "the header has no column "
            + ", ".join(repr(c) for c in missing)
            + f" (it has {', '.join(repr(h) for h in header[:20])})"
        )
    twice = sorted({c for c in mapping.columns.values() if header.count(c) > 1})
    if twice:
        raise FileRefused(
            "the header names "
            + ", ".join(repr(c) for c in twice)
            + " more than once: which of them the mapping means cannot be told"
        )
    return {field: positions[column] for field, column in mapping.columns.items()}
