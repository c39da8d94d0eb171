"""What a condition and a template see: ``account``, ``debtor``, ``event`` and ``tenant``.

Money is given in minor units (``balance_minor``) to conditions, and as text formatted to its
currency's digits to templates; neither ever passes through a float.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from domain.accounts.service import bucket_for, days_past_due
from domain.money import minor_digits
from domain.tenancy.schemas import Tenant
from domain.workflows.conditions import minor_units

_MONEY = ("principal", "interest", "fees", "credit")
_FLAGS = ("do_not_contact", "opt_out_call", "opt_out_sms", "opt_out_email")


def account_variables(row: Mapping[str, Any], tenant: Tenant, today: dt.date) -> dict[str, Any]:
    """``account`` of one row of ``queries.subjects``."""
    digits = minor_digits(row["currency"])
    balance = row["principal"] + row["interest"] + row["fees"]
    dpd = days_past_due(row["due_date"], today)
    account: dict[str, Any] = {
        "id": row["id"],
        "external_ref": row["external_ref"],
        "creditor": row["creditor"],
        "currency": row["currency"],
        "status": row["status"],
        "days_past_due": dpd,
        "bucket": bucket_for(tenant, dpd),
        "due_date": row["due_date"].isoformat() if row["due_date"] else None,
        "owner_id": row["owner_id"],
        "balance_minor": minor_units(balance, digits),
        "custom": dict(row["custom"] or {}),
    }
    for name in _MONEY:
        account[f"{name}_minor"] = minor_units(row[name], digits)
    return account


def debtor_variables(row: Mapping[str, Any]) -> dict[str, Any]:
    flags = [name for name in _FLAGS if row[name]]
    if row["cease_requested_at"] is not None:
        flags.append("cease_requested")
    custom = dict(row["debtor_custom"] or {})
    extra = custom.get("flags")
    if isinstance(extra, list):
        flags += [str(flag) for flag in extra]
    return {
        "id": row["debtor_id"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "country": row["country"],
        "region": row["region"],
        "time_zone": row["time_zone"],
        "has_email": row["email"] is not None,
        "has_phone": row["phone"] is not None,
        "flags": flags,
        "custom": custom,
    }


def event_variables(event_id: uuid.UUID, type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """``event``: its type and data, and an amount it carries in minor units."""
    out: dict[str, Any] = {"id": str(event_id), "type": type, "data": dict(data)}
    money = data["payment"] if isinstance(data.get("payment"), dict) else data
    amount, currency = money.get("amount"), money.get("currency")
    if isinstance(amount, str) and isinstance(currency, str):
        with contextlib.suppress(ArithmeticError, ValueError):
            out["amount_minor"] = minor_units(Decimal(amount), minor_digits(currency))
    out.setdefault("amount_minor", None)
    return out


def tenant_variables(tenant: Tenant) -> dict[str, Any]:
    return {"id": tenant.id, "name": tenant.name, "time_zone": tenant.time_zone}


def variables(
    row: Mapping[str, Any], tenant: Tenant, today: dt.date, event: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "account": account_variables(row, tenant, today),
        "debtor": debtor_variables(row),
        "event": dict(event),
        "tenant": tenant_variables(tenant),
    }


def sample(trigger: str) -> dict[str, Any]:
    """A value of every field, to check a condition against when it is saved."""
    account = {
        "id": 1,
        "external_ref": "",
        "creditor": "",
        "currency": "USD",
        "status": "active",
        "days_past_due": 0,
        "bucket": "",
        "due_date": "2026-01-01",
        "owner_id": 1,
        "balance_minor": 0,
        "custom": {},
    }
    account.update({f"{name}_minor": 0 for name in _MONEY})
    debtor = {
        "id": 1,
        "first_name": "",
        "last_name": "",
        "country": "US",
        "region": "",
        "time_zone": "UTC",
        "has_email": True,
        "has_phone": True,
        "flags": [],
        "custom": {},
    }
    event = {"id": str(uuid.UUID(int=0)), "type": trigger, "data": {}, "amount_minor": 0}
    tenant = {"id": 1, "name": "", "time_zone": "UTC"}
    return {"account": account, "debtor": debtor, "event": event, "tenant": tenant}
