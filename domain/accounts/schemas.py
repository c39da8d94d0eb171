from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from domain.debtors.schemas import CUSTOM_EDIT, DebtorCreate, Ref
from domain.validation import Id, Int64

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET

AccountStatus = Literal[
    "active",
    "promised",
    "promise_broken",
    "disputed",
    "paid",
    "closed",
    "bankrupt",
    "deceased",
    "settled",
]
ACCOUNT_STATUSES: tuple[str, ...] = AccountStatus.__args__  # type: ignore[attr-defined]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Creditor = Annotated[str, msgspec.Meta(max_length=200)]


class Account(msgspec.Struct, kw_only=True):
    id: int
    external_ref: str
    debtor_id: int
    debtor_name: str
    creditor: str
    currency: str
    principal: Decimal
    interest: Decimal
    fees: Decimal
    balance: Decimal
    due_date: dt.date | None
    days_past_due: int
    bucket: str
    status: AccountStatus
    owner_id: int | None
    custom: dict[str, Any]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AccountCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new account, for an existing debtor (``debtor_id``) or a new one (``debtor``)."""

    external_ref: Ref
    currency: Currency
    principal: Decimal
    interest: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    debtor_id: Id | None = None
    debtor: DebtorCreate | None = None
    creditor: Creditor = ""
    due_date: dt.date | None = None
    status: AccountStatus = "active"
    owner_id: Id | None = None
    custom: dict[str, Any] = {}


STATUS_CHANGES_HERE = (
    "an account's status changes through POST /api/v1/accounts/{id}/status-changes, "
    "which applies the rules of each change"
)


class AccountUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Fields to change; ``version``, when sent, must match (optimistic concurrency).

    ``status`` is named only to be refused with a word on where it is changed: a change of
    status carries what the law attaches to it (a dispute's reason, a cease request), so it
    has one way in, ``POST /accounts/{id}/status-changes``."""

    external_ref: Ref | Unset = UNSET
    creditor: Creditor | Unset = UNSET
    principal: Decimal | Unset = UNSET
    interest: Decimal | Unset = UNSET
    fees: Decimal | Unset = UNSET
    due_date: dt.date | Unset | None = UNSET
    status: Annotated[
        AccountStatus | Unset, msgspec.Meta(description=f"refused (422): {STATUS_CHANGES_HERE}")
    ] = UNSET
    owner_id: Id | Unset | None = UNSET
    custom: Annotated[
        dict[str, Any] | Unset,
        msgspec.Meta(description=CUSTOM_EDIT),
    ] = UNSET
    version: Int64 | Unset = UNSET


class AccountFilter(msgspec.Struct, kw_only=True):
    status: list[str] | None = None
    bucket: str | None = None
    dpd_min: int | None = None
    dpd_max: int | None = None
    owner_id: int | None = None
    unowned: bool = False
    currency: str | None = None
    debtor_id: int | None = None
    q: str | None = None
    # ``custom.<key>`` or ``debtor.custom.<key>`` -> the value it must equal (or, for a
    # multi-select, hold), as text.
    custom: dict[str, str] | None = None

    def __post_init__(self) -> None:
        # A filter sent empty (``?bucket=&status=``, as a form sends it) is not given.
        self.status = [s for s in self.status if s] or None if self.status else None
        self.bucket = self.bucket or None
        self.q = self.q or None
