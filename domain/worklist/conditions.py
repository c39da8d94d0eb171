"""Rule conditions: structured ``(field, op, value)`` tests compiled to one SQL predicate.

Every condition becomes a parameterized clause over ``accounts a JOIN debtors d``; field
and operator names select code, never text, and values travel as parameters. A field or
operator that is not listed here is refused when the rule is saved, naming it.

Days are the tenant's calendar days (as ``days_past_due`` on an account), so "at least 30
days past due" is ``a.due_date <= today - 30``: a range the due-date index answers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.accounts.schemas import ACCOUNT_STATUSES
from domain.errors import InvalidInput
from domain.money import is_plain_decimal
from domain.sql import Where
from domain.tenancy.schemas import Tenant
from domain.validation import INT64_MAX, INT64_MIN
from domain.worklist.schemas import Condition

_MAX_DAYS = 100_000
_MAX_SET = 200
_CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class Context:
    """What a compiled condition is evaluated against: the tenant and its clock."""

    tenant: Tenant
    today: dt.date
    now: dt.datetime


class _Bad(Exception):
    def __init__(self, message: str, part: str = "value") -> None:
        super().__init__(message)
        self.message = message
        self.part = part


# Value readers ---------------------------------------------------------------------------


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _Bad('must be a number, as in 100 or "100.50"')
    if isinstance(value, str) and not is_plain_decimal(value):
        raise _Bad(f'{value!r} is not a number written plainly, as in "100.50"')
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _Bad(f"{value!r} is not a number") from None
    if not number.is_finite() or abs(number) >= Decimal(10) ** 16:
        raise _Bad(f"{value!r} is not a usable amount")
    return number


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_DAYS:
        raise _Bad(f"must be a whole number of days from 0 to {_MAX_DAYS}")
    return value


def _day_range(value: Any) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise _Bad("must be two numbers of days, as in [30, 60]")
    low, high = _days(value[0]), _days(value[1])
    if low > high:
        raise _Bad(f"the range [{low}, {high}] is empty: the first number must not be larger")
    return low, high


def _date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise _Bad('must be a date, as in "2026-12-31"')
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _strings(value: Any, known: Sequence[str] | None = None) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > _MAX_SET:
        raise _Bad(f"must be a list of 1 to {_MAX_SET} values")
    if not all(isinstance(v, str) for v in value):
        raise _Bad("must be a list of strings")
    if known is not None:
        unknown = [v for v in value if v not in known]
        if unknown:
            raise _Bad(f"unknown value {unknown[0]!r}; one of {', '.join(known)}")
    return list(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("must be true or false")
    return value


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise _Bad("must be a string, number, true, false or null")


# Fields ----------------------------------------------------------------------------------

Compiler = Callable[[Where, Any, Context], str]

_COMPARE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "="}


def _amount(expression: str) -> dict[str, Compiler]:
    def op(symbol: str) -> Compiler:
        return lambda w, v, _: f"{expression} {symbol} {w.param(_number(v))}"

    return {name: op(symbol) for name, symbol in _COMPARE.items()}


_BALANCE = "(a.principal + a.interest + a.fees)"


def _days_ago(ctx: Context, days: int) -> dt.date:
    return ctx.today - dt.timedelta(days=days)


def _dpd_at_least(w: Where, v: Any, ctx: Context) -> str:
    days = _days(v)
    if days == 0:
        return "true"
    return f"a.due_date <= {w.param(_days_ago(ctx, days))}"


def _dpd_at_most(w: Where, v: Any, ctx: Context) -> str:
    # No due date, or due in the future, is 0 days past due.
    return f"(a.due_date IS NULL OR a.due_date >= {w.param(_days_ago(ctx, _days(v)))})"


def _dpd_between(w: Where, v: Any, ctx: Context) -> str:
    low, high = _day_range(v)
    upper = f"(a.due_date IS NULL OR a.due_date >= {w.param(_days_ago(ctx, high))})"
    if low == 0:
        return upper
    return f"(a.due_date <= {w.param(_days_ago(ctx, low))} AND {upper})"


def _due_within(w: Where, v: Any, ctx: Context) -> str:
    end = ctx.today + dt.timedelta(days=_days(v))
    return f"a.due_date BETWEEN {w.param(ctx.today)} AND {w.param(end)}"


def _bucket_in(w: Where, v: Any, ctx: Context) -> str:
    known = [b.name for b in ctx.tenant.settings.buckets]
    names = _strings(v, known)
    clauses = []
    for bucket in ctx.tenant.settings.buckets:
        if bucket.name not in names:
            continue
        parts = []
        if bucket.min_days > 0:
            parts.append(f"a.due_date <= {w.param(_days_ago(ctx, bucket.min_days))}")
        if bucket.max_days is not None:
            since = w.param(_days_ago(ctx, bucket.max_days))
            parts.append(f"(a.due_date IS NULL OR a.due_date >= {since})")
        clauses.append("(" + (" AND ".join(parts) or "true") + ")")
    return "(" + " OR ".join(clauses) + ")"


def _in(expression: str, known: Sequence[str] | None = None) -> Compiler:
    return lambda w, v, _: f"{expression} = ANY({w.param(_strings(v, known))}::text[])"


def _not_in(expression: str, known: Sequence[str] | None = None) -> Compiler:
    return lambda w, v, _: f"NOT ({expression} = ANY({w.param(_strings(v, known))}::text[]))"


def _contact_older(w: Where, v: Any, ctx: Context) -> str:
    since = ctx.now - dt.timedelta(days=_days(v))
    return (
        "NOT EXISTS (SELECT 1 FROM interactions i WHERE i.tenant_id = a.tenant_id "
        f"AND i.account_id = a.id AND i.occurred_at >= {w.param(since)})"
    )


def _contact_within(w: Where, v: Any, ctx: Context) -> str:
    since = ctx.now - dt.timedelta(days=_days(v))
    return (
        "EXISTS (SELECT 1 FROM interactions i WHERE i.tenant_id = a.tenant_id "
        f"AND i.account_id = a.id AND i.occurred_at >= {w.param(since)})"
    )


def _broken_within(w: Where, v: Any, ctx: Context) -> str:
    since = ctx.now - dt.timedelta(days=_days(v))
    return (
        "EXISTS (SELECT 1 FROM promises p WHERE p.account_id = a.id "
        f"AND p.status = 'broken' AND p.resolved_at >= {w.param(since)})"
    )


def _flag(expression: str) -> dict[str, Compiler]:
    return {"eq": lambda w, v, _: f"{expression} = {w.param(_bool(v))}"}


_ACCOUNT_STATUS = list(ACCOUNT_STATUSES)

FIELDS: dict[str, dict[str, Compiler]] = {
    "balance": _amount(_BALANCE),
    "principal": _amount("a.principal"),
    "interest": _amount("a.interest"),
    "fees": _amount("a.fees"),
    "days_past_due": {
        "at_least": _dpd_at_least,
        "at_most": _dpd_at_most,
        "between": _dpd_between,
    },
    "due_date": {
        "within_days": _due_within,
        "before": lambda w, v, _: f"a.due_date < {w.param(_date(v))}",
        "after": lambda w, v, _: f"a.due_date > {w.param(_date(v))}",
    },
    "status": {
        "in": _in("a.status", _ACCOUNT_STATUS),
        "not_in": _not_in("a.status", _ACCOUNT_STATUS),
    },
    "bucket": {"in": _bucket_in},
    "currency": {"in": _in("a.currency"), "not_in": _not_in("a.currency")},
    "creditor": {"in": _in("a.creditor"), "not_in": _not_in("a.creditor")},
    "owner_id": {
        "in": lambda w, v, _: f"a.owner_id = ANY({w.param(_ids(v))}::bigint[])",
        "is_null": lambda w, v, _: "a.owner_id IS NULL",
        "not_null": lambda w, v, _: "a.owner_id IS NOT NULL",
    },
    "last_contact": {"older_than_days": _contact_older, "within_days": _contact_within},
    "promise_broken": {"within_days": _broken_within},
    "debtor.country": {"in": _in("d.country"), "not_in": _not_in("d.country")},
    "debtor.region": {"in": _in("d.region"), "not_in": _not_in("d.region")},
    "debtor.time_zone": {"in": _in("d.time_zone"), "not_in": _not_in("d.time_zone")},
    "debtor.do_not_contact": _flag("d.do_not_contact"),
    "debtor.opt_out_call": _flag("d.opt_out_call"),
    "debtor.opt_out_sms": _flag("d.opt_out_sms"),
    "debtor.opt_out_email": _flag("d.opt_out_email"),
    "debtor.has_phone": {"eq": lambda w, v, _: f"(d.phone IS NOT NULL) = {w.param(_bool(v))}"},
    "debtor.has_email": {"eq": lambda w, v, _: f"(d.email IS NOT NULL) = {w.param(_bool(v))}"},
}


def _ids(value: Any) -> list[int]:
    if (
        not isinstance(value, list)
        or not value
        or len(value) > _MAX_SET
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and INT64_MIN <= v <= INT64_MAX
            for v in value
        )
    ):
        raise _Bad(f"must be a list of 1 to {_MAX_SET} ids")
    return list(value)


def _custom(column: str) -> dict[str, Compiler]:
    """Operators on one key of a custom-fields object (``column`` is ``a.custom`` or
    ``d.custom``); the key arrives as the compiler's first argument."""

    def compare(symbol: str) -> Callable[[Where, str, Any], str]:
        def build(w: Where, key: str, v: Any) -> str:
            k = w.param(key)
            if isinstance(v, str):
                return (
                    f"(CASE WHEN jsonb_typeof({column} -> {k}) = 'string' "
                    f"THEN {column} ->> {k} END) {symbol} {w.param(v)}"
                )
            number = w.param(_number(v))
            return (
                f"(CASE WHEN jsonb_typeof({column} -> {k}) = 'number' "
                f"THEN ({column} ->> {k})::numeric END) {symbol} {number}"
            )

        return build

    ops: dict[str, Callable[[Where, str, Any], str]] = {
        "eq": lambda w, k, v: f"{column} @> {w.param({k: _scalar(v)})}::jsonb",
        "ne": lambda w, k, v: f"NOT ({column} @> {w.param({k: _scalar(v)})}::jsonb)",
        "in": lambda w, k, v: (
            f"{column} -> {w.param(k)} IN "
            f"(SELECT jsonb_array_elements({w.param(_scalar_list(v))}::jsonb))"
        ),
        "exists": lambda w, k, v: f"{column} ? {w.param(k)}",
        "not_exists": lambda w, k, v: f"NOT ({column} ? {w.param(k)})",
        **{name: compare(symbol) for name, symbol in _COMPARE.items() if name != "eq"},
    }
    return ops  # type: ignore[return-value]


def _scalar_list(value: Any) -> list[Any]:
    if not isinstance(value, list) or not value or len(value) > _MAX_SET:
        raise _Bad(f"must be a list of 1 to {_MAX_SET} values")
    return [_scalar(v) for v in value]


_CUSTOM_FIELDS = {"custom.": _custom("a.custom"), "debtor.custom.": _custom("d.custom")}


def describe() -> dict[str, list[str]]:
    """Every field and its operators, for documentation and error messages."""
    fields = {name: sorted(ops) for name, ops in FIELDS.items()}
    for prefix, ops in _CUSTOM_FIELDS.items():
        fields[f"{prefix}<key>"] = sorted(ops)
    return fields


def _known_fields() -> str:
    return ", ".join(describe())


def debtor_fields(conditions: Sequence[Condition]) -> list[str]:
    """The fields of ``conditions`` that ask about the debtor (they join the debtors)."""
    return [c.field for c in conditions if c.field.startswith("debtor.")]


def compile_into(where: Where, conditions: Sequence[Condition], ctx: Context) -> None:
    """Add each condition to ``where`` (all must hold). Raises InvalidInput naming the
    first unknown field, unknown operator or unusable value."""
    for n, condition in enumerate(conditions):
        where.add(_compile_one(where, condition, ctx, n))


def validate(conditions: Sequence[Condition], ctx: Context) -> None:
    compile_into(Where(), conditions, ctx)


def _compile_one(where: Where, condition: Condition, ctx: Context, n: int) -> str:
    field, op = condition.field, condition.op
    at = f"conditions[{n}]"
    try:
        for prefix, custom_ops in _CUSTOM_FIELDS.items():
            if field.startswith(prefix) and field not in FIELDS:
                key = field[len(prefix) :]
                if not _CUSTOM_KEY.match(key):
                    raise _Bad(
                        f"{key!r} is not a custom field name (letters, digits, _ and -)",
                        "field",
                    )
                if op not in custom_ops:
                    raise _Bad(
                        f"{field} has no operator {op!r}; use one of "
                        f"{', '.join(sorted(custom_ops))}",
                        "op",
                    )
                return "(" + custom_ops[op](where, key, condition.value) + ")"
        ops = FIELDS.get(field)
        if ops is None:
            raise _Bad(f"unknown field {field!r}; known fields are {_known_fields()}", "field")
        compiler = ops.get(op)
        if compiler is None:
            raise _Bad(f"{field} has no operator {op!r}; use one of {', '.join(sorted(ops))}", "op")
        return "(" + compiler(where, condition.value, ctx) + ")"
    except _Bad as bad:
        message = bad.message if bad.part != "value" else f"{field} {op}: value {bad.message}"
        raise InvalidInput(message, field=f"{at}.{bad.part}") from None
