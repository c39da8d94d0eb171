"""Debtors: who owes, how to reach them, and the contact choices they made."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from channels import names
from domain.custom_fields.service import CustomFieldService
from domain.custom_fields.values import merged
from domain.debtors import queries
from domain.debtors.schemas import UNSET, Debtor, DebtorCreate, DebtorUpdate
from domain.errors import Conflict, InvalidInput, NotFound
from domain.outbox import events
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.service import Service
from domain.validation import check_custom, check_email, check_phone, check_time_zone


def to_debtor(row: asyncpg.Record) -> Debtor:
    return Debtor(**dict(row))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the fields present in ``values`` (create or update)."""
    out = dict(values)
    for key in ("first_name", "last_name"):
        if key in out:
            out[key] = out[key].strip()
    for key in ("address_line1", "address_line2", "city", "region", "postal_code"):
        if isinstance(out.get(key), str):
            out[key] = out[key].strip() or None
    if out.get("email"):
        out["email"] = check_email(out["email"])
    if out.get("phone"):
        out["phone"] = check_phone(out["phone"])
    if "time_zone" in out:
        check_time_zone(out["time_zone"])
    if "custom" in out:
        check_custom(out["custom"])
    return out


class DebtorService(Service):
    @property
    def _viewer(self) -> int | None:
        """The collector whose view limits what is seen, or None for the whole tenant."""
        return None if self.actor.sees_whole_tenant else self.actor.id

    async def get(self, debtor_id: int, *, for_update: bool = False) -> Debtor:
        row = await queries.get(self.conn, debtor_id, viewer=self._viewer, for_update=for_update)
        if row is None:
            raise NotFound(f"debtor {debtor_id} not found")
        return to_debtor(row)

    async def list(
        self, *, q: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[Debtor]:
        check_limit(limit)
        after = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.search(
            self.conn,
            text=q,
            viewer=self._viewer,
            after_id=after,
            limit=limit + 1,
        )
        return page(
            [to_debtor(r) for r in rows], limit, lambda d: (d.id,), tenant_id=self.actor.tenant_id
        )

    async def _custom(
        self, custom: dict[str, Any], before: Debtor | None, record: dict[str, Any]
    ) -> dict[str, Any]:
        """The debtor's custom fields checked against the tenant's definitions (a phone
        without a ``+`` read in the debtor's country), computed ones evaluated."""
        return await self.using(CustomFieldService).accept(
            "debtor",
            custom,
            before=before.custom if before is not None else None,
            record=record,
            region=record.get("country"),
        )

    async def create(self, data: DebtorCreate) -> Debtor:
        values = _clean(msgspec.structs.asdict(data))
        values["custom"] = await self._custom(values["custom"], None, values)
        if values["external_ref"] and await queries.ref_taken(self.conn, values["external_ref"]):
            raise Conflict(
                f"a debtor with external_ref {values['external_ref']!r} already exists",
                field="external_ref",
            )
        try:
            debtor = to_debtor(await queries.insert(self.conn, self.actor.tenant_id, values))
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "a debtor with that external_ref already exists", field="external_ref"
            ) from None
        await self.changes.record(
            action="debtor.create",
            entity_type="debtor",
            entity_id=debtor.id,
            before=None,
            after=msgspec.to_builtins(debtor),
            event_type=events.DEBTOR_CREATED,
        )
        return debtor

    async def update(self, debtor_id: int, data: DebtorUpdate) -> Debtor:
        before = await self.get(debtor_id, for_update=True)
        raw = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
        cease = raw.pop("cease_requested", UNSET)
        changes = _clean(raw)
        changes["custom"] = await self._custom(
            merged(before.custom, changes["custom"]) if "custom" in changes else before.custom,
            before,
            {**msgspec.structs.asdict(before), **changes},
        )
        if cease is not UNSET:
            if cease and before.cease_requested_at is None:
                changes["cease_requested_at"] = self.clock()
            elif not cease:
                changes["cease_requested_at"] = None
        changes = {k: v for k, v in changes.items() if getattr(before, k) != v}
        if not changes:
            return before
        if changes.get("external_ref") and await queries.ref_taken(
            self.conn, changes["external_ref"], other_than=debtor_id
        ):
            raise Conflict(
                f"a debtor with external_ref {changes['external_ref']!r} already exists",
                field="external_ref",
            )
        after = to_debtor(await queries.update(self.conn, debtor_id, changes))
        account_ids = await queries.account_ids(self.conn, debtor_id)
        await self.changes.record(
            action="debtor.update",
            entity_type="debtor",
            entity_id=debtor_id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type=events.DEBTOR_UPDATED,
            channels=[names.account(a) for a in account_ids],
        )
        return after

    async def opt_out(self, debtor_id: int, channel: str) -> Debtor:
        """Honour an opt-out at once (a link in an e-mail or SMS, or a STOP reply)."""
        if channel not in ("call", "sms", "email"):
            raise InvalidInput(f"cannot opt out of {channel!r}", field="channel")
        row = await queries.get(self.conn, debtor_id, for_update=True)
        if row is None:
            raise NotFound(f"debtor {debtor_id} not found")
        before = to_debtor(row)
        if getattr(before, f"opt_out_{channel}"):
            return before
        after = to_debtor(await queries.update(self.conn, debtor_id, {f"opt_out_{channel}": True}))
        account_ids = await queries.account_ids(self.conn, debtor_id)
        await self.changes.record(
            action="debtor.opt_out",
            entity_type="debtor",
            entity_id=debtor_id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type=events.DEBTOR_OPTED_OUT,
            channels=[names.account(a) for a in account_ids],
            data={**msgspec.to_builtins(after), "channel": channel},
        )
        return after
