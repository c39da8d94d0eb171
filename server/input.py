"""What every request must be before a handler sees it, whatever the route.

msgspec checks a body against its schema, integers included (``domain.validation.Int64``),
but not what no schema says: PostgreSQL text cannot hold NUL, JSON may nest too deep to
decode or to store, msgspec reads a ``Decimal`` from ``"1e3"``, ``"1_000"``, ``" 5 "`` or
Arabic-Indic digits, and a time such as ``0001-01-01T00:00+14:00`` falls before year 1 in
UTC, and a date on the first or last day Python knows is written as infinity.
``RecoupRequest`` refuses those in JSON bodies (dates outside ``validation.FIRST_DAY`` ..
``LAST_DAY``), and ``refuse_nul_parameters`` NUL in
query strings and paths; each answer names the field.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import msgspec
import msgspec.inspect as mi
from litestar import Request
from litestar.exceptions import SerializationException

from domain.errors import InvalidInput, UnsupportedMediaType
from domain.money import parse_decimal
from domain.validation import check_day, check_json, json_path


def _check_time(text: str, path: str) -> None:
    try:
        moment = msgspec.convert(text, dt.datetime)
    except msgspec.ValidationError:
        return  # msgspec says what is wrong with it
    try:
        moment.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidInput(f"{path} is outside the years 1 to 9999 in UTC", field=path) from None


def _check_day(text: str, path: str) -> None:
    try:
        day = msgspec.convert(text, dt.date)
    except msgspec.ValidationError:
        return  # msgspec says what is wrong with it
    check_day(day, field=path)


def _fits(value: Any, t: mi.Type) -> bool:
    """Whether ``value`` is of the JSON kind ``t`` names (Litestar converts request bodies
    leniently: ``"12"`` to 12, ``0`` to false); types that say no kind fit anything."""
    if isinstance(t, mi.Metadata):
        return _fits(value, t.type)
    if isinstance(t, mi.BoolType):
        return isinstance(value, bool)
    if isinstance(t, mi.IntType):  # 12.0 is an integer to JSON Schema as well
        return not isinstance(value, bool) and (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        )
    if isinstance(t, mi.FloatType):
        return not isinstance(value, bool) and isinstance(value, (int, float))
    if isinstance(t, mi.NoneType):
        return value is None
    if isinstance(t, mi.UnionType):
        return any(_fits(value, member) for member in t.types)
    return True


def _check_values(value: Any, t: mi.Type, path: str) -> None:
    """Every value of the body type ``t`` is of its kind (a number for a number, true or
    false for a flag), every ``Decimal`` arrived as a plain decimal string, every time is
    one PostgreSQL can store."""
    if not _fits(value, t):
        where = path or "body"
        raise InvalidInput(f"{where} is of the wrong type for this field", field=where)
    if isinstance(t, mi.Metadata):
        _check_values(value, t.type, path)
    elif isinstance(t, mi.DateTimeType):
        if isinstance(value, str):
            _check_time(value, path or "body")
    elif isinstance(t, mi.DateType):
        if isinstance(value, str):
            _check_day(value, path or "body")
    elif isinstance(t, mi.DecimalType):
        if isinstance(value, str):
            parse_decimal(value, field=path or "body")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            raise InvalidInput(
                f'{path or "the body"} must be a decimal string, such as "12.50"',
                field=path or "body",
            )
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            if _fits(value, member):
                _check_values(value, member, path)
    elif isinstance(t, mi.StructType) and isinstance(value, dict):
        for field in t.fields:
            if field.encode_name in value:
                _check_values(
                    value[field.encode_name], field.type, json_path(path, field.encode_name)
                )
    elif isinstance(t, mi.DictType) and isinstance(value, dict):
        for key, item in value.items():
            _check_values(item, t.value_type, json_path(path, key))
    elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        if isinstance(value, list):
            for n, item in enumerate(value):
                _check_values(item, t.item_type, json_path(path, n))
    elif isinstance(t, mi.TupleType) and isinstance(value, list):
        for n, (item, item_type) in enumerate(zip(value, t.item_types, strict=False)):
            _check_values(item, item_type, json_path(path, n))


@lru_cache(maxsize=256)
def _body_type(annotation: Any) -> mi.Type:
    return mi.type_info(annotation)


def _is_json(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


class RecoupRequest(Request[Any, Any, Any]):
    """A request whose JSON body is refused when PostgreSQL could not take it as meant, or
    when it does not say it is JSON (a form or text a page on another site could send)."""

    async def json(self) -> Any:
        content_type = self.headers.get("content-type", "")
        if not _is_json(content_type) and (await self.body()).strip():
            said = content_type.partition(";")[0].strip() or "no Content-Type"
            raise UnsupportedMediaType(
                f"send the body as JSON with Content-Type: application/json (it was {said})"
            )
        try:
            value = await super().json()
        except RecursionError:
            raise SerializationException("JSON nests too deeply") from None
        check_json(value)
        data = self.route_handler.parsed_data_field
        if data is not None:
            _check_values(value, _body_type(data.annotation), "")
        return value


async def refuse_nul_parameters(request: Request[Any, Any, Any]) -> None:
    """Query strings and paths: PostgreSQL text cannot hold NUL (``%00``)."""
    scope = request.scope
    query = scope["query_string"]
    if b"%00" not in query and b"\x00" not in query and "\x00" not in scope["path"]:
        return  # the raw request holds no NUL: nothing to parse
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            raise InvalidInput(f"{name} must not contain NUL characters", field=name)
    for name, value in request.path_params.items():
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(f"{name} must not contain NUL characters", field=name)
