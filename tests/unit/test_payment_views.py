"""What a payment change tells the debtor's page, and the account status it leaves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import pytest

from domain.accounts.schemas import Account
from domain.payments.schemas import Allocation, Payment
from domain.payments.service import _status_after, debtor_view

AT = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def failed_payment() -> Payment:
    return Payment(
        id=7,
        account_id=3,
        amount=Decimal("40.00"),
        currency="USD",
        status="failed",
        method="card",
        source="debtor",
        provider="sandbox",
        provider_ref="pi_123",
        reference="internal note",
        allocation=Allocation(
            fees=Decimal("0.00"),
            interest=Decimal("0.00"),
            principal=Decimal("0.00"),
            credit=Decimal("0.00"),
        ),
        failure_reason="card declined",
        received_at=None,
        failed_at=AT,
        refunded_at=None,
        created_by=None,
        created_at=AT,
    )


def account() -> Account:
    return Account(
        id=3,
        external_ref="ACC-3",
        debtor_id=5,
        debtor_name="Pat Debtor",
        creditor="Test Bank",
        currency="USD",
        principal=Decimal("1000.00"),
        interest=Decimal("15.00"),
        fees=Decimal("0.00"),
        balance=Decimal("1015.00"),
        due_date=dt.date(2026, 10, 16),
        days_past_due=45,
        bucket="31-60",
        status="active",
        owner_id=11,
        custom={"segment": "retail"},
        version=2,
        created_at=AT,
        updated_at=AT,
    )


def test_the_debtor_hears_the_payments_figures_and_the_accounts_and_nothing_else() -> None:
    assert debtor_view(failed_payment(), account()) == {
        "payment": {
            "id": 7,
            "amount": "40.00",
            "currency": "USD",
            "status": "failed",
            "provider_ref": "pi_123",
            "failure_reason": "card declined",
            "method": "card",
            "received_at": None,
        },
        "account": {
            "currency": "USD",
            "balance": "1015.00",
            "principal": "1000.00",
            "interest": "15.00",
            "fees": "0.00",
            "status": "active",
        },
    }


def test_the_debtor_hears_only_what_changed() -> None:
    assert debtor_view(failed_payment(), None) == {
        "payment": {
            "id": 7,
            "amount": "40.00",
            "currency": "USD",
            "status": "failed",
            "provider_ref": "pi_123",
            "failure_reason": "card declined",
            "method": "card",
            "received_at": None,
        }
    }
    assert debtor_view(None, account()) == {
        "account": {
            "currency": "USD",
            "balance": "1015.00",
            "principal": "1000.00",
            "interest": "15.00",
            "fees": "0.00",
            "status": "active",
        }
    }
    assert debtor_view(None, None) == {}


@pytest.mark.parametrize(
    ("status", "balance", "after"),
    [
        # Nothing left to pay: paid, whatever the account was, unless it is closed.
        ("active", Decimal("0.00"), "paid"),
        ("promised", Decimal("0.00"), "paid"),
        ("disputed", Decimal("0.00"), "paid"),
        ("paid", Decimal("0.00"), "paid"),
        ("closed", Decimal("0.00"), "closed"),
        # A cent either side of nothing.
        ("active", Decimal("0.01"), "active"),
        ("active", Decimal("-0.01"), "active"),
        ("promised", Decimal("1.00"), "promised"),
        # A paid account that owes again (a refund, a reversal) is active again...
        ("paid", Decimal("0.01"), "active"),
        ("paid", Decimal("1.00"), "active"),
        # ...but one still at nothing, or below, stays paid; a closed one stays closed.
        ("paid", Decimal("-0.01"), "paid"),
        ("closed", Decimal("0.01"), "closed"),
    ],
)
def test_the_status_a_change_of_balance_leaves(status: str, balance: Decimal, after: str) -> None:
    assert _status_after(status, balance) == after


def test_a_payment_that_went_through_tells_the_page_its_receipt() -> None:
    """Number, method and time: what the page's receipt shows beside the amount."""
    paid = msgspec.structs.replace(
        failed_payment(),
        status="succeeded",
        method="bank_transfer",
        failure_reason=None,
        failed_at=None,
        received_at=AT,
    )
    assert debtor_view(paid, None)["payment"] == {
        "id": 7,
        "amount": "40.00",
        "currency": "USD",
        "status": "succeeded",
        "provider_ref": "pi_123",
        "failure_reason": None,
        "method": "bank_transfer",
        "received_at": "2026-11-30T12:00:00+00:00",
        "receipt": "R-7",
    }
