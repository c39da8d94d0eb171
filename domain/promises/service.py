"""Promises to pay: made within the tenant's limits, then judged kept or broken by schedule."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import asyncpg
import msgspec

from channels import names
from domain.accounts.audience import account_audience
from domain.accounts.schemas import Account
from domain.accounts.service import AccountService
from domain.actor import Actor, system_actor
from domain.clock import Clock, utcnow
from domain.custom_fields.service import CustomFieldService
from domain.db import Connection
from domain.errors import Conflict, InvalidInput
from domain.money import check_amount, display, in_currency, minor_digits
from domain.outbox import events
from domain.payments.schemas import money
from domain.payments.service import debtor_view
from domain.promises import queries
from domain.promises.schemas import Instalment, Promise, PromiseCreate
from domain.service import Service


def to_promise(row: asyncpg.Record) -> Promise:
    digits = minor_digits(row["currency"])
    return Promise(**{**dict(row), "amount": money(row["amount"], digits)})


def debtor_promises(promises: list[Promise]) -> list[dict[str, str]]:
    return [
        {"amount": str(p.amount), "due_date": p.due_date.isoformat(), "status": p.status}
        for p in promises
    ]


class PromiseService(Service):
    def __init__(self, conn: Connection, actor: Actor, clock: Clock = utcnow) -> None:
        super().__init__(conn, actor, clock)
        self.accounts = self.using(AccountService)

    async def list(self, account_id: int) -> list[Promise]:
        await self.accounts.get(account_id)
        return [to_promise(r) for r in await queries.for_account(self.conn, account_id)]

    async def due_dates(self) -> tuple[dt.date, dt.date]:
        """The first and the last day a promise may be due on, in the tenant's calendar."""
        today = await self.today()
        rules = (await self.tenant()).settings.promises
        return today, today + dt.timedelta(days=rules.max_days_ahead)

    async def check_due_date(self, due_date: dt.date, field: str = "due_date") -> None:
        """422 for a day a promise may not be due on."""
        today, latest = await self.due_dates()
        _check_due_date(due_date, today, latest, (latest - today).days, field)

    async def make(self, account_id: int, data: PromiseCreate, *, source: str) -> list[Promise]:
        account = await self.accounts.get(account_id, for_update=True)
        tenant = await self.tenant()
        rules = tenant.settings.promises
        plan = self._instalments(data)
        if len(plan) > rules.max_instalments:
            raise InvalidInput(
                f"a plan may have at most {rules.max_instalments} instalments", field="instalments"
            )
        today, latest = await self.due_dates()
        balance = account.balance
        if balance <= 0:
            raise InvalidInput("there is nothing left to promise on this account", field="amount")
        minimum = min(balance, (balance * rules.min_share_percent / 100))
        digits = minor_digits(account.currency)
        minimum = minimum.quantize(Decimal(1).scaleb(-digits))
        total = Decimal(0)
        previous: dt.date | None = None
        for n, item in enumerate(plan):
            field = "amount" if data.instalments is None else f"instalments[{n}].amount"
            date_field = "due_date" if data.instalments is None else f"instalments[{n}].due_date"
            amount = check_amount(item.amount, account.currency, field=field, positive=True)
            _check_due_date(item.due_date, today, latest, rules.max_days_ahead, date_field)
            if previous is not None and item.due_date <= previous:
                raise InvalidInput("instalments must fall on successive dates", field=date_field)
            previous = item.due_date
            total += amount
            last = n == len(plan) - 1
            if amount < minimum and not (last and total == balance):
                raise InvalidInput(
                    f"each payment must be at least {display(minimum, account.currency)} "
                    f"({rules.min_share_percent}% of the balance)",
                    field=field,
                )
        if total > balance:
            raise InvalidInput(
                f"the promise of {display(total, account.currency)} is more than the balance "
                f"of {display(balance, account.currency)}",
                field="amount" if data.instalments is None else "instalments",
            )
        await self._within_what_is_unpromised(account, total)
        plan_id = uuid.uuid4()
        rows = await queries.insert_plan(
            self.conn,
            self.actor.tenant_id,
            [
                {
                    "account_id": account_id,
                    "plan_id": plan_id,
                    "instalment": n + 1,
                    "instalments": len(plan),
                    "amount": item.amount,
                    "currency": account.currency,
                    "due_date": item.due_date,
                    "source": source,
                    "created_by": self.actor.id if self.actor.is_user else None,
                }
                for n, item in enumerate(plan)
            ],
        )
        promises = [to_promise(r) for r in rows]
        if account.status in ("active", "promise_broken"):
            await queries.mark_promised(self.conn, account_id)
            await self.using(CustomFieldService).recompute_ids("account", [account_id])
        after = await self.accounts.get_unrestricted(account_id)
        await self.changes.record(
            action="promise.make",
            entity_type="account",
            entity_id=account_id,
            before=None,
            after={"plan_id": str(plan_id), "promises": msgspec.to_builtins(promises)},
            event_type=events.PROMISE_MADE,
            channels=account_audience(account_id, after.owner_id),
            data={"promises": msgspec.to_builtins(promises), "account": msgspec.to_builtins(after)},
        )
        await self.changes.event(
            events.PROMISE_MADE,
            [names.pay(account_id)],
            {**debtor_view(None, after), "promises": debtor_promises(promises)},
        )
        return promises

    async def unpromised(self, account: Account) -> Decimal:
        """What may still be promised on the account: its balance less what its pending
        promises still await."""
        waiting = await queries.promised_unpaid(self.conn, account.id)
        return in_currency(max(Decimal(0), account.balance - waiting), account.currency)

    async def _within_what_is_unpromised(self, account: Account, total: Decimal) -> None:
        """Promises never stack past the balance: a new one is refused (409) when, with what
        the pending ones still await, it would promise more than is owed."""
        left = await self.unpromised(account)
        if total <= left:
            return
        waiting = account.balance - left
        raise Conflict(
            f"{display(waiting, account.currency)} of the balance of "
            f"{display(account.balance, account.currency)} is already promised; "
            f"at most {display(left, account.currency)} more may be promised",
            field="amount",
            promised=str(in_currency(waiting, account.currency)),
            unpromised=str(left),
        )

    @staticmethod
    def _instalments(data: PromiseCreate) -> list[Instalment]:
        if data.instalments is not None:
            if data.amount is not None or data.due_date is not None:
                raise InvalidInput(
                    "send amount and due_date, or instalments, not both", field="instalments"
                )
            if not data.instalments:
                raise InvalidInput("a plan needs at least one instalment", field="instalments")
            return data.instalments
        if data.amount is None or data.due_date is None:
            raise InvalidInput("a promise needs an amount and a due_date", field="amount")
        return [Instalment(amount=data.amount, due_date=data.due_date)]


async def settle_promises(conn: Connection, tenant_id: int, now: dt.datetime) -> list[Promise]:
    """Judge the tenant's pending promises (in its own transaction): kept when covered, broken
    when their deadline passed uncovered. Each judgement is an event; a broken promise marks
    its account, a fully kept plan returns it to active."""
    accounts = AccountService(conn, system_actor(tenant_id))
    tenant = await accounts.tenant()
    rows = await queries.settle(
        conn, grace_days=tenant.settings.promises.grace_days, time_zone=tenant.time_zone, now=now
    )
    settled = [to_promise(r) for r in rows]
    if not settled:
        return []
    broken = sorted({p.account_id for p in settled if p.status == "broken"})
    kept_only = sorted({p.account_id for p in settled} - set(broken))
    await queries.mark_broken(conn, broken)
    await queries.mark_kept(conn, kept_only)
    await accounts.using(CustomFieldService).recompute_ids("account", broken + kept_only)
    for promise in settled:
        account = await accounts.get_unrestricted(promise.account_id)
        await accounts.changes.record(
            action=f"promise.{promise.status}",
            entity_type="promise",
            entity_id=promise.id,
            before=None,
            after=msgspec.to_builtins(promise),
            event_type=events.PROMISE_KEPT if promise.status == "kept" else events.PROMISE_BROKEN,
            channels=account_audience(promise.account_id, account.owner_id),
            data={"promise": msgspec.to_builtins(promise), "account": msgspec.to_builtins(account)},
        )
        await accounts.changes.event(
            events.PROMISE_KEPT if promise.status == "kept" else events.PROMISE_BROKEN,
            [names.pay(promise.account_id)],
            {**debtor_view(None, account), "promises": debtor_promises([promise])},
        )
    return settled


def _check_due_date(
    due_date: dt.date, today: dt.date, latest: dt.date, days: int, field: str
) -> None:
    if due_date < today:
        raise InvalidInput("a promise cannot be due in the past", field=field)
    if due_date > latest:
        raise InvalidInput(
            f"a promise may be due at most {days} days ahead (by {latest.day} {latest:%B %Y})",
            field=field,
        )
