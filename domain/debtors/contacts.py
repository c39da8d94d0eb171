"""A debtor's contact details: several phone numbers, e-mail addresses and postal addresses,
each with its type, the consent given for it and one preferred per kind.

Numbers are parsed in the debtor's country and kept in E.164; a number that is not a real
one, an e-mail address that is not one, or a consent a kind cannot hold is refused naming
the field. Each change is audited and announced on the debtor's accounts' channels, and the
debtor row's ``phone``, ``email`` and address are kept as the copy of the preferred ones.
Messages go to the preferred number or address given consent (see ``reachable``).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from channels import names
from domain.debtors import contact_queries as queries
from domain.debtors import queries as debtor_queries
from domain.debtors.contact_schemas import (
    ADDRESS_FIELDS,
    CONSENTS,
    TYPES,
    AddressCreate,
    Consent,
    Contact,
    ContactCreate,
    ContactUpdate,
    EmailCreate,
    PhoneCreate,
)
from domain.debtors.schemas import UNSET, Debtor
from domain.debtors.service import DebtorService, to_debtor
from domain.errors import Conflict, InvalidInput, NotFound
from domain.outbox import events
from domain.service import Service
from domain.validation import check_email, phone_e164


def to_contact(row: asyncpg.Record) -> Contact:
    values = dict(row)
    for consent in ("sms", "call", "email"):
        at, how = values.pop(f"{consent}_consent_at"), values.pop(f"{consent}_consent_how")
        values[f"{consent}_consent"] = Consent(at=at, how=how or "") if at else None
    return Contact(**values)


class ContactService(Service):
    async def _debtor(self, debtor_id: int, *, for_update: bool = False) -> Debtor:
        """The debtor, if this actor may see them (404 otherwise); locked while contacts
        change so that two changes to the preferred ones do not cross."""
        return await self.using(DebtorService).get(debtor_id, for_update=for_update)

    async def list(self, debtor_id: int) -> list[Contact]:
        await self._debtor(debtor_id)
        return [to_contact(r) for r in await queries.of_debtor(self.conn, debtor_id)]

    async def _contact(self, debtor_id: int, contact_id: int) -> Contact:
        row = await queries.get(self.conn, debtor_id, contact_id, for_update=True)
        if row is None:
            raise NotFound(f"contact {contact_id} of debtor {debtor_id} not found")
        return to_contact(row)

    def _value(self, kind: str, value: str | None, debtor: Debtor) -> str | None:
        if kind == "address":
            if value is not None:
                raise InvalidInput("an address has no value; give its lines", field="value")
            return None
        if value is None or not value.strip():
            raise InvalidInput(f"a {kind} needs a value", field="value")
        if kind == "phone":
            return phone_e164(value, debtor.country)
        return check_email(value, field="value")

    def _consents(
        self, kind: str, wanted: dict[str, bool], how: str | None, before: Contact | None
    ) -> dict[str, Any]:
        """The consent columns for the consents asked for: each newly given is stamped now
        with how it was given; each withdrawn is cleared."""
        out: dict[str, Any] = {}
        how = (how or "").strip()
        for consent, given in wanted.items():
            if given and consent not in CONSENTS[kind]:
                raise InvalidInput(
                    f"a {kind} cannot hold {consent} consent", field=f"{consent}_consent"
                )
            had = before is not None and getattr(before, f"{consent}_consent") is not None
            if given and not had:
                if not how:
                    raise InvalidInput("say how consent was given", field="consent_how")
                out[f"{consent}_consent_at"], out[f"{consent}_consent_how"] = self.clock(), how
            elif not given and had:
                out[f"{consent}_consent_at"], out[f"{consent}_consent_how"] = None, None
        return out

    @staticmethod
    def _address(kind: str, values: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in values.items() if k in ADDRESS_FIELDS}
        for key, v in fields.items():
            if isinstance(v, str):
                fields[key] = v.strip() or None
        if kind != "address":
            given = next((k for k, v in fields.items() if v is not None), None)
            if given:
                raise InvalidInput(f"a {kind} has no address lines", field=given)
            return {}
        return fields

    async def create(self, debtor_id: int, data: ContactCreate) -> Contact:
        debtor = await self._debtor(debtor_id, for_update=True)
        kind = {PhoneCreate: "phone", EmailCreate: "email", AddressCreate: "address"}[type(data)]
        given = msgspec.structs.asdict(data)
        values: dict[str, Any] = {
            "debtor_id": debtor_id,
            "kind": kind,
            "type": data.type,
            "value": self._value(kind, given.get("value"), debtor),
            **self._address(kind, given),
        }
        if kind == "address" and not values.get("address_line1"):
            raise InvalidInput("an address needs its first line", field="address_line1")
        wanted = {c: given.get(f"{c}_consent", False) for c in ("sms", "call", "email")}
        values |= self._consents(kind, wanted, data.consent_how, None)
        first = not await queries.has_preferred(self.conn, debtor_id, kind)
        values["preferred"] = data.preferred or first
        if data.preferred and not first:
            await queries.unprefer(self.conn, debtor_id, kind, other_than=0)
        contact = await self._write(lambda: queries.insert(self.conn, self.actor.tenant_id, values))
        await self._announce(debtor_id, "added", None, contact)
        return contact

    async def update(self, debtor_id: int, contact_id: int, data: ContactUpdate) -> Contact:
        debtor = await self._debtor(debtor_id, for_update=True)
        before = await self._contact(debtor_id, contact_id)
        raw = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
        changes: dict[str, Any] = {}
        if "type" in raw:
            if raw["type"] not in TYPES[before.kind]:
                raise InvalidInput(
                    f"a {before.kind} cannot be of type {raw['type']!r}", field="type"
                )
            changes["type"] = raw["type"]
        if "value" in raw:
            changes["value"] = self._value(before.kind, raw["value"], debtor)
        changes |= self._address(before.kind, raw)
        if before.kind == "address" and "address_line1" in changes and not changes["address_line1"]:
            raise InvalidInput("an address needs its first line", field="address_line1")
        wanted = {c: raw[f"{c}_consent"] for c in ("sms", "call", "email") if f"{c}_consent" in raw}
        changes |= self._consents(before.kind, wanted, raw.get("consent_how"), before)
        if raw.get("preferred") is False and before.preferred:
            raise Conflict(f"make another {before.kind} preferred instead", field="preferred")
        if raw.get("preferred") and not before.preferred:
            await queries.unprefer(self.conn, debtor_id, before.kind, other_than=contact_id)
            changes["preferred"] = True
        changes = {
            k: v
            for k, v in changes.items()
            if k.endswith("_consent_at") or k.endswith("_how") or getattr(before, k) != v
        }
        if not changes:
            return before
        after = await self._write(lambda: queries.update(self.conn, contact_id, changes))
        await self._announce(debtor_id, "changed", before, after)
        return after

    async def delete(self, debtor_id: int, contact_id: int) -> None:
        await self._debtor(debtor_id, for_update=True)
        before = await self._contact(debtor_id, contact_id)
        others = [
            c
            for c in await queries.of_debtor(self.conn, debtor_id)
            if c["kind"] == before.kind and c["id"] != contact_id
        ]
        if before.preferred and others:
            raise Conflict(
                f"make another {before.kind} preferred before removing the preferred one",
                field="preferred",
            )
        await queries.delete(self.conn, contact_id)
        await self._announce(debtor_id, "removed", before, None)

    async def _write(self, write) -> Contact:
        try:
            return to_contact(await write())
        except asyncpg.UniqueViolationError:
            raise Conflict("the debtor already has that contact", field="value") from None

    async def _announce(
        self, debtor_id: int, change: str, before: Contact | None, after: Contact | None
    ) -> None:
        """Audit the change and announce the debtor as they now are (with the contact) on
        each of their accounts' channels."""
        await queries.copy_preferred(self.conn, debtor_id)
        debtor = to_debtor(await debtor_queries.get(self.conn, debtor_id))
        contact = after or before
        accounts = await debtor_queries.account_ids(self.conn, debtor_id)
        await self.changes.record(
            action=f"debtor.contact_{change}",
            entity_type="debtor_contact",
            entity_id=contact.id,
            before=msgspec.to_builtins(before) if before else None,
            after=msgspec.to_builtins(after) if after else None,
            event_type=events.DEBTOR_UPDATED,
            channels=[names.account(a) for a in accounts],
            data={
                **msgspec.to_builtins(debtor),
                "change": change,
                "contact": msgspec.to_builtins(contact),
            },
        )
