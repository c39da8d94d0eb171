from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from domain.actor import Actor
from domain.payments.agency import Agency

Method = Literal["card", "bank_transfer", "cash", "check", "direct_debit", "other"]
PaymentStatus = Literal["pending", "succeeded", "failed", "refunded", "reversed"]
# How far back a payment may be dated: a debt's history, not a typo's year (1900, 0202).
MAX_BACKDATE = dt.timedelta(days=3653)
Source = Literal["staff", "api", "debtor", "import"]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]


def source_of(actor: Actor) -> Source:
    """Where staff-side money comes from: an integrator's API key, or a signed-in person."""
    return "api" if actor.type == "api_key" else "staff"


class Allocation(msgspec.Struct, kw_only=True):
    fees: Decimal
    interest: Decimal
    principal: Decimal
    credit: Decimal


class Payment(msgspec.Struct, kw_only=True):
    id: int
    account_id: int
    amount: Decimal
    currency: str
    status: PaymentStatus
    method: Method
    source: Source
    provider: str | None
    provider_ref: str | None
    reference: str | None
    allocation: Allocation
    failure_reason: str | None
    received_at: dt.datetime | None
    failed_at: dt.datetime | None
    refunded_at: dt.datetime | None
    created_by: int | None
    created_at: dt.datetime


class PaymentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A payment taken or received outside Recoup's checkout (on the phone, by transfer)."""

    amount: Decimal
    currency: Currency
    method: Method = "card"
    reference: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    received_at: dt.datetime | None = None


class PaymentAction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class PaymentLink(msgspec.Struct, kw_only=True):
    id: int
    account_id: int
    url: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    created_at: dt.datetime


class PaymentLinkCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    expires_in_hours: Annotated[int, msgspec.Meta(ge=1, le=24 * 30)] = 72


class PromiseView(msgspec.Struct, kw_only=True):
    amount: Decimal
    due_date: dt.date
    status: str


class DebtorPayment(msgspec.Struct, kw_only=True):
    """A payment as the debtor's page lists it, under the receipt number their e-mail has."""

    receipt: str
    amount: Decimal
    status: PaymentStatus
    method: Method
    received_at: dt.datetime | None


class PromiseDates(msgspec.Struct, kw_only=True):
    """The first and last day a promise made today may fall on (the tenant's promise rules)."""

    earliest: dt.date
    latest: dt.date


class DisputeState(msgspec.Struct, kw_only=True):
    """The account's open dispute as the page shows it: since when, for what reason."""

    reason: str
    opened_at: dt.datetime


class DebtorAccount(msgspec.Struct, kw_only=True):
    """What a payment link shows: one account's figures and its payments, nothing more."""

    creditor: str
    reference: str
    first_name: str
    # The debtor's own time zone, which the page shows dates and times in.
    time_zone: str
    agency: Agency
    link_expires_at: dt.datetime
    # The dispute the debtor opened, while it is open.
    dispute: DisputeState | None
    promise_dates: PromiseDates
    currency: str
    balance: Decimal
    principal: Decimal
    interest: Decimal
    fees: Decimal
    status: str
    promises: list[PromiseView]
    # Received (and any refunded or reversed since), newest first: the last ten.
    payments: list[DebtorPayment] = []
    # What checkouts started in the last hour and not yet ended add up to: the part of the
    # balance they hold (a new checkout may be for the rest at most).
    under_way: Decimal = Decimal(0)


class CheckoutRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount: Decimal


class Checkout(msgspec.Struct, kw_only=True):
    checkout_url: str
    payment_id: int


class CheckoutState(msgspec.Struct, kw_only=True):
    id: int
    amount: Decimal
    status: str
    failure_reason: str | None
    # The receipt number, once the payment has succeeded.
    receipt: str | None = None
    method: Method = "card"
    received_at: dt.datetime | None = None


class DebtorPromise(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    due_date: dt.date
    amount: Decimal | None = None


DisputeReason = Literal["not_mine", "already_paid", "wrong_amount", "identity_theft", "other"]


class DebtorDispute(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The debtor disputes the debt from the page: a reason, and in their words if they like."""

    reason: DisputeReason
    details: Annotated[str, msgspec.Meta(max_length=2000)] = ""


def receipt_number(payment_id: int) -> str:
    """The number a debtor keeps for a payment: on the receipt e-mail and the payment page."""
    return f"R-{payment_id}"


def money(amount: Decimal, digits: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-digits))


def payment_from_row(row: Any, digits: int) -> Payment:
    return Payment(
        id=row["id"],
        account_id=row["account_id"],
        amount=money(row["amount"], digits),
        currency=row["currency"],
        status=row["status"],
        method=row["method"],
        source=row["source"],
        provider=row["provider"],
        provider_ref=row["provider_ref"],
        reference=row["reference"],
        allocation=Allocation(
            fees=money(row["applied_fees"], digits),
            interest=money(row["applied_interest"], digits),
            principal=money(row["applied_principal"], digits),
            credit=money(row["applied_credit"], digits),
        ),
        failure_reason=row["failure_reason"],
        received_at=row["received_at"],
        failed_at=row["failed_at"],
        refunded_at=row["refunded_at"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )
