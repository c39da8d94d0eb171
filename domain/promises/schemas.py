from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

PromiseStatus = Literal["pending", "kept", "broken", "cancelled"]


class Instalment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount: Decimal
    due_date: dt.date


class PromiseCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One amount by one date, or a plan of several instalments."""

    amount: Decimal | None = None
    due_date: dt.date | None = None
    instalments: Annotated[list[Instalment], msgspec.Meta(max_length=120)] | None = None


class Promise(msgspec.Struct, kw_only=True):
    id: int
    account_id: int
    plan_id: uuid.UUID | None
    instalment: int
    instalments: int
    amount: Decimal
    currency: str
    due_date: dt.date
    status: PromiseStatus
    source: str
    created_by: int | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None
