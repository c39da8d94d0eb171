"""Message templates: Jinja2 in its sandbox, plain text, every name checked when saved.

The sandbox refuses attribute tricks (``__class__``, ``mro``) and unsafe calls, and
``StrictUndefined`` turns a misspelt name into an error instead of an empty string, so a
template that saves renders for every account. Money arrives already formatted in its
currency (``{{ account.balance }}`` is ``$1,234.56``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.numbers import format_currency
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from domain.errors import InvalidInput

NAMES = ("account", "debtor", "tenant", "payment", "promise", "payment_link", "opt_out_link")

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


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
        return _compiled(source).render(**variables)
    except (TemplateError, SecurityError) as exc:
        raise ValueError(_message(exc)) from exc


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
    try:
        _compiled(source).render(**sample)
    except (TemplateError, SecurityError) as exc:
        raise TemplateInvalid(f"{field}: {_message(exc)}", field=field) from exc


def _message(exc: BaseException) -> str:
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
