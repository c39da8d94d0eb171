"""The OpenAPI document, saying what the API really answers and really takes.

Litestar writes the paths and schemas from the handlers; ``finish`` completes that document
in one place, from the route table:

- every error is a ``Problem`` (``application/problem+json``, RFC 9457), and each operation
  lists the statuses its route can answer: 422 everywhere (any query string is checked),
  503 everywhere (the database or Redis out of reach, with ``Retry-After``),
  401 and 403 where a sign-in is needed (the route's rule decides), 404 where the path names
  something, 400 and 413 where a body is read, 409 for authenticated writes, and what a
  handler adds itself in ``opt["problems"]`` (429 for rate limits, 503, 410...);
- routes that skip authentication carry no security requirement (``bearer_optional``:
  a bearer token is taken but not needed);
- parameter bounds are written as declared: Litestar writes them as floats, which turns
  the int64 bounds into 2**63, and leaves out a bound of 0;
- no string may hold a NUL character (PostgreSQL text cannot), so every string says so;
- a day is one from 1900-01-01 to 2999-12-31 (``validation.FIRST_DAY``..``LAST_DAY``): its
  year is written as a pattern, which JSON Schema can state of a ``date`` string;
- every integer is an int64 (a bigint), and says so.

The schema plugins say what the types say: a struct that forbids unknown fields has
``additionalProperties: false``, and money is a plain decimal string.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Litestar, Request

# Litestar's own struct plugin, extended below; it exports no public name for it.
from litestar._openapi.schema_generation.plugins import StructSchemaPlugin
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import KwargDefinition, ParameterKwarg
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute

from domain.validation import INT64_MAX, INT64_MIN
from server.problems import PROBLEM_JSON, TITLES

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.typing import FieldDefinition

# What ``domain.money.parse_decimal`` and ``check_amount`` take, less the currency's own
# number of decimals: ASCII digits, an optional fraction, below 10**16, at most 40 characters.
MONEY_PATTERN = r"^0*[0-9]{1,16}(\.[0-9]+)?$"
MONEY_MAX_CHARS = 40
NO_NUL = "^[^\\u0000]*$"
DAY_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROBLEM_REF = "#/components/schemas/Problem"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document: what went wrong, and where.",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "pattern": "^urn:recoup:problem:[a-z0-9-]+$"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the path that was asked"},
        "request_id": {"type": "string", "description": "as in the X-Request-Id header"},
        "field": {"type": "string", "description": "the (first) field at fault"},
        "errors": {
            "type": "array",
            "description": "every field at fault",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "scope": {"type": "string", "description": "the scope an API key lacks (403)"},
        "retry_after": {
            "type": "integer",
            "description": "seconds, as in Retry-After (429, and 503 for an outage)",
        },
        "dependency": {
            "type": "string",
            "enum": ["database", "redis"],
            "description": "what is out of reach (503): the request can be sent again later",
        },
        "rule": {"type": "string", "description": "the contact rule that refuses (409)"},
        "rules": {"type": "array", "items": {"type": "string"}},
        "next_allowed_at": {"type": ["string", "null"], "format": "date-time"},
        "offending_rows": {
            "type": "integer",
            "minimum": 1,
            "description": "the records whose stored value a custom field change would not "
            "accept (409)",
        },
    },
}
_HEADERS = {
    401: {"WWW-Authenticate": "Bearer"},
    429: {"Retry-After": "seconds to wait"},
    503: {"Retry-After": "seconds to wait"},
}


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Structs as Litestar writes them, closed (``additionalProperties: false``) when the
    struct refuses unknown fields."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        info = msgspec.inspect.type_info(field_definition.type_)
        if not isinstance(info, msgspec.inspect.StructType):
            return schema
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        for field in info.fields:
            prop = (schema.properties or {}).get(field.encode_name)
            if isinstance(prop, Schema):
                for keyword, value in _zero_bounds(field.type).items():
                    if getattr(prop, keyword) is None:
                        setattr(prop, keyword, value)
                _extra_json_schema(prop, field.type)
        return schema


def _extra_json_schema(prop: Schema, t: msgspec.inspect.Type) -> None:
    """The ``enum`` and ``description`` a field's ``msgspec.Meta(extra_json_schema=...)``
    gives, on the field or on the items of a list (Litestar reads neither)."""
    if isinstance(t, msgspec.inspect.Metadata):
        extra = t.extra_json_schema or {}
        for keyword in ("enum", "description"):
            if keyword in extra:
                setattr(prop, keyword, extra[keyword])
        t = t.type
    if isinstance(t, msgspec.inspect.ListType) and isinstance(prop.items, Schema):
        _extra_json_schema(prop.items, t.item_type)


def _zero_bounds(t: msgspec.inspect.Type) -> dict[str, int]:
    """The bounds of 0 a number field declares (Litestar leaves those out)."""
    if isinstance(t, msgspec.inspect.Metadata):
        return _zero_bounds(t.type)
    if isinstance(t, msgspec.inspect.UnionType):
        return {k: v for member in t.types for k, v in _zero_bounds(member).items()}
    if not isinstance(t, (msgspec.inspect.IntType, msgspec.inspect.FloatType)):
        return {}
    names = {"ge": "minimum", "le": "maximum", "gt": "exclusive_minimum", "lt": "exclusive_maximum"}
    return {keyword: 0 for name, keyword in names.items() if getattr(t, name) == 0}


class MoneySchemaPlugin(OpenAPISchemaPlugin):
    """Every ``Decimal`` in the API is an amount of money, sent and received as a string."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is Decimal

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        return Schema(
            type=OpenAPIType.STRING,
            pattern=MONEY_PATTERN,
            max_length=MONEY_MAX_CHARS,
            description='an amount as a plain decimal string, such as "1200.50", with no '
            "more decimals than its currency has",
        )


class FinishedJsonRenderPlugin(JsonRenderPlugin):
    """``/schema/openapi.json``: Litestar's document, finished once per app."""

    def __init__(self) -> None:
        super().__init__()
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._rendered is None:
            self._rendered = self.render_json(request, finish(openapi_schema, request.app))
        return self._rendered


def document(app: Litestar) -> dict[str, Any]:
    """The finished document of ``app``, as ``/schema/openapi.json`` serves it."""
    return finish(app.openapi_schema.to_schema(), app)


def finish(document: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """A finished copy of Litestar's ``document`` for ``app`` (see the module docstring)."""
    document = copy.deepcopy(document)
    for schema in _schemas_of_type(document, "string"):
        _refuse_nul(schema)
        if schema.get("format") == "date":
            schema["pattern"] = DAY_PATTERN
    for schema in _schemas_of_type(document, "integer"):
        _int64(schema)
    components = document.setdefault("components", {})
    for component in components.setdefault("schemas", {}).values():
        # A default belongs to the property that has it; Litestar leaves one on the component
        # too, or not, depending on what it generated first.
        component.pop("default", None)
    components["schemas"]["Problem"] = PROBLEM_SCHEMA
    used: set[int] = set()
    for path, method, handler in _operations(app):
        operation = document.get("paths", {}).get(path, {}).get(method.lower())
        if operation is None:
            continue
        statuses = _statuses(handler, method, path)
        used |= statuses
        responses = operation.setdefault("responses", {})
        for status in [s for s in responses if s[0] in "45"]:
            del responses[status]  # Litestar's own, which our errors never look like
        for status in sorted(statuses):
            responses[str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
        if handler.opt.get("exclude_from_auth"):
            operation["security"] = (
                [{}, {"bearer": []}] if handler.opt.get("bearer_optional") else []
            )
        _exact_bounds(operation, handler)
    components["responses"] = {f"Problem{s}": _problem_response(s) for s in sorted(used)}
    return document


def _operations(app: Litestar) -> Iterator[tuple[str, str, Any]]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                yield route.path_format, method, handler


def _statuses(handler: Any, method: str, path: str) -> set[int]:
    # 503 everywhere: every route needs the database or Redis (server.outage).
    statuses = {422, 503}
    authenticated = not handler.opt.get("exclude_from_auth")
    if authenticated:
        # The access step answers 401 without a caller and 403 when the route's rule (or
        # its absence: nothing is open by omission) refuses the caller.
        statuses |= {401, 403}
        if method in WRITES:
            statuses.add(409)
    if "{" in path:
        statuses.add(404)
    if "data" in handler.parsed_fn_signature.parameters:
        statuses |= {400, 413}
    statuses.update(handler.opt.get("problems", ()))
    return statuses


def _problem_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": TITLES.get(status, "Error"),
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "allOf": [{"$ref": PROBLEM_REF}],
                    "properties": {"status": {"const": status}},
                }
            }
        },
    }
    if headers := _HEADERS.get(status):
        response["headers"] = {
            name: {
                "required": True,
                "description": description,
                "schema": {"type": "integer", "minimum": 1}
                if name == "Retry-After"
                else {"type": "string"},
            }
            for name, description in headers.items()
        }
    return response


def _exact_bounds(operation: dict[str, Any], handler: Any) -> None:
    """Each parameter's numeric bounds as its declaration states them."""
    declared: dict[str, KwargDefinition] = {}
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, KwargDefinition):
            alias = (kwarg.query or kwarg.header) if isinstance(kwarg, ParameterKwarg) else None
            declared[(alias or name).lower()] = kwarg
    for parameter in operation.get("parameters", []):
        kwarg = declared.get(parameter["name"].lower())
        if kwarg is None:
            continue
        schema = parameter.setdefault("schema", {})
        for attribute, keyword in (
            ("ge", "minimum"),
            ("le", "maximum"),
            ("gt", "exclusiveMinimum"),
            ("lt", "exclusiveMaximum"),
        ):
            value = getattr(kwarg, attribute)
            if value is not None:
                schema[keyword] = value


def _schemas_of_type(node: Any, kind: str) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == kind:
            yield node
        for value in node.values():
            yield from _schemas_of_type(value, kind)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas_of_type(value, kind)


def _int64(schema: dict[str, Any]) -> None:
    """Every integer is a bigint: bounds within int64, written as integers (Litestar writes
    ``le=INT64_MAX`` as the float 2**63, one beyond it)."""
    schema["format"] = "int64"
    for keyword, default, clamp in (("minimum", INT64_MIN, max), ("maximum", INT64_MAX, min)):
        value = schema.get(keyword, default)
        schema[keyword] = clamp(int(value), default) if value == int(value) else value


def _refuse_nul(schema: dict[str, Any]) -> None:
    if any(k in schema for k in ("format", "enum", "const")):
        return
    pattern = schema.get("pattern")
    if pattern is None:
        schema["pattern"] = NO_NUL
    elif _may_match_nul(pattern):
        schema.setdefault("allOf", []).append({"pattern": NO_NUL})


def _may_match_nul(pattern: str) -> bool:
    """Whether ``pattern`` has a wildcard or a negated class (``[A-Z]{3}`` has neither)."""
    plain = re.sub(r"\\[^SWDu]", "", pattern)  # escaped literals, such as \\.
    return pattern != NO_NUL and any(w in plain for w in (".", "[^", "\\S", "\\W", "\\D"))
