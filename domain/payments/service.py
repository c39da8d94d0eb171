"""Payments: exact money, allocated fees -> interest -> principal, under the account's row lock.

A payment taken on the phone or pushed by an integrator is recorded as received at once.
One made through a provider's checkout starts pending and is settled when the provider's
webhook says it succeeded or failed. Refunds and reversals put back exactly what the
payment had paid off. Every change is an audit row and an event, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from channels import names
from domain.accounts.audience import account_audience, balance_audience, bulk_audience
from domain.accounts.service import ANNOUNCE_SLICE, AccountService
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.custom_fields.service import CustomFieldService
from domain.db import Connection
from domain.errors import Conflict, InvalidInput, NotFound
from domain.money import allocate, check_amount, display, minor_digits
from domain.outbox import events
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.payments import queries
from domain.payments.schemas import (
    MAX_BACKDATE,
    Payment,
    PaymentCreate,
    payment_from_row,
    receipt_number,
)
from domain.service import Service


def debtor_view(payment: Payment | None, account: Any | None) -> dict[str, Any]:
    """What the debtor's own page may hear of a change: figures, no internals."""
    data: dict[str, Any] = {}
    if payment is not None:
        data["payment"] = {
            "id": payment.id,
            "amount": str(payment.amount),
            "currency": payment.currency,
            "status": payment.status,
            "provider_ref": payment.provider_ref,
            # The provider's word on a declined card; a refund's or reversal's reason is a
            # manager's note, not the debtor's to read.
            "failure_reason": payment.failure_reason if payment.status == "failed" else None,
            # What the receipt on the page shows: how and when it was paid.
            "method": payment.method,
            "received_at": payment.received_at.isoformat() if payment.received_at else None,
        }
        if payment.status in ("succeeded", "refunded", "reversed"):
            # The number the receipt e-mail carries; a payment that never went through has none.
            data["payment"]["receipt"] = receipt_number(payment.id)
    if account is not None:
        data["account"] = {
            "currency": account.currency,
            "balance": str(account.balance),
            "principal": str(account.principal),
            "interest": str(account.interest),
            "fees": str(account.fees),
            "status": account.status,
        }
    return data


def _status_after(status: str, balance: Decimal) -> str:
    """An account with nothing left to pay is paid; one that owes again is no longer paid."""
    if balance == 0 and status not in ("closed",):
        return "paid"
    if balance > 0 and status == "paid":
        return "active"
    return status


# How long a provider's checkout may stay open (the sandbox's sessions last as long): one
# not paid by then can no longer take money, and no longer holds part of the balance.
CHECKOUT_LIFETIME = dt.timedelta(hours=1)


class PaymentService(Service):
    def __init__(self, conn: Connection, actor: Actor, clock: Clock = utcnow) -> None:
        super().__init__(conn, actor, clock)
        self.accounts = self.using(AccountService)

    def _payment(self, row: asyncpg.Record) -> Payment:
        return payment_from_row(row, minor_digits(row["currency"]))

    async def get(self, payment_id: int) -> Payment:
        row = await queries.get(self.conn, payment_id)
        if row is None:
            raise NotFound(f"payment {payment_id} not found")
        await self._its_account(payment_id, row["account_id"])
        return self._payment(row)

    async def _its_account(self, payment_id: int, account_id: int) -> None:
        """The payment is the caller's to see when its account is; any other payment is not
        found, as if it did not exist, so that its id tells nothing (not even its account)."""
        try:
            await self.accounts.get(account_id)
        except NotFound:
            raise NotFound(f"payment {payment_id} not found") from None

    async def list(
        self, account_id: int, *, cursor: str | None = None, limit: int = 50
    ) -> Page[Payment]:
        check_limit(limit)
        await self.accounts.get(account_id)
        before = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.for_account(self.conn, account_id, before_id=before, limit=limit + 1)
        return page(
            [self._payment(r) for r in rows],
            limit,
            lambda p: (p.id,),
            tenant_id=self.actor.tenant_id,
        )

    async def may_pay(self, account_id: int) -> None:
        """The access a payment on this account needs (404 unless the caller may see it),
        checked alone: a replayed payment is checked again with it."""
        await self.accounts.get(account_id)

    async def _locked_account(self, account_id: int) -> asyncpg.Record:
        await self.may_pay(account_id)
        locked = await queries.lock_account(self.conn, account_id)
        if locked is None:
            raise NotFound(f"account {account_id} not found")
        return locked

    def _check_money(self, amount: Decimal, currency: str, account: asyncpg.Record) -> Decimal:
        if currency != account["currency"]:
            raise InvalidInput(
                f"this account is in {account['currency']}, not {currency}", field="currency"
            )
        return check_amount(amount, currency, field="amount", positive=True)

    async def record(self, account_id: int, data: PaymentCreate, *, source: str) -> Payment:
        """A payment received outside the checkout: allocated and applied at once."""
        account = await self._locked_account(account_id)
        amount = self._check_money(data.amount, data.currency, account)
        received_at = data.received_at or self.clock()
        if received_at.tzinfo is None:
            raise InvalidInput("received_at needs a time zone offset", field="received_at")
        if received_at > self.clock() + dt.timedelta(minutes=5):
            raise InvalidInput("received_at is in the future", field="received_at")
        if received_at < self.clock() - MAX_BACKDATE:
            raise InvalidInput("received_at is more than ten years ago", field="received_at")
        tenant = await self.tenant()
        split = allocate(
            amount,
            fees=account["fees"],
            interest=account["interest"],
            principal=account["principal"],
            allow_credit=tenant.settings.payments.hold_overpayment_as_credit,
            currency=account["currency"],
        )
        row = await queries.insert(
            self.conn,
            self.actor.tenant_id,
            {
                "account_id": account_id,
                "amount": amount,
                "currency": account["currency"],
                "status": "succeeded",
                "method": data.method,
                "source": source,
                "reference": data.reference,
                "applied_fees": split.fees,
                "applied_interest": split.interest,
                "applied_principal": split.principal,
                "applied_credit": split.credit,
                "received_at": received_at,
                "created_by": self.actor.id if self.actor.is_user else None,
            },
        )
        return await self._applied(account, row, events.PAYMENT_RECEIVED, "payment.record", sign=-1)

    async def start_checkout(
        self,
        account_id: int,
        amount: Decimal,
        *,
        provider: str,
        provider_ref: str,
        source: str = "debtor",
    ) -> Payment:
        """A payment the debtor is making through a provider: pending until its webhook."""
        account = await self._locked_account(account_id)
        amount = self._check_money(amount, account["currency"], account)
        balance = account["fees"] + account["interest"] + account["principal"]
        currency = account["currency"]
        if amount > balance:
            # In the currency's format, as the refusal of a recorded payment says it.
            shown = display(balance, currency)
            raise InvalidInput(f"the amount is more than the balance of {shown}", field="amount")
        # Checkouts under way count against the balance (the account row is locked, so two
        # at once see each other): three tabs paying the whole balance would take it three
        # times, and money a provider took is never refused.
        under_way, newest = await queries.checkouts_under_way(
            self.conn, account_id, CHECKOUT_LIFETIME
        )
        if under_way and amount > balance - under_way:
            ends = (newest + CHECKOUT_LIFETIME).strftime("%H:%M UTC")
            room = balance - under_way
            rest = (
                f"at most {display(room, currency)} more can be paid now"
                if room > 0
                else "nothing more can be paid until it ends"
            )
            raise Conflict(
                f"a payment of {display(under_way, currency)} on this account is still under "
                f"way: {rest} (a payment left unfinished ends by {ends})"
            )
        row = await queries.insert(
            self.conn,
            self.actor.tenant_id,
            {
                "account_id": account_id,
                "amount": amount,
                "currency": account["currency"],
                "status": "pending",
                "method": "card",
                "source": source,
                "provider": provider,
                "provider_ref": provider_ref,
            },
        )
        payment = self._payment(row)
        await self.changes.record(
            action="payment.start",
            entity_type="payment",
            entity_id=payment.id,
            before=None,
            after=msgspec.to_builtins(payment),
            event_type=events.PAYMENT_PENDING,
            channels=account_audience(account_id, account["owner_id"]),
        )
        await self.changes.event(
            events.PAYMENT_PENDING, [names.pay(account_id)], debtor_view(payment, None)
        )
        return payment

    async def succeed(self, payment_id: int) -> Payment:
        """The provider took the money: allocate it. Money already taken is never refused;
        what exceeds the balance by now is held as credit."""
        row = await queries.get(self.conn, payment_id, for_update=True)
        if row is None:
            raise NotFound(f"payment {payment_id} not found")
        if row["status"] != "pending":
            return self._payment(row)  # settled before: nothing changes
        account = await queries.lock_account(self.conn, row["account_id"])
        assert account is not None
        split = allocate(
            row["amount"],
            fees=account["fees"],
            interest=account["interest"],
            principal=account["principal"],
            allow_credit=True,
        )
        updated = await queries.settle(
            self.conn,
            payment_id,
            status="succeeded",
            at=self.clock(),
            fees=split.fees,
            interest=split.interest,
            principal=split.principal,
            credit=split.credit,
        )
        return await self._applied(
            account,
            updated,
            events.PAYMENT_RECEIVED,
            "payment.succeed",
            sign=-1,
            before=self._payment(row),
        )

    async def fail(self, payment_id: int, reason: str) -> Payment:
        row = await queries.get(self.conn, payment_id, for_update=True)
        if row is None:
            raise NotFound(f"payment {payment_id} not found")
        if row["status"] != "pending":
            return self._payment(row)
        updated = await queries.settle(
            self.conn, payment_id, status="failed", at=self.clock(), failure_reason=reason[:500]
        )
        before, after = self._payment(row), self._payment(updated)
        account = await self.accounts.get_unrestricted(after.account_id)
        await self.changes.record(
            action="payment.fail",
            entity_type="payment",
            entity_id=payment_id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type=events.PAYMENT_FAILED,
            channels=account_audience(after.account_id, account.owner_id),
            data={"payment": msgspec.to_builtins(after)},
        )
        await self.changes.event(
            events.PAYMENT_FAILED, [names.pay(after.account_id)], debtor_view(after, None)
        )
        return after

    async def undo(self, payment_id: int, kind: str, reason: str) -> Payment:
        """Refund or reverse a received payment: put back exactly what it paid off."""
        row = await queries.get(self.conn, payment_id, for_update=True)
        if row is None:
            raise NotFound(f"payment {payment_id} not found")
        await self._its_account(payment_id, row["account_id"])
        if row["status"] != "succeeded":
            raise Conflict(f"only a received payment can be {kind}; this one is {row['status']}")
        account = await queries.lock_account(self.conn, row["account_id"])
        assert account is not None
        if account["credit"] < row["applied_credit"]:
            raise Conflict("the credit this payment left has been used since")
        updated = await queries.settle(
            self.conn,
            payment_id,
            status=kind,
            at=self.clock(),
            fees=row["applied_fees"],
            interest=row["applied_interest"],
            principal=row["applied_principal"],
            credit=row["applied_credit"],
            failure_reason=reason or None,
        )
        if kind == "refunded":
            event_type, action = events.PAYMENT_REFUNDED, "payment.refund"
        else:
            event_type, action = events.PAYMENT_REVERSED, "payment.reverse"
        return await self._applied(
            account, updated, event_type, action, sign=1, before=self._payment(row)
        )

    async def announce_imported(self, payment_ids: list[int]) -> int:
        """The events of payments an import recorded (its statement wrote them, their
        accounts' balances and audit rows): each ``payment.received`` with its account as
        the batch left it, to the account's audience and its payment page, as a payment
        taken here announces itself; the accounts' computed fields follow their balances.
        Returns how many payments were announced."""
        # In slices, so that a batch's events are never all in memory at once (the slices
        # follow the payments' ids, and so the rows of the file).
        for first in range(0, len(payment_ids), ANNOUNCE_SLICE):
            rows = await queries.get_many(self.conn, payment_ids[first : first + ANNOUNCE_SLICE])
            payments = [self._payment(r) for r in rows]
            account_ids = sorted({p.account_id for p in payments})
            await self.using(CustomFieldService).recompute_ids("account", account_ids)
            accounts = {a.id: a for a in await self.accounts.get_many_unrestricted(account_ids)}
            announced: list[tuple[str, list[str], dict[str, Any]]] = []
            for payment in payments:
                account = accounts[payment.account_id]
                data = {
                    "payment": msgspec.to_builtins(payment),
                    "account": msgspec.to_builtins(account),
                }
                audience = bulk_audience(payment.account_id, account.owner_id)
                announced.append((events.PAYMENT_RECEIVED, audience, data))
                page = debtor_view(payment, account)
                announced.append((events.PAYMENT_RECEIVED, [names.pay(payment.account_id)], page))
            await self.changes.record_many(
                action="payment.import_create", entity_type="payment", changes=[], events=announced
            )
        return len(payment_ids)

    async def _applied(
        self,
        account: asyncpg.Record,
        row: asyncpg.Record,
        event_type: str,
        action: str,
        *,
        sign: int,
        before: Payment | None = None,
    ) -> Payment:
        """Apply (sign -1) or take back (sign +1) a payment's allocation on its account, and
        record the change with the account as it now stands."""
        payment = self._payment(row)
        split = payment.allocation
        balance_after = (
            account["fees"]
            + account["interest"]
            + account["principal"]
            + sign * (split.fees + split.interest + split.principal)
        )
        await queries.apply_to_account(
            self.conn,
            payment.account_id,
            fees=sign * split.fees,
            interest=sign * split.interest,
            principal=sign * split.principal,
            credit=-sign * split.credit,
            status=_status_after(account["status"], balance_after),
        )
        await self.using(CustomFieldService).recompute_ids("account", [payment.account_id])
        account_after = await self.accounts.get_unrestricted(payment.account_id)
        data: dict[str, Any] = {
            "payment": msgspec.to_builtins(payment),
            "account": msgspec.to_builtins(account_after),
        }
        await self.changes.record(
            action=action,
            entity_type="payment",
            entity_id=payment.id,
            before=msgspec.to_builtins(before) if before else None,
            after=msgspec.to_builtins(payment),
            event_type=event_type,
            channels=await balance_audience(self.conn, payment.account_id, account["owner_id"]),
            data=data,
        )
        await self.changes.event(
            event_type, [names.pay(payment.account_id)], debtor_view(payment, account_after)
        )
        return payment
