"""Exports: accounts, payments and interactions as CSV, under the list's filters and the
caller's view of the tenant, streamed from PostgreSQL (COPY) without holding the file.

``ExportService`` checks the filters and the caller in the request's transaction (a bad
filter is a 422 before anything is sent) and returns the statement; ``stream`` runs it in
a transaction of its own, as long as the download lasts. Once the first bytes are sent the
status is said: a database that fails later cuts the file short (the client sees an
incomplete download, never a 503).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from domain.accounts import queries as account_queries
from domain.accounts.schemas import AccountFilter
from domain.accounts.service import AccountService
from domain.custom_fields.service import CustomFieldService
from domain.db import Database
from domain.errors import InvalidInput
from domain.exports import queries
from domain.service import Service
from domain.sql import Where
from domain.validation import check_day

# At most this many rows per file when a limit is given (a whole tenant otherwise).
MAX_LIMIT = 10_000_000
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "refunded", "reversed")
CHANNELS = ("call", "email", "sms", "letter", "note")


class Export(msgspec.Struct, frozen=True):
    """A statement ready to stream, and the file name it downloads as."""

    sql: str
    args: tuple[Any, ...]
    file_name: str


class ActivityFilter(msgspec.Struct, kw_only=True):
    """Payments' or interactions' filters: one account, kinds, and a period in the tenant's
    calendar (``from``/``to`` days included)."""

    account_id: int | None = None
    kinds: list[str] | None = None
    from_: dt.date | None = None
    to: dt.date | None = None


class ExportService(Service):
    @property
    def _viewer(self) -> int | None:
        return None if self.actor.sees_whole_tenant else self.actor.id

    def _check_limit(self, limit: int | None) -> None:
        if limit is not None and not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")

    async def _name(self, kind: str) -> str:
        return f"{kind}-{await self.today()}.csv"

    async def accounts(self, filters: AccountFilter, limit: int | None = None) -> Export:
        self._check_limit(limit)
        terms = (
            await AccountService(self.conn, self.actor)
            .knows_tenant(await self.tenant())
            .search_terms(filters)
        )
        w = Where()
        tenant = await self.tenant()
        buckets = [(b.name, b.min_days, b.max_days) for b in tenant.settings.buckets]
        if terms is None:
            w.add("false")
        else:
            account_queries.filter_where(w, **terms)
        fields = self.using(CustomFieldService)
        custom = [
            (f.entity, f.key, f.type)
            for entity in ("account", "debtor")
            for f in await fields.fields(entity)
        ]
        sql = queries.accounts_sql(w, await self.today(), buckets, limit, custom)
        return Export(sql, tuple(w.args), await self._name("accounts"))

    async def _activity(
        self,
        filters: ActivityFilter,
        kinds: tuple[str, ...],
        kind_field: str,
        alias: str,
        at: str,
    ) -> Where:
        for day, name in ((filters.from_, "from"), (filters.to, "to")):
            if day is not None:
                check_day(day, field=name)
        if filters.from_ and filters.to and filters.from_ > filters.to:
            raise InvalidInput("from must be on or before to", field="from")
        for kind in filters.kinds or ():
            if kind not in kinds:
                raise InvalidInput(f"unknown {kind_field} {kind!r}", field=kind_field)
        w = Where()
        if filters.account_id is not None:
            # The account must be one the caller sees (404 otherwise, like its own lists).
            await AccountService(self.conn, self.actor).get(filters.account_id)
            w.add(f"{alias}.account_id = {w.param(filters.account_id)}")
        queries.seen_by(w, self._viewer)
        if filters.kinds:
            w.add(f"{alias}.{kind_field} = ANY({w.param(filters.kinds)}::text[])")
        zone = (await self.tenant()).time_zone
        if filters.from_ is not None:
            w.add(
                f"{at} >= ({w.param(filters.from_)}::date::timestamp AT TIME ZONE {w.param(zone)})"
            )
        if filters.to is not None:
            day_after = filters.to + dt.timedelta(days=1)
            w.add(f"{at} < ({w.param(day_after)}::date::timestamp AT TIME ZONE {w.param(zone)})")
        return w

    async def payments(self, filters: ActivityFilter, limit: int | None = None) -> Export:
        self._check_limit(limit)
        w = await self._activity(filters, PAYMENT_STATUSES, "status", "p", "p.created_at")
        sql = queries.select(queries.PAYMENT_COLUMNS, queries.PAYMENTS_FROM, w, "p.id")
        sql = queries.limited(sql, w, limit)
        return Export(sql, tuple(w.args), await self._name("payments"))

    async def interactions(self, filters: ActivityFilter, limit: int | None = None) -> Export:
        self._check_limit(limit)
        w = await self._activity(filters, CHANNELS, "channel", "i", "i.occurred_at")
        sql = queries.select(queries.INTERACTION_COLUMNS, queries.INTERACTIONS_FROM, w, "i.id")
        return Export(
            queries.limited(sql, w, limit), tuple(w.args), await self._name("interactions")
        )


async def stream(db: Database, tenant_id: int, export: Export) -> AsyncIterator[bytes]:
    """``export``'s CSV, read in a read-only transaction of the tenant's own (one
    statement, so one snapshot: the file is consistent however long it takes)."""
    transaction = await db.begin(tenant_id)
    try:
        await transaction.conn.execute("SET TRANSACTION READ ONLY")
        async for chunk in queries.copy_csv(transaction.conn, export.sql, export.args):
            yield chunk
    finally:
        await transaction.rollback()
