"""Accounts: the debts Recoup collects, their balances, lateness and owners."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from domain.accounts import queries
from domain.accounts.audience import account_audience, balance_audience, bulk_audience
from domain.accounts.schemas import (
    ACCOUNT_STATUSES,
    STATUS_CHANGES_HERE,
    UNSET,
    Account,
    AccountCreate,
    AccountFilter,
    AccountUpdate,
)
from domain.channel_access import announce_access_change
from domain.custom_fields.service import CustomFieldService
from domain.custom_fields.values import merged
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


# How many accounts of a bulk change are announced per statement.
ANNOUNCE_SLICE = 1_000


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

    async def search_terms(self, filters: AccountFilter) -> dict[str, Any] | None:
        """``filters`` checked (422 on a bad one) and turned into ``queries.filter_where``'s
        terms for this viewer; None when they can match nothing (``dpd_min`` over
        ``dpd_max``). The list and the export share it."""
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
        for status in filters.status or ():
            if status not in ACCOUNT_STATUSES:
                raise InvalidInput(f"unknown status {status!r}", field="status")
        if dpd_min is not None and dpd_max is not None and dpd_min > dpd_max:
            return None
        return {
            "viewer": self._viewer,
            "statuses": filters.status,
            "due_on_or_before": today - dt.timedelta(days=dpd_min) if dpd_min else None,
            "due_on_or_after": today - dt.timedelta(days=dpd_max) if dpd_max is not None else None,
            "owner_id": filters.owner_id,
            "unowned": filters.unowned,
            "currency": filters.currency,
            "debtor_id": filters.debtor_id,
            "text": filters.q,
            "custom": await self.using(CustomFieldService).filter_terms(filters.custom or {}),
        }

    async def list(
        self, filters: AccountFilter, *, cursor: str | None = None, limit: int = 50
    ) -> Page[Account]:
        check_limit(limit)
        terms = await self.search_terms(filters)
        if terms is None:
            return Page(items=[], next_cursor=None)
        after = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.search(self.conn, after_id=after, limit=limit + 1, **terms)
        tenant = await self.tenant()
        today = await self.today()
        items = [to_account(r, tenant, today) for r in rows]
        return page(items, limit, lambda a: (a.id,), tenant_id=self.actor.tenant_id)

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
        }
        values["custom"] = await self.using(CustomFieldService).accept(
            "account", data.custom, before=None, record=values
        )
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
        if data.status is not UNSET:
            raise InvalidInput(STATUS_CHANGES_HERE.replace("{id}", str(account_id)), field="status")
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
        if data.owner_id is not UNSET:
            await self._check_owner(data.owner_id)
            changes["owner_id"] = data.owner_id
        if data.custom is not UNSET:
            changes["custom"] = merged(before.custom, check_custom(data.custom))
        return await self._apply(before, changes)

    async def set_status(self, account_id: int, status: str) -> Account:
        """A workflow's ``set_status`` step: the tenant's own automation, not a desk change."""
        before = await self.get(account_id, for_update=True)
        return await self._apply(before, {"status": status})

    async def _apply(self, before: Account, changes: dict[str, Any]) -> Account:
        account_id = before.id
        # Every change passes the tenant's custom fields: sent values checked, computed
        # ones evaluated over the account as it will be.
        record = {**msgspec.structs.asdict(before), **changes}
        changes["custom"] = await self.using(CustomFieldService).accept(
            "account", changes.get("custom", before.custom), before=before.custom, record=record
        )
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
            channels=await balance_audience(self.conn, account_id, after.owner_id, before.owner_id),
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

    async def announce_imported(self, *, created: list[int], updated: list[int]) -> int:
        """The events of the accounts an import wrote (its statements wrote them and their
        audit rows), one statement for all: ``account.created`` for each new one, to the
        jobs that take events (webhooks) but no socket (no screen can hold it yet); and
        ``account.updated`` for each one written over, to its audience (open screens, the
        workflows that start on it), as an edit here announces itself."""
        ids = sorted({*created, *updated})
        new = set(created)
        # In slices, so that a batch's events are never all in memory at once.
        for start in range(0, len(ids), ANNOUNCE_SLICE):
            announced: list[tuple[str, list[str], dict[str, Any]]] = []
            for account in await self.get_many_unrestricted(ids[start : start + ANNOUNCE_SLICE]):
                data = msgspec.to_builtins(account)
                if account.id in new:
                    announced.append((events.ACCOUNT_CREATED, [], data))
                else:
                    channels = bulk_audience(account.id, account.owner_id)
                    announced.append((events.ACCOUNT_UPDATED, channels, data))
            await self.changes.record_many(
                action="account.import", entity_type="account", changes=[], events=announced
            )
        return len(ids)

    async def get_many_unrestricted(self, account_ids: list[int]) -> list[Account]:
        """Re-read many accounts just written (an import's), in id order."""
        return [
            await self._to_account(row) for row in await queries.get_many(self.conn, account_ids)
        ]

    async def _check_owner(self, owner_id: int | None) -> None:
        if owner_id is not None and not await user_queries.is_agent(self.conn, owner_id):
            raise InvalidInput(
                f"user {owner_id} not found, inactive, or read-only", field="owner_id"
            )
