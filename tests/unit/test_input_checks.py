"""What every input must be before it reaches PostgreSQL: integers a bigint holds, no NUL
characters, and JSON of modest depth; checked for every route, not route by route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec.inspect as mi
import pytest

from config.settings import settings_from_env
from domain.errors import InvalidInput
from domain.validation import INT64_MAX, INT64_MIN, MAX_JSON_DEPTH, check_custom, check_json
from server.app import create_app


def handlers() -> Iterator[tuple[str, Any]]:
    # Logging as the rest of the suite has it (create_app configures it).
    app = create_app(settings_from_env({"LOG_LEVEL": "WARNING", "LOG_JSON": "true"}))
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            yield route.path, handler


def is_int(annotation: Any) -> bool:
    return annotation is int or (
        getattr(annotation, "__args__", None) is not None and int in annotation.__args__
    )


def bounded(ge: int | None, le: int | None) -> bool:
    return ge is not None and le is not None and ge >= INT64_MIN and le <= INT64_MAX


def unbounded_ints(t: mi.Type, path: str, seen: set[type]) -> Iterator[str]:
    """Every integer inside a body type that a bigint might not hold."""
    if isinstance(t, mi.IntType):
        if not bounded(t.ge, t.le):
            yield path
    elif isinstance(t, mi.Metadata):
        yield from unbounded_ints(t.type, path, seen)
    elif isinstance(t, mi.StructType):
        if t.cls in seen:
            return
        seen.add(t.cls)
        for field in t.fields:
            yield from unbounded_ints(field.type, f"{path}.{field.encode_name}", seen)
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            yield from unbounded_ints(member, path, seen)
    elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        yield from unbounded_ints(t.item_type, f"{path}[]", seen)
    elif isinstance(t, mi.TupleType):
        for item in t.item_types:
            yield from unbounded_ints(item, f"{path}[]", seen)
    elif isinstance(t, mi.DictType):
        yield from unbounded_ints(t.value_type, f"{path}.*", seen)


def test_every_integer_parameter_of_every_route_is_bounded_to_int64() -> None:
    loose = []
    for path, handler in handlers():
        for name, field in handler.parsed_fn_signature.parameters.items():
            if name == "data" or not is_int(field.annotation):
                continue
            kwarg = field.kwarg_definition
            if not bounded(getattr(kwarg, "ge", None), getattr(kwarg, "le", None)):
                loose.append(f"{path} {name}")
    assert not loose, f"integer parameters without int64 bounds: {loose}"


def test_every_integer_in_every_request_body_is_bounded_to_int64() -> None:
    loose = []
    for path, handler in handlers():
        if handler.parsed_data_field is None:
            continue
        body = mi.type_info(handler.parsed_data_field.annotation)
        loose += [f"{path} {where}" for where in unbounded_ints(body, "$", set())]
    assert not loose, f"integers in bodies without int64 bounds: {sorted(set(loose))}"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("a\x00", "body"),
        ({"name": "a\x00b"}, "name"),
        ({"debtor": {"first_name": "\x00"}}, "debtor.first_name"),
        ({"tags": ["ok", "no\x00"]}, "tags[1]"),
        ({"custom": {"bad\x00key": 1}}, "custom"),
        ([{"x": [[{"y": "\x00"}]]}], "[0].x[0][0].y"),
    ],
)
def test_a_nul_character_anywhere_is_refused_naming_where(value: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_json(value)
    assert refused.value.field == field


def test_plain_json_passes() -> None:
    check_json({"a": [1, 2.5, None, True, "text \u00e9 \u0661"], "b": {"c": {}}})


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_nesting_is_bounded_naming_where_it_went_too_deep() -> None:
    check_json(nested(MAX_JSON_DEPTH))
    with pytest.raises(InvalidInput) as refused:
        check_json({"x": nested(MAX_JSON_DEPTH)})
    assert refused.value.field == "x" + "[0]" * (MAX_JSON_DEPTH - 1)
    # Far deeper than the interpreter's recursion limit: still an answer, not a crash.
    with pytest.raises(InvalidInput):
        check_json(nested(100_000))


def test_custom_fields_nest_a_few_levels_only() -> None:
    check_custom({"a": {"b": {"c": [1, 2]}}})
    with pytest.raises(InvalidInput) as refused:
        check_custom({"a": nested(20)})
    assert refused.value.field is not None
    assert refused.value.field.startswith("custom.a")
    with pytest.raises(InvalidInput) as nul:
        check_custom({"a": "\x00"})
    assert nul.value.field == "custom.a"


def test_int64_bounds_are_postgres_bigint() -> None:
    assert INT64_MAX == 2**63 - 1
    assert INT64_MIN == -(2**63)
