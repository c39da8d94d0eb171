"""What the debtor's payment page reads and does, as the holder of one payment link.

The actor comes from ``links.open_link`` and may act on its one account only; the page sees
that account's figures and promises, nothing else (no other debts, no notes, no people).
The caller owns the tenant transaction, as with any service.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain.accounts.disputes import DisputeService
from domain.accounts.service import AccountService
from domain.actor import Actor
from domain.db import Connection
from domain.debtors import queries as debtor_queries
from domain.errors import Conflict, Forbidden, NotFound
from domain.money import in_currency, minor_digits
from domain.payments import queries
from domain.payments.agency import agency_of
from domain.payments.schemas import (
    CheckoutState,
    DebtorAccount,
    DebtorDispute,
    DebtorPayment,
    DebtorPromise,
    DisputeState,
    Payment,
    PromiseDates,
    PromiseView,
    money,
    receipt_number,
)
from domain.payments.service import CHECKOUT_LIFETIME, PaymentService
from domain.promises.schemas import Promise, PromiseCreate
from domain.promises.service import PromiseService

# The provider behind the page's checkout: the built-in sandbox.
CHECKOUT_PROVIDER = "sandbox"
# What the checkout says the money goes to when the account names no creditor.
ANY_CREDITOR = "your creditor"
# The page lists payments that went through (pending and failed tries are not payments).
SHOWN_PAYMENTS = ("succeeded", "refunded", "reversed")
PAYMENTS_SHOWN = 10
PAYMENTS_LOOKED_AT = 30


def _linked_account(actor: Actor) -> int:
    """The one account a payment link lets its holder act on."""
    if actor.account_id is None:
        raise Forbidden("only the holder of a payment link has a payment page")
    return actor.account_id


def _promise_view(promise: Promise) -> PromiseView:
    return PromiseView(amount=promise.amount, due_date=promise.due_date, status=promise.status)


async def debtor_summary(conn: Connection, actor: Actor) -> DebtorAccount:
    """The account's figures, the debtor's first name, and its open or kept promises; the
    agency that collects, and until when the link works."""
    accounts = AccountService(conn, actor)
    account = await accounts.get(_linked_account(actor))
    debtor = await debtor_queries.greeting(conn, account.debtor_id)
    link = await queries.link(conn, actor.id) if actor.id is not None else None
    promises = await accounts.using(PromiseService).list(account.id)
    recent = await accounts.using(PaymentService).list(account.id, limit=PAYMENTS_LOOKED_AT)
    tenant = await accounts.tenant()
    today = await accounts.today()
    disputed = await accounts.using(DisputeService).current(account.id)
    under_way, _ = await queries.checkouts_under_way(conn, account.id, CHECKOUT_LIFETIME)
    return DebtorAccount(
        creditor=account.creditor,
        reference=account.external_ref,
        first_name=debtor["first_name"] if debtor else "",
        time_zone=debtor["time_zone"] if debtor else tenant.time_zone,
        agency=agency_of(tenant),
        link_expires_at=link["expires_at"] if link else accounts.clock(),
        dispute=(
            DisputeState(reason=disputed.reason, opened_at=disputed.opened_at)
            if disputed is not None
            else None
        ),
        promise_dates=PromiseDates(
            earliest=today,
            latest=today + dt.timedelta(days=tenant.settings.promises.max_days_ahead),
        ),
        currency=account.currency,
        balance=account.balance,
        principal=account.principal,
        interest=account.interest,
        fees=account.fees,
        status=account.status,
        promises=[_promise_view(p) for p in promises if p.status in ("pending", "kept")],
        under_way=in_currency(under_way, account.currency),
        payments=[
            DebtorPayment(
                receipt=receipt_number(p.id),
                amount=p.amount,
                status=p.status,
                method=p.method,
                received_at=p.received_at,
            )
            for p in recent.items
            if p.status in SHOWN_PAYMENTS
        ][:PAYMENTS_SHOWN],
    )


async def start_checkout(
    conn: Connection, actor: Actor, amount: Decimal, checkout_id: str
) -> tuple[Payment, str]:
    """A pending payment for the provider's checkout ``checkout_id``, and the creditor the
    checkout names as the payee."""
    account_id = _linked_account(actor)
    payments = PaymentService(conn, actor)
    payment = await payments.start_checkout(
        account_id, amount, provider=CHECKOUT_PROVIDER, provider_ref=checkout_id
    )
    account = await payments.accounts.get(account_id)
    return payment, account.creditor or ANY_CREDITOR


async def checkout_state(conn: Connection, actor: Actor, checkout_id: str) -> CheckoutState:
    """How the checkout ``checkout_id`` on the link's account stands (pending until the
    provider's webhook)."""
    row = await queries.checkout(conn, _linked_account(actor), CHECKOUT_PROVIDER, checkout_id)
    if row is None:
        raise NotFound("no such checkout for this account")
    return CheckoutState(
        id=row["id"],
        amount=money(row["amount"], minor_digits(row["currency"])),
        status=row["status"],
        # (the provider's word on a decline; a refund's reason is a manager's note)
        failure_reason=row["failure_reason"] if row["status"] == "failed" else None,
        receipt=receipt_number(row["id"]) if row["status"] in SHOWN_PAYMENTS else None,
        method=row["method"],
        received_at=row["received_at"],
    )


async def promise(conn: Connection, actor: Actor, data: DebtorPromise) -> list[PromiseView]:
    """The debtor's promise to pay by a date: all that is not promised yet unless an amount
    is given (the same rule as staff promises: never more than the balance in all)."""
    account_id = _linked_account(actor)
    promises = PromiseService(conn, actor)
    amount = data.amount
    if amount is None:
        # The day is checked first: a day the page should not have offered is the answer
        # even when everything owed is already promised.
        await promises.check_due_date(data.due_date)
        account = await promises.accounts.get(account_id)
        amount = await promises.unpromised(account)
        if amount <= 0:
            raise Conflict("everything owed is already promised", field="amount")
    made = await promises.make(
        account_id, PromiseCreate(amount=amount, due_date=data.due_date), source="debtor"
    )
    return [_promise_view(p) for p in made]


async def dispute(conn: Connection, actor: Actor, data: DebtorDispute) -> DisputeState:
    """The debtor disputes the debt: the account becomes disputed, which pauses contact until
    a person looks into it. Disputing again while it is open answers the same dispute."""
    opened, _ = await DisputeService(conn, actor).open(
        _linked_account(actor), data.reason, data.details, source="debtor"
    )
    return DisputeState(reason=opened.reason, opened_at=opened.opened_at)
