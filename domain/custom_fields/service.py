"""Custom field definitions as a tenant's admins change them, and the values they govern as
every writer of debtors and accounts (the API, imports) checks them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
import cel
import msgspec

from domain.custom_fields import queries
from domain.custom_fields.schemas import (
    CHOICE_TYPES,
    UNSET,
    CustomField,
    CustomFieldCreate,
    CustomFieldUpdate,
    custom_path,
)
from domain.custom_fields.values import (
    check_values,
    from_text,
    record_variables,
    with_computed,
)
from domain.errors import Conflict, InvalidInput, NotFound
from domain.pagination import Page
from domain.service import Service
from domain.validation import phone_e164
from domain.workflows.conditions import EVALUATION_ERRORS, compiled, costly, loop_variables

RECOMPUTE_PAGE = 2000
MAX_FILTERS = 20
# A value of each type, for trying a computed field's expression before it is saved.
_SAMPLES: dict[str, Any] = {
    "string": "text",
    "number": 1,
    "boolean": True,
    "date": "2026-01-31",
    "email": "someone@example.com",
    "phone": "+12125550123",
    "url": "https://example.com",
    "json": {},
    "computed": None,
}
_SAMPLE_RECORD: dict[str, Any] = {
    "external_ref": "A-1",
    "currency": "USD",
    "principal": 1,
    "first_name": "A",
    "last_name": "B",
}


# A second record, every amount and number other than the first's: an expression that fails
# on the first only for its values (a ratio over its zero interest) is tried on this one.
_OTHER_RECORD: dict[str, Any] = {
    **_SAMPLE_RECORD,
    "principal": 7,
    "interest": 3,
    "fees": 2,
}
# What an expression may meet on some records and not others (a ratio over a zero, an index
# past a list's end, a function given text it cannot read).
_ON_VALUES = (ZeroDivisionError, OverflowError, IndexError)


def _sample(field: CustomField, *, other: bool = False) -> Any:
    """A value ``field`` could hold, to try an expression that reads it."""
    if field.type == "select":
        return field.options[-1 if other else 0]
    if field.type == "multi_select":
        return field.options[-1:] if other else field.options[:1]
    if other and field.type == "number":
        return 3
    if other and field.type == "string":
        return "42"
    return _SAMPLES[field.type]


def _computed_value(text: str) -> Any:
    """A filter's value for a computed field: JSON when it reads as JSON (true, 12), else
    the text itself."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


def to_field(row: asyncpg.Record) -> CustomField:
    return CustomField(**dict(row))


class CustomFieldService(Service):
    async def fields(self, entity: str) -> list[CustomField]:
        """The tenant's definitions for ``entity``, read once per transaction."""
        key = f"custom_fields:{entity}"
        cached = self._shared.get(key)
        if cached is None:
            cached = [to_field(r) for r in await queries.list_fields(self.conn, entity)]
            self._shared[key] = cached
        return cached

    async def list(
        self, *, entity: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> Page[CustomField]:
        rows = await queries.list_fields(self.conn, entity)
        return self.paged([to_field(r) for r in rows], cursor, limit)

    async def get(self, field_id: int, *, for_update: bool = False) -> CustomField:
        row = await queries.get_field(self.conn, field_id, for_update=for_update)
        if row is None:
            raise NotFound(f"custom field {field_id} not found")
        return to_field(row)

    async def create(self, data: CustomFieldCreate) -> CustomField:
        values = msgspec.structs.asdict(data)
        await self._check_definition(values)
        # Values may be stored under the key already (kept from a field deleted before, or
        # written before any was defined): the new field must accept them, as a type change
        # must, and a computed one would overwrite them.
        await self._refuse_unfit(data.entity, data.key, data.type, data.options, field="type")
        try:
            row = await queries.insert_field(self.conn, self.actor.tenant_id, values)
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"the {data.entity}s of this tenant have a field {data.key!r} already",
                field="key",
            ) from None
        created = to_field(row)
        self._forget()
        if created.type == "computed":
            await self.recompute_all(created.entity)
        await self._audit("custom_field.create", None, created)
        return created

    async def update(self, field_id: int, data: CustomFieldUpdate) -> CustomField:
        before = await self.get(field_id, for_update=True)
        values = msgspec.structs.asdict(before)
        values.update({k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET})
        if values["type"] not in CHOICE_TYPES and data.options is UNSET:
            values["options"] = []
        if values["type"] != "computed" and data.expression is UNSET:
            values["expression"] = None
        await self._check_definition(values)
        narrower = values["type"] != before.type or (
            values["type"] in CHOICE_TYPES and not set(before.options) <= set(values["options"])
        )
        if narrower:
            await self._refuse_unfit(
                before.entity,
                before.key,
                values["type"],
                values["options"],
                field="type" if values["type"] != before.type else "options",
            )
        after = to_field(await queries.update_field(self.conn, field_id, values))
        self._forget()
        if after.type == "computed" and after.expression != before.expression:
            await self.recompute_all(after.entity)
        await self._audit("custom_field.update", before, after)
        return after

    async def _refuse_unfit(
        self, entity: str, key: str, kind: str, options: list[str], *, field: str
    ) -> None:
        """409 with their count when records hold values under ``key`` that a field of
        ``kind`` would refuse."""
        tenant_id = self.actor.tenant_id
        unfit = await queries.count_unfit(self.conn, tenant_id, entity, key, kind, options)
        if kind == "phone":  # E.164 in form; whether a real number, phonenumbers says
            for row in await queries.phone_texts(self.conn, tenant_id, entity, key):
                try:
                    valid = phone_e164(row["text"], None) == row["text"]
                except InvalidInput:
                    valid = False
                unfit += 0 if valid else row["records"]
        if unfit:
            raise Conflict(
                f"{unfit} {entity}{'s' if unfit != 1 else ''} hold a value of {key!r} that "
                "the field would not accept; change or clear those values first",
                field=field,
                offending_rows=unfit,
            )

    async def delete(self, field_id: int) -> None:
        """Remove a definition; the values stored under its key stay on the records."""
        before = await self.get(field_id, for_update=True)
        feeding = await queries.mappings_feeding(self.conn, before.entity, before.key)
        if feeding:
            # Their imports (and the SFTP sources using them) would fail from now on.
            names = ", ".join(repr(name) for name in feeding)
            raise Conflict(
                f"the import mapping{'s' if len(feeding) > 1 else ''} {names} "
                f"feed{'' if len(feeding) > 1 else 's'} this field: change "
                f"{'them' if len(feeding) > 1 else 'it'} first"
            )
        await queries.delete_field(self.conn, field_id)
        self._forget()
        await self._audit("custom_field.delete", before, None)

    async def accept(
        self,
        entity: str,
        custom: Mapping[str, Any],
        *,
        before: Mapping[str, Any] | None,
        record: Mapping[str, Any],
        field: str = "custom",
        region: str | None = None,
    ) -> dict[str, Any]:
        """The ``custom`` object of a record being written, checked against the tenant's
        definitions and with its computed fields evaluated over ``record``."""
        fields = await self.fields(entity)
        checked = check_values(fields, custom, before, field=field, region=region)
        return with_computed(fields, entity, record, checked)

    async def filter_terms(self, wanted: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
        """List filters (``custom.tier`` -> ``gold``) as what ``a.custom`` or ``d.custom``
        must contain: each value read as its field's type (a multi-select holds it). A
        key the tenant does not define is refused once it defines fields of that entity."""
        if len(wanted) > MAX_FILTERS:
            raise InvalidInput(f"at most {MAX_FILTERS} custom field filters", field="custom")
        terms: list[tuple[str, dict[str, Any]]] = []
        for name, text in wanted.items():
            entity, key = custom_path(name) or ("", "")
            if not entity:
                raise InvalidInput(f"{name!r} is not a custom field", field=name)
            fields = await self.fields(entity)
            definition = next((f for f in fields if f.key == key), None)
            if definition is None and fields:
                raise InvalidInput(f"{name} is not a custom field of this tenant", field=name)
            value: Any = text
            if definition is not None:
                if definition.type == "computed":
                    value = _computed_value(text)
                else:
                    value = from_text(definition, text, path=name)
            terms.append(("a.custom" if entity == "account" else "d.custom", {key: value}))
        return terms

    async def recompute(self, entity: str, rows: list[asyncpg.Record]) -> int:
        """Store the computed fields of ``rows`` (whole records) where they changed."""
        fields = await self.fields(entity)
        if not any(f.type == "computed" for f in fields):
            return 0
        changed = []
        for row in rows:
            custom = dict(row["custom"] or {})
            computed = with_computed(fields, entity, row, custom)
            if computed != custom:
                changed.append((row["id"], computed))
        await queries.set_customs(self.conn, entity, changed)
        return len(changed)

    async def recompute_ids(self, entity: str, ids: list[int]) -> int:
        """Recompute these records (their balance or status moved outside an edit)."""
        fields = await self.fields(entity)
        if not ids or not any(f.type == "computed" for f in fields):
            return 0
        return await self.recompute(entity, await queries.records_by_id(self.conn, entity, ids))

    async def recompute_all(self, entity: str) -> int:
        """Every record of the tenant, a page at a time (a computed field was saved)."""
        after, total = 0, 0
        while rows := await queries.records(
            self.conn, self.actor.tenant_id, entity, after_id=after, limit=RECOMPUTE_PAGE
        ):
            total += await self.recompute(entity, rows)
            after = rows[-1]["id"]
        return total

    async def _check_definition(self, values: dict[str, Any]) -> None:
        kind, options = values["type"], values["options"]
        if kind in CHOICE_TYPES:
            if not options:
                raise InvalidInput(f"a {kind} field needs at least one option", field="options")
            if len(set(options)) != len(options):
                raise InvalidInput("each option may appear only once", field="options")
        elif options:
            raise InvalidInput(f"a {kind} field has no options", field="options")
        if kind != "computed":
            if values["expression"] is not None:
                raise InvalidInput("only a computed field has an expression", field="expression")
            return
        if values["expression"] is None:
            raise InvalidInput("a computed field needs an expression", field="expression")
        await self._check_expression(values["entity"], values["expression"])

    async def _check_expression(self, entity: str, expression: str) -> None:
        if "\x00" in expression:
            raise InvalidInput("an expression cannot contain NUL", field="expression")
        too_much = costly(expression)
        if too_much:
            raise InvalidInput(f"expression: {too_much}", field="expression")
        try:
            program = compiled(expression)
        except ValueError as exc:
            raise InvalidInput(f"expression: {exc}", field="expression") from None
        bound = loop_variables(expression)
        for name in program.variables():
            if name != entity and name not in bound:
                raise InvalidInput(
                    f"expression: unknown name {name!r} (a computed field of a {entity} "
                    f"reads {entity}.<field> and {entity}.custom.<key>)",
                    field="expression",
                )
        fields = await self.fields(entity)
        custom = {f.key: _sample(f) for f in fields}
        ctx = cel.Context()
        ctx.update({entity: record_variables(entity, _SAMPLE_RECORD, custom)})
        try:
            try:
                program.execute(ctx)
            except (*_ON_VALUES, RuntimeError) as exc:
                if isinstance(exc, RuntimeError) and not str(exc).startswith("Function '"):
                    raise
                # Perhaps only the sample's values (a zero, say): such a record gives null,
                # as it should. An expression that fails on other values too is at fault.
                other = cel.Context()
                others = {f.key: _sample(f, other=True) for f in fields}
                other.update({entity: record_variables(entity, _OTHER_RECORD, others)})
                try:
                    program.execute(other)
                except EVALUATION_ERRORS:
                    raise exc from None
        except KeyError as exc:
            name = str(exc.args[0]) if exc.args else ""
            if name not in custom:
                # (a custom key no field defines would give null on every record)
                what = "custom field" if f"custom.{name}" in expression else "field"
                raise InvalidInput(
                    f"expression: a {entity} has no {what} {name!r}", field="expression"
                ) from None
        except EVALUATION_ERRORS as exc:
            raise InvalidInput(f"expression: {exc}", field="expression") from None

    def _forget(self) -> None:
        for entity in ("account", "debtor"):
            self._shared.pop(f"custom_fields:{entity}", None)

    async def _audit(
        self, action: str, before: CustomField | None, after: CustomField | None
    ) -> None:
        as_dict: Any = msgspec.to_builtins
        await self.changes.record(
            action=action,
            entity_type="custom_field",
            entity_id=(after or before).id,  # type: ignore[union-attr]
            before=as_dict(before) if before else None,
            after=as_dict(after) if after else None,
            event_type=None,
        )
