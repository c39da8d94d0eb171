"""Accounts: the debts Recoup collects, their balances, lateness and owners."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from domain.accounts import queries
from domain.accounts.audience import account_audience
from domain.accounts.schemas import (
    ACCOUNT_STATUSES,
    UNSET,
    Account,
    AccountCreate,
    AccountFilter,
    AccountUpdate,
)
from domain.channel_access import announce_access_change
from domain.debtors.service import DebtorService
from domain.errors import Conflict, InvalidInput, NotFound
from domain.money import check_amount, check_currency, minor_digits
from domain.outbox import events
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.service import Service
from domain.tenancy.schemas import Tenant, local_today
from domain.users import queries as user_queries
from domain.validation import check_custom


def days_past_due(due_date: dt.date | None, today: dt.date) -> int:
    """Whole days since the due date; 0 before it, or without one."""
    if due_date is None:
        return 0
    return max(0, (today - due_date).days)


def bucket_for(tenant: Tenant, days: int) -> str:
    for bucket in tenant.settings.buckets:
        if bucket.contains(days):
            return bucket.name
    return tenant.settings.buckets[-1].name


def to_account(row: asyncpg.Record, tenant: Tenant, today: dt.date) -> Account:
    quantum = Decimal(1).scaleb(-minor_digits(row["currency"]))
    principal = row["principal"].quantize(quantum)
    interest = row["interest"].quantize(quantum)
    fees = row["fees"].quantize(quantum)
    dpd = days_past_due(row["due_date"], today)
    return Account(
        id=row["id"],
        external_ref=row["external_ref"],
        debtor_id=row["debtor_id"],
        debtor_name=row["debtor_name"],
        creditor=row["creditor"],
        currency=row["currency"],
        principal=principal,
        interest=interest,
        fees=fees,
        balance=principal + interest + fees,
        due_date=row["due_date"],
        days_past_due=dpd,
        bucket=bucket_for(tenant, dpd),
        status=row["status"],
        owner_id=row["owner_id"],
        custom=row["custom"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class AccountService(Service):
    @property
    def _viewer(self) -> int | None:
        return None if self.actor.sees_whole_tenant else self.actor.id

    async def _to_account(self, row: asyncpg.Record) -> Account:
        tenant = await self.tenant()
        return to_account(row, tenant, local_today(tenant, self.clock()))

    async def get(self, account_id: int, *, for_update: bool = False) -> Account:
        row = await queries.get(self.conn, account_id, viewer=self._viewer, for_update=for_update)
        if row is None:
            raise NotFound(f"account {account_id} not found")
        return await self._to_account(row)

    async def list(
        self, filters: AccountFilter, *, cursor: str | None = None, limit: int = 50
    ) -> Page[Account]:
        check_limit(limit)
        tenant = await self.tenant()
        today = await self.today()
        dpd_min, dpd_max = filters.dpd_min, filters.dpd_max
        if filters.bucket is not None:
            bucket = next((b for b in tenant.settings.buckets if b.name == filters.bucket), None)
            if bucket is None:
                known = ", ".join(b.name for b in tenant.settings.buckets)
                raise InvalidInput(
                    f"unknown bucket {filters.bucket!r}; this tenant has {known}", field="bucket"
                )
            dpd_min = max(dpd_min or 0, bucket.min_days)
            if bucket.max_days is not None:
                dpd_max = bucket.max_days if dpd_max is None else min(dpd_max, bucket.max_days)
        for name, value in (("dpd_min", dpd_min), ("dpd_max", dpd_max)):
            if value is not None and not 0 <= value <= 100_000:
                raise InvalidInput(f"{name} must be between 0 and 100000", field=name)
        if dpd_min is not None and dpd_max is not None and dpd_min > dpd_max:
            return Page(items=[], next_cursor=None)
        for status in filters.status or ():
            if status not in ACCOUNT_STATUSES:
                raise InvalidInput(f"unknown status {status!r}", field="status")
        after = decode_cursor(cursor, tuple[int])[0] if cursor else None
        rows = await queries.search(
            self.conn,
            viewer=self._viewer,
            statuses=filters.status,
            due_on_or_before=today - dt.timedelta(days=dpd_min) if dpd_min else None,
            due_on_or_after=today - dt.timedelta(days=dpd_max) if dpd_max is not None else None,
            owner_id=filters.owner_id,
            unowned=filters.unowned,
            currency=filters.currency,
            debtor_id=filters.debtor_id,
            text=filters.q,
            after_id=after,
            limit=limit + 1,
        )
        items = [to_account(r, tenant, today) for r in rows]
        return page(items, limit, lambda a: (a.id,))

    async def create(self, data: AccountCreate) -> Account:
        currency = check_currency(data.currency)
        balances = {
            name: check_amount(getattr(data, name), currency, field=name)
            for name in ("principal", "interest", "fees")
        }
        check_custom(data.custom)
        if (data.debtor_id is None) == (data.debtor is None):
            raise InvalidInput("send exactly one of debtor_id or debtor", field="debtor_id")
        await self._check_owner(data.owner_id)
        if await queries.ref_taken(self.conn, data.external_ref):
            raise Conflict(
                f"an account with external_ref {data.external_ref!r} already exists",
                field="external_ref",
            )
        debtors = self.using(DebtorService)
        if data.debtor is not None:
            debtor_id = (await debtors.create(data.debtor)).id
        else:
            assert data.debtor_id is not None
            try:
                debtor_id = (await debtors.get(data.debtor_id)).id
            except NotFound:
                raise InvalidInput(
                    f"debtor {data.debtor_id} not found", field="debtor_id"
                ) from None
        values = {
            "debtor_id": debtor_id,
            "external_ref": data.external_ref,
            "creditor": data.creditor.strip(),
            "currency": currency,
            **balances,
            "due_date": data.due_date,
            "status": data.status,
            "owner_id": data.owner_id,
            "custom": data.custom,
        }
        try:
            account_id = await queries.insert(self.conn, self.actor.tenant_id, values)
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "an account with that external_ref already exists", field="external_ref"
            ) from None
        account = await self.get_unrestricted(account_id)
        await self.changes.record(
            action="account.create",
            entity_type="account",
            entity_id=account.id,
            before=None,
            after=msgspec.to_builtins(account),
            event_type=events.ACCOUNT_CREATED,
            channels=account_audience(account.id, account.owner_id),
        )
        return account

    async def update(self, account_id: int, data: AccountUpdate) -> Account:
        before = await self.get(account_id, for_update=True)
        if data.version is not UNSET and data.version != before.version:
            raise Conflict(
                f"account {account_id} changed since version {data.version} "
                f"(now {before.version}); reload and try again",
                field="version",
                current_version=before.version,
            )
        changes: dict[str, Any] = {}
        for name in ("principal", "interest", "fees"):
            value = getattr(data, name)
            if value is not UNSET:
                changes[name] = check_amount(value, before.currency, field=name)
        if data.external_ref is not UNSET:
            if data.external_ref != before.external_ref and await queries.ref_taken(
                self.conn, data.external_ref, other_than=account_id
            ):
                raise Conflict(
                    f"an account with external_ref {data.external_ref!r} already exists",
                    field="external_ref",
                )
            changes["external_ref"] = data.external_ref
        if data.creditor is not UNSET:
            changes["creditor"] = data.creditor.strip()
        if data.due_date is not UNSET:
            changes["due_date"] = data.due_date
        if data.status is not UNSET:
            changes["status"] = data.status
        if data.owner_id is not UNSET:
            await self._check_owner(data.owner_id)
            changes["owner_id"] = data.owner_id
        if data.custom is not UNSET:
            changes["custom"] = check_custom(data.custom)
        changes = {k: v for k, v in changes.items() if getattr(before, k) != v}
        if not changes:
            return before
        await queries.update(self.conn, account_id, changes)
        after = await self.get_unrestricted(account_id)
        await self.changes.record(
            action="account.update",
            entity_type="account",
            entity_id=account_id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type=events.ACCOUNT_UPDATED,
            channels=account_audience(account_id, after.owner_id, before.owner_id),
            data={**msgspec.to_builtins(after), "changed": sorted(changes)},
        )
        if "owner_id" in changes:
            await announce_access_change(self.changes, accounts=[account_id])
        return after

    async def get_unrestricted(self, account_id: int) -> Account:
        """Re-read an account just written (a collector may have moved it out of view)."""
        row = await queries.get(self.conn, account_id)
        if row is None:
            raise NotFound(f"account {account_id} not found")
        return await self._to_account(row)

    async def _check_owner(self, owner_id: int | None) -> None:
        if owner_id is not None and not await user_queries.is_agent(self.conn, owner_id):
            raise InvalidInput(
                f"user {owner_id} not found, inactive, or read-only", field="owner_id"
            )
