"""Imports and their mapping presets, as a tenant's admins see and change them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from domain.custom_fields.schemas import CustomField
from domain.custom_fields.service import CustomFieldService
from domain.errors import Conflict, InvalidInput, NotFound
from domain.imports import queries
from domain.imports.mapping import (
    Kind,
    Mapping,
    MappingPreset,
    MappingPresetCreate,
    MappingPresetUpdate,
    check_mapping,
    custom_definitions,
)
from domain.imports.schemas import Import, Rejection
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.service import Service


def to_import(row: asyncpg.Record) -> Import:
    values = dict(row)
    values.pop("path")
    values["mapping"] = msgspec.convert(values["mapping"], Mapping)
    return Import(**values)


def to_preset(row: asyncpg.Record) -> MappingPreset:
    mapping = Mapping(
        columns=row["columns"],
        date_format=row["date_format"],
        default_currency=row["default_currency"],
        encoding=row["encoding"],
        delimiter=row["delimiter"],
    )
    return MappingPreset(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        mapping=mapping,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class ImportService(Service):
    async def create(
        self,
        *,
        path: Path,
        file_name: str,
        size_bytes: int,
        checksum: str,
        mapping: Mapping | None = None,
        preset_id: int | None = None,
        kind: Kind | None = None,
    ) -> Import:
        """Record a file to import (already on disk) with its mapping: a preset's, or given
        (then of ``kind``, accounts unless said)."""
        mapping, kind = await self.mapping_and_kind(mapping, preset_id, kind)
        row = await queries.insert_import(
            self.conn,
            self.actor.tenant_id,
            {
                "kind": kind,
                "file_name": file_name[:255],
                "path": str(path),
                "size_bytes": size_bytes,
                "checksum": checksum,
                "mapping_id": preset_id,
                "mapping": msgspec.to_builtins(mapping),
                "created_by": self.actor.id if self.actor.is_user else None,
            },
        )
        created = to_import(row)
        await self.changes.record(
            action="import.create",
            entity_type="import",
            entity_id=created.id,
            before=None,
            after={"file_name": created.file_name, "checksum": checksum, "size": size_bytes},
            event_type=None,
        )
        return created

    async def get(self, import_id: int) -> Import:
        row = await queries.get_import(self.conn, import_id)
        if row is None:
            raise NotFound(f"import {import_id} not found")
        return to_import(row)

    async def list(self, *, cursor: str | None = None, limit: int = 50) -> Page[Import]:
        check_limit(limit)
        after = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.list_imports(self.conn, after_id=after, limit=limit + 1)
        return page(
            [to_import(r) for r in rows], limit, lambda i: (i.id,), tenant_id=self.actor.tenant_id
        )

    async def mapping_for(
        self, mapping: Mapping | None, preset_id: int | None, kind: Kind | None = None
    ) -> Mapping:
        """The mapping a request names: given, or a saved one of the tenant's; checked."""
        return (await self.mapping_and_kind(mapping, preset_id, kind))[0]

    async def mapping_and_kind(
        self, mapping: Mapping | None, preset_id: int | None, kind: Kind | None = None
    ) -> tuple[Mapping, Kind]:
        """The mapping a request names and the kind of file it reads: a saved mapping's own
        kind (``kind``, when given, must be it), or ``kind`` (accounts unless said)."""
        if (mapping is None) == (preset_id is None):
            raise InvalidInput("send exactly one of mapping or mapping_id", field="mapping_id")
        if preset_id is not None:
            preset = await self.preset(preset_id, field="mapping_id")
            if kind is not None and kind != preset.kind:
                raise InvalidInput(
                    f"mapping {preset_id} reads {preset.kind}, not {kind}", field="kind"
                )
            mapping, kind = preset.mapping, preset.kind
        assert mapping is not None
        kind = kind or "accounts"
        return await self._checked(mapping, kind), kind

    async def _checked(self, mapping: Mapping, kind: str) -> Mapping:
        """The mapping checked for its kind of file, its custom fields against the tenant's
        definitions."""
        check_mapping(mapping, kind)
        await self.custom_fields(mapping)
        return mapping

    async def custom_fields(self, mapping: Mapping) -> dict[str, CustomField]:
        """The definitions of the custom fields ``mapping`` feeds."""
        fields = self.using(CustomFieldService)
        return custom_definitions(
            mapping, {e: await fields.fields(e) for e in ("account", "debtor")}
        )

    async def rejections(self, import_id: int) -> list[Rejection]:
        await self.get(import_id)
        rows = await queries.rejections(self.conn, import_id)
        return [Rejection(r["row_number"], r["column_name"], r["reason"]) for r in rows]

    async def preset(self, preset_id: int, *, field: str | None = None) -> MappingPreset:
        row = await queries.get_preset(self.conn, preset_id)
        if row is None:
            if field is not None:
                raise InvalidInput(f"mapping {preset_id} not found", field=field)
            raise NotFound(f"mapping {preset_id} not found")
        return to_preset(row)

    async def preset_named(self, name: str) -> MappingPreset:
        row = await queries.preset_by_name(self.conn, name)
        if row is None:
            raise NotFound(f"no mapping named {name!r}")
        return to_preset(row)

    async def presets(self, *, cursor: str | None = None, limit: int = 50) -> Page[MappingPreset]:
        rows = await queries.list_presets(self.conn)
        return self.paged([to_preset(r) for r in rows], cursor, limit)

    async def create_preset(self, data: MappingPresetCreate) -> MappingPreset:
        await self._checked(data.mapping, data.kind)
        try:
            row = await queries.insert_preset(
                self.conn,
                self.actor.tenant_id,
                data.name,
                data.kind,
                msgspec.to_builtins(data.mapping),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a mapping named {data.name!r} exists", field="name") from None
        preset = to_preset(row)
        await self._audit("import_mapping.create", None, preset)
        return preset

    async def update_preset(self, preset_id: int, data: MappingPresetUpdate) -> MappingPreset:
        before = await self.preset(preset_id)
        name = before.name if data.name is msgspec.UNSET else data.name
        mapping = before.mapping if data.mapping is msgspec.UNSET else data.mapping
        await self._checked(mapping, before.kind)
        try:
            row = await queries.update_preset(
                self.conn, preset_id, name, msgspec.to_builtins(mapping)
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a mapping named {name!r} exists", field="name") from None
        after = to_preset(row)
        await self._audit("import_mapping.update", before, after)
        return after

    async def delete_preset(self, preset_id: int) -> None:
        before = await self.preset(preset_id)
        try:
            await queries.delete_preset(self.conn, preset_id)
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(
                f"mapping {preset_id} is used by an SFTP source: change or remove the source first"
            ) from None
        await self._audit("import_mapping.delete", before, None)

    async def _audit(
        self, action: str, before: MappingPreset | None, after: MappingPreset | None
    ) -> None:
        as_dict: Any = msgspec.to_builtins
        await self.changes.record(
            action=action,
            entity_type="import_mapping",
            entity_id=(after or before).id,  # type: ignore[union-attr]
            before=as_dict(before) if before else None,
            after=as_dict(after) if after else None,
            event_type=None,
        )
