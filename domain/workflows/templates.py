"""Message templates: Jinja2 in its sandbox, plain text, every name checked when saved.

The sandbox refuses attribute tricks (``__class__``, ``mro``) and unsafe calls, and
``StrictUndefined`` turns a misspelt name into an error instead of an empty string, so a
template that saves renders for every account. Money arrives already formatted in its
currency (``{{ account.balance }}`` is ``$1,234.56``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.numbers import format_currency
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from domain.errors import InvalidInput

NAMES = ("account", "debtor", "tenant", "payment", "promise", "payment_link", "opt_out_link")

# A message is text for one person: these bound what a template may make or spend. Jinja's
# sandbox guards against reaching into Python, not against work: a string repeated a billion
# times, a huge power, a method padding to a billion characters, loops within loops or a
# macro calling itself twice each time would hold a worker (or a preview, the web process).
MAX_TEXT = 20_000  # characters a rendered template may come to
MAX_POWER = 64  # largest exponent of ``**`` (beyond ±1 and 0 as the base)
MAX_FORMAT_WIDTH = 999  # widths and precisions in ``%`` and ``format``


class _Bounded(ImmutableSandboxedEnvironment):
    """The sandbox with sizes bounded; immutable, so no list or dict grows in a loop
    (``l.extend(l)`` a hundred times)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for many, times in ((left, right), (right, left)):
                repeated = isinstance(many, (str, list, tuple)) and isinstance(times, int)
                if repeated and len(many) * times > MAX_TEXT:
                    raise SecurityError(f"a repeat beyond {MAX_TEXT:,} characters or items")
        elif operator == "**":
            small_base = isinstance(left, (int, float)) and abs(left) <= 1
            if isinstance(right, (int, float)) and abs(right) > MAX_POWER and not small_base:
                raise SecurityError(f"a power above {MAX_POWER}")
        elif operator == "%" and isinstance(left, str):
            _check_widths(left)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # range(10**9), lipsum(10**6), "x".center(10**9): nothing called makes a value
        # longer than a message may be.
        name = getattr(obj, "__name__", "")
        if obj in (self.globals.get("range"), self.globals.get("lipsum")) or (
            name in _SIZING_METHODS
        ):
            _check_sizes((*args, *kwargs.values()))
        receiver = getattr(obj, "__self__", None)
        if isinstance(receiver, str) and name == "replace":
            _check_replace(receiver, *args, **kwargs)
        elif isinstance(receiver, str) and name == "join" and args:
            args = (list(args[0]), *args[1:])
            _check_join(receiver, args[0])
        return _checked_size(super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)  # str.format, as the sandbox runs it
        if wrapped is not None:
            _check_widths(value.__self__)
        return wrapped


_SIZING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


def _check_sizes(values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_TEXT:
            raise SecurityError(f"a size above {MAX_TEXT:,}")


def _checked_size(value: Any) -> Any:
    if isinstance(value, (str, list, tuple, bytes)) and len(value) > MAX_TEXT:
        raise SecurityError(f"a value of more than {MAX_TEXT:,} characters or items")
    return value


def _check_replace(text: Any, old: Any = "", new: Any = "", count: Any = -1, **_: Any) -> None:
    """``text.replace(old, new)`` (and the filter) within ``MAX_TEXT``, before it is made."""
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    times = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    if len(text) + times * (len(new) - len(old)) > MAX_TEXT:
        raise SecurityError(f"a replacement beyond {MAX_TEXT:,} characters")


def _check_join(separator: str, items: list[Any]) -> None:
    total = len(separator) * max(0, len(items) - 1)
    for item in items:
        total += len(item) if isinstance(item, str) else len(str(item))
        if total > MAX_TEXT:
            raise SecurityError(f"a join beyond {MAX_TEXT:,} characters")


def _check_indent(text: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    size = len(width) if isinstance(width, str) else width
    lines = text.count("\n") + 1 if isinstance(text, str) else 0
    if isinstance(size, int) and isinstance(text, str) and len(text) + size * lines > MAX_TEXT:
        raise SecurityError(f"an indent beyond {MAX_TEXT:,} characters")


def _check_widths(text: str) -> None:
    for width in re.findall(r"[%:][^a-zA-Z%{}]*?(\d+)", text):
        if int(width) > MAX_FORMAT_WIDTH:
            raise SecurityError(f"a width or precision above {MAX_FORMAT_WIDTH}")


def _bounded_filter(name: str, apply: Callable[..., Any]) -> Callable[..., Any]:
    """``apply`` with its sizes bounded: ``indent(10**9)``, ``center``, ``truncate`` and the
    rest take no size above ``MAX_TEXT`` (the value filtered may be any number), ``format``
    no width above ``MAX_FORMAT_WIDTH``."""
    skip = 2 if getattr(apply, "jinja_pass_arg", None) else 1  # a context, then the value

    @functools.wraps(apply)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_sizes((*args[skip:], *kwargs.values()))
        if len(args) >= skip:
            value = args[skip - 1]
            if name == "format" and isinstance(value, str):
                _check_widths(value)
            elif name == "replace":
                _check_replace(value, *args[skip:], **kwargs)
            elif name == "indent":
                _check_indent(value, *args[skip:], **kwargs)
            elif name == "join" and not isinstance(value, str):
                value = list(value)
                args = (*args[: skip - 1], value, *args[skip:])
                separator = args[skip] if len(args) > skip else kwargs.get("d", "")
                _check_join(str(separator), value)
        return _checked_size(apply(*args, **kwargs))

    return bounded


_env = _Bounded(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_env.filters = {name: _bounded_filter(name, apply) for name, apply in _env.filters.items()}


class TemplateInvalid(InvalidInput):
    pass


def money(amount: Decimal, currency: str) -> str:
    return format_currency(amount, currency, locale="en_US")


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    return _env.from_string(source)


def render(source: str, variables: Mapping[str, Any]) -> str:
    """The text for one account; raises ``ValueError`` naming what could not be rendered."""
    try:
        return _bounded_render(source, variables)
    except Exception as exc:  # whatever the template did (1/0, 'a' + 1): its author's to fix
        raise ValueError(_message(exc)) from exc


def _bounded_render(source: str, variables: Mapping[str, Any]) -> str:
    parts: list[str] = []
    length = 0
    for part in _compiled(source).generate(**variables):
        length += len(part)
        if length > MAX_TEXT:
            raise SecurityError(f"the text comes to more than {MAX_TEXT:,} characters")
        parts.append(part)
    return "".join(parts)


@lru_cache(maxsize=1024)
def _names(source: str) -> frozenset[str]:
    return frozenset(meta.find_undeclared_variables(_env.parse(source)))


def uses(source: str, name: str) -> bool:
    """Whether the template reads ``name`` (a payment link is made only for one that does)."""
    try:
        return name in _names(source)
    except TemplateSyntaxError:
        return False


def check(source: str, *, field: str, sample: Mapping[str, Any]) -> None:
    """Refuse (422) a template that does not parse, names an unknown variable or field, or
    fails to render for a sample account."""
    if "\x00" in source:
        raise TemplateInvalid("a template cannot contain NUL", field=field)
    try:
        parsed = _env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(
            f"{field}: {exc.message} at line {exc.lineno}", field=field, line=exc.lineno
        ) from exc
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(NAMES))
    if unknown:
        raise TemplateInvalid(
            f"{field}: unknown variable '{unknown[0]}' (templates can use {', '.join(NAMES)})",
            field=field,
        )
    shape = _shape_refusal(parsed)
    if shape:
        raise TemplateInvalid(f"{field}: {shape}", field=field)
    try:
        _bounded_render(source, sample)
    except Exception as exc:  # see render
        raise TemplateInvalid(f"{field}: {_message(exc)}", field=field) from exc


def _shape_refusal(parsed: nodes.Template) -> str | None:
    """What a message template may not hold: macros (they can call themselves) and a loop
    within a loop (a thousand times a thousand)."""
    if any(True for _ in parsed.find_all((nodes.Macro, nodes.CallBlock))):
        return "macros are not allowed in a template"
    for loop in parsed.find_all(nodes.For):
        if any(True for _ in loop.find_all(nodes.For)):
            return "a loop within a loop is not allowed in a template"
    return None


def _message(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "the template calls itself too deeply"
    if not isinstance(exc, (TemplateError, SecurityError)):
        return f"{type(exc).__name__.lower().replace('error', ' error').strip()}: {exc}"
    if isinstance(exc, UndefinedError):
        # "'dict object' has no attribute 'nope'" -> "unknown field 'nope'"
        text = str(exc.message or "")
        if "has no attribute" in text:
            return f"unknown field {text.rsplit(' ', 1)[-1]}"
        return text or "an undefined value"
    if isinstance(exc, SecurityError):
        return f"not allowed in a template: {exc}"
    return str(getattr(exc, "message", None) or exc)


class _Custom(dict[str, Any]):
    """An account's or debtor's custom fields: a defined field this record has no value of
    renders empty (the template was checked against the tenant's definitions)."""

    def __missing__(self, key: str) -> str:
        return ""


def account_fields(
    account: Mapping[str, Any], debtor: Mapping[str, Any], row: Mapping[str, Any]
) -> dict[str, Any]:
    """``account`` and ``debtor`` as templates see them, from the condition variables and
    the row they came from (money formatted in its currency)."""
    currency = row["currency"]
    balance = row["principal"] + row["interest"] + row["fees"]
    return {
        "account": {
            "id": account["id"],
            "external_ref": account["external_ref"],
            "creditor": account["creditor"],
            "status": account["status"],
            "currency": currency,
            "balance": money(balance, currency),
            "principal": money(row["principal"], currency),
            "days_past_due": account["days_past_due"],
            "due_date": account["due_date"] or "",
            "custom": _Custom(account["custom"]),
        },
        "debtor": {
            "first_name": debtor["first_name"],
            "last_name": debtor["last_name"],
            "name": f"{debtor['first_name']} {debtor['last_name']}".strip(),
            "custom": _Custom(debtor["custom"]),
        },
    }


def sample() -> dict[str, Any]:
    return {
        "account": {
            "id": 1,
            "external_ref": "A-1",
            "creditor": "Creditor",
            "status": "active",
            "currency": "USD",
            "balance": "$100.00",
            "principal": "$100.00",
            "days_past_due": 30,
            "due_date": "2026-01-01",
            "custom": {},
        },
        "debtor": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "name": "Ada Lovelace",
            "custom": {},
        },
        "tenant": {"name": "Recoup"},
        "payment": {"amount": "$10.00", "receipt": "R-1", "method": "card"},
        "promise": {"amount": "$50.00", "due_date": "January 1, 2026"},
        "payment_link": "https://example.invalid/pay/token",
        "opt_out_link": "https://example.invalid/optout/token",
    }
