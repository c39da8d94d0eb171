"""Custom field values: each checked and normalised against its definition, computed ones
evaluated over their record.

What a type holds, as JSON: ``string`` text (at most 1000 characters), ``number`` a JSON
number, ``boolean`` true or false, ``date`` ``YYYY-MM-DD``, ``email`` an address, ``phone``
E.164 (``+12125550123``; typed numbers are normalised with ``phonenumbers``, those without
a ``+`` read in the debtor's country), ``url`` an http(s) address, ``json`` anything,
``select`` one of the options, ``multi_select`` a list of distinct options, ``computed`` what
its CEL expression gives (never written by a caller). ``null`` clears any field. The same
rules are written in SQL in ``queries.SATISFIES``, which counts the stored values a changed
definition would refuse; the two must agree.

A tenant that has defined no field for an entity keeps a free-form ``custom`` object there.
Once it has, a key without a definition is refused when it is added or changed (a value
stored before, sent back unchanged, is kept), and so is a computed one.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import msgspec

from domain.custom_fields.schemas import CustomField
from domain.errors import InvalidInput
from domain.validation import check_email, check_json, phone_e164
from domain.workflows.conditions import EVALUATION_ERRORS, compiled, minor_units

MAX_TEXT = 1000
# A number field holds magnitudes under 10^15: every such integer is exact in JSON, and a
# figure typed or imported is refused before it is expanded (``1e300000`` would be a
# 300,000-digit integer).
MAX_NUMBER_DIGITS = 15
_NUMBER_LIMIT = 10**MAX_NUMBER_DIGITS
URL = re.compile(r"^https?://[^\s/?#@]+(?:[/?#]\S*)?$", re.IGNORECASE)
MAX_URL = 2000
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TRUE = ("true", "yes", "1", "y")
_FALSE = ("false", "no", "0", "n")


def check_value(field: CustomField, value: Any, *, path: str, region: str | None = None) -> Any:
    """``value`` as ``field`` stores it, or a 422 naming ``path``."""
    if value is None:
        return None
    kind = field.type

    def refuse(what: str) -> InvalidInput:
        shown = repr(value) if not isinstance(value, (dict, list)) else "the value"
        return InvalidInput(f"{path}: {shown[:60]} is not {what}", field=path)

    if kind == "string":
        if not isinstance(value, str):
            raise refuse("text")
        if len(value) > MAX_TEXT:
            raise InvalidInput(f"{path} is longer than {MAX_TEXT} characters", field=path)
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise refuse("a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise refuse("a finite number")
        if abs(value) >= _NUMBER_LIMIT:
            raise refuse(f"a number of at most {MAX_NUMBER_DIGITS} digits before the point")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise refuse("true or false")
        return value
    if kind == "date":
        if not isinstance(value, str) or not DATE.match(value):
            raise refuse("a date (YYYY-MM-DD)")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise refuse("a date (YYYY-MM-DD)") from None
        return value
    if kind == "email":
        if not isinstance(value, str):
            raise refuse("an e-mail address")
        try:
            return check_email(value, field=path)
        except InvalidInput:
            raise refuse("an e-mail address") from None
    if kind == "phone":
        if not isinstance(value, str):
            raise refuse("a phone number")
        try:
            return phone_e164(value, region, field=path)
        except InvalidInput:
            raise refuse("a valid phone number") from None
    if kind == "url":
        if not isinstance(value, str) or len(value) > MAX_URL or not URL.match(value.strip()):
            raise refuse("an http or https URL")
        return value.strip()
    if kind == "json":
        return value
    if kind == "select":
        if not isinstance(value, str) or value not in field.options:
            raise InvalidInput(
                f"{path}: {str(value)[:60]!r} is not one of {', '.join(field.options)}",
                field=path,
            )
        return value
    if kind == "multi_select":
        if not isinstance(value, list):
            raise refuse("a list of options")
        for item in value:
            if not isinstance(item, str) or item not in field.options:
                raise InvalidInput(
                    f"{path}: {str(item)[:60]!r} is not one of {', '.join(field.options)}",
                    field=path,
                )
        if len(set(value)) != len(value):
            raise InvalidInput(f"{path} names an option more than once", field=path)
        return value
    raise InvalidInput(f"{path} is computed and cannot be written", field=path)


def from_text(field: CustomField, text: str, *, path: str, region: str | None = None) -> Any:
    """A CSV cell as ``field`` stores it: numbers, booleans (true/false, yes/no, 1/0), lists
    (``a,b`` or a JSON array) and JSON read from their text, then checked as over the API."""
    kind = field.type
    value: Any = text
    if kind == "number":
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise InvalidInput(f"{text[:40]!r} is not a number", field=path) from None
        if not number.is_finite():
            raise InvalidInput(f"{text[:40]!r} is not a number", field=path)
        if number and number.adjusted() >= MAX_NUMBER_DIGITS:
            raise InvalidInput(
                f"{text[:40]!r} is not a number of at most {MAX_NUMBER_DIGITS} digits "
                "before the point",
                field=path,
            )
        if number == number.to_integral_value():
            value = int(number)
        else:
            # JSON keeps a fraction as a double: one it cannot hold as written is refused,
            # never stored rounded.
            value = float(number)
            if Decimal(repr(value)) != number:
                raise InvalidInput(
                    f"{text[:40]!r} has more digits than a number field keeps (15 significant)",
                    field=path,
                )
    elif kind == "boolean":
        lowered = text.lower()
        if lowered not in _TRUE + _FALSE:
            raise InvalidInput(f"{text[:40]!r} is not true or false", field=path)
        value = lowered in _TRUE
    elif kind == "multi_select":
        if text.startswith("["):
            value = _json(text, path)
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    elif kind == "json":
        value = _json(text, path)
    try:
        return check_value(field, value, path=path, region=region)
    except InvalidInput as exc:
        # The row's error names the column already: the reason need not repeat the path.
        raise InvalidInput(exc.detail.removeprefix(f"{path}: "), field=path) from None


def _json(text: str, path: str) -> Any:
    """A cell's JSON, held to what the API holds a body to (no NUL, not too deep)."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        raise InvalidInput(f"{text[:40]!r} is not JSON", field=path) from None
    check_json(value, field=path)
    return value


def merged(stored: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
    """An edit's ``custom`` object over the stored one, as a JSON merge patch (RFC 7396) one
    level deep: each key sent is set, a key sent as null removed, a key not sent kept, so
    that a client changing one field cannot wipe the others it did not know of."""
    out = dict(stored)
    for key, value in sent.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def check_values(
    fields: Sequence[CustomField],
    custom: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    *,
    field: str = "custom",
    region: str | None = None,
) -> dict[str, Any]:
    """A record's ``custom`` object as written: each defined value checked and normalised;
    a key without a definition, or a computed one, refused unless unchanged from ``before``."""
    if not fields:
        return dict(custom)
    by_key = {f.key: f for f in fields}
    out: dict[str, Any] = {}
    for key, value in custom.items():
        path = f"{field}.{key}"
        unchanged = before is not None and key in before and before[key] == value
        definition = by_key.get(key)
        if definition is None:
            if not unchanged:
                known = ", ".join(sorted(by_key))
                raise InvalidInput(
                    f"{path} is not a custom field of this tenant (the fields are {known})",
                    field=path,
                )
            out[key] = value
        elif definition.type == "computed":
            if not unchanged and value is not None:
                raise InvalidInput(
                    f"{path} is computed from {definition.expression!r} and cannot be written",
                    field=path,
                )
        else:
            out[key] = check_value(definition, value, path=path, region=region)
    return out


def with_computed(
    fields: Sequence[CustomField], entity: str, record: Mapping[str, Any], custom: dict[str, Any]
) -> dict[str, Any]:
    """``custom`` with every computed field of ``entity`` evaluated over ``record`` (its
    own columns) and ``custom``; an expression that fails on this record gives null."""
    computed = [f for f in fields if f.type == "computed"]
    if not computed:
        return custom
    out = dict(custom)
    variables = record_variables(entity, record, custom)
    # Handing CEL a value costs by its size: only the fields the expressions read.
    used = _used_fields(entity, tuple(f.expression or "" for f in computed))
    if used is not None:
        variables = {name: variables[name] for name in used if name in variables}
    for definition in computed:
        out[definition.key] = evaluate(definition.expression or "", {entity: variables})
    return out


@lru_cache(maxsize=256)
def _used_fields(entity: str, expressions: tuple[str, ...]) -> frozenset[str] | None:
    """The fields of ``entity`` the expressions read as ``entity.field``; None when one
    reads it another way (``entity["x"]``, or the whole of it)."""
    used: set[str] = set()
    for expression in expressions:
        mentions = len(re.findall(rf"\b{entity}\b", expression))
        fields = re.findall(rf"\b{entity}\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)", expression)
        if len(fields) != mentions:
            return None
        used.update(fields)
    return frozenset(used)


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    """What a computed field's expression gives (null when it cannot be evaluated)."""
    try:
        result = compiled(expression).execute(dict(variables))
    except EVALUATION_ERRORS:
        return None
    return _stored(result)


def _stored(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [_stored(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _stored(v) for k, v in value.items()}
    return value


_ACCOUNT_MONEY = ("principal", "interest", "fees")


def record_variables(
    entity: str, record: Mapping[str, Any], custom: Mapping[str, Any]
) -> dict[str, Any]:
    """What a computed field sees of its record: the stored columns (money in minor units,
    as conditions see it), not what depends on the day (days past due)."""
    if entity == "account":
        from domain.money import minor_digits

        digits = minor_digits(record["currency"])
        out: dict[str, Any] = {
            "external_ref": record.get("external_ref"),
            "creditor": record.get("creditor") or "",
            "currency": record["currency"],
            "status": record.get("status") or "active",
            "due_date": _iso(record.get("due_date")),
            "custom": dict(custom),
        }
        total = Decimal(0)
        for name in _ACCOUNT_MONEY:
            amount = Decimal(record.get(name) or 0)
            total += amount
            out[f"{name}_minor"] = minor_units(amount, digits)
        out["balance_minor"] = minor_units(total, digits)
        return out
    return {
        "external_ref": record.get("external_ref"),
        "first_name": record.get("first_name") or "",
        "last_name": record.get("last_name") or "",
        "email": record.get("email"),
        "phone": record.get("phone"),
        "city": record.get("city"),
        "country": record.get("country"),
        "time_zone": record.get("time_zone") or "UTC",
        "custom": dict(custom),
    }


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value
