"""Imports over REST: upload a CSV file of debtors and accounts with a mapping, follow it,
download its rejected rows; and the tenant's mapping presets. Admins only.

The upload is streamed: Litestar's multipart parser spools the file to a temporary file
(in memory up to 1 MiB, on disk beyond), which is copied in chunks into the imports folder;
the job that runs it is handed to the workers once the import's row is committed.
Re-sending the same file makes a second import that changes nothing (rows are merged by
their external references), so a retried upload is harmless without an Idempotency-Key.
"""

# No ``from __future__ import annotations``: Litestar reads these annotations at runtime.
import asyncio
import csv
import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from domain.csv_cells import safe_cell
from domain.custom_fields.schemas import CustomField
from domain.errors import InvalidInput
from domain.imports import files
from domain.imports.mapping import (
    Kind,
    Mapping,
    MappingPreset,
    MappingPresetCreate,
    MappingPresetUpdate,
)
from domain.imports.preview import Preview, preview_file
from domain.imports.schemas import Import
from domain.imports.service import ImportService
from domain.pagination import Page
from domain.validation import INT64_MAX
from server.auth.guards import ADMINS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId
from server.problems import field_of
from server.refusal_words import in_words

# The largest file an upload may carry (the multipart envelope included): 413 beyond.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
# A preview reads the start of a file: the screen sends its first 64 KiB.
MAX_PREVIEW_BYTES = 1024 * 1024
CSV = "text/csv"
OPT = allow(*ADMINS)


@dataclass
class ImportUpload:
    """The file, and its mapping: a preset's id, or a mapping as JSON; and what the file
    holds (``accounts`` or ``payments``: a saved mapping's own kind, else accounts)."""

    file: UploadFile
    mapping_id: Annotated[int, msgspec.Meta(ge=1, le=INT64_MAX)] | None = None
    mapping: str | None = None
    kind: Kind | None = None


def _mapping(upload: ImportUpload) -> Mapping | None:
    if upload.mapping is None:
        return None
    try:
        return msgspec.json.decode(upload.mapping, type=Mapping)
    except msgspec.ValidationError as exc:
        where = field_of(None, str(exc))
        raise InvalidInput(
            f"the mapping is not valid: {where + ' ' if where else ''}{in_words(str(exc))}",
            field="mapping",
        ) from None
    except msgspec.DecodeError:
        raise InvalidInput("the mapping must be a JSON object", field="mapping") from None


def _preview(source: Any, mapping: Mapping, kind: str, custom: dict[str, CustomField]) -> Preview:
    with tempfile.TemporaryDirectory(prefix="recoup-preview-") as folder:
        path = Path(folder) / "head.csv"
        with path.open("wb") as out:
            shutil.copyfileobj(source, out)
        return preview_file(path, mapping, kind=kind, custom_fields=custom)


class ImportController(Controller):
    path = "/imports"
    tags = ["imports"]
    opt = OPT
    dependencies = {"imports": service(ImportService)}

    @post(
        "/",
        summary="Upload a CSV file of debtors and accounts, or of payments, and start importing it",
        description=(
            "multipart/form-data: `file`, and `mapping_id` (a saved mapping) or `mapping` "
            "(a mapping as JSON), and `kind` (`accounts` or `payments`; a saved mapping's "
            "own, 422 if another). The answer is the import, pending; follow it with GET or on "
            f"the `import:{{id}}` channel. At most {MAX_UPLOAD_BYTES // 2**20} MiB (413)."
        ),
        request_max_body_size=MAX_UPLOAD_BYTES,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        imports: NamedDependency[ImportService],
        data: Annotated[ImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[Import]:
        mapping = _mapping(data)
        resources = request.app.state.resources
        folder = resources.settings.imports_path
        try:
            await data.file.seek(0)
            path, size, checksum = await asyncio.to_thread(
                files.store, data.file.file, folder, imports.actor.tenant_id
            )
        finally:
            await data.file.close()
        try:
            created = await imports.create(
                path=path,
                file_name=data.file.filename or "upload.csv",
                size_bytes=size,
                checksum=checksum,
                mapping=mapping,
                preset_id=data.mapping_id,
                kind=data.kind,
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        from tasks.imports import run as run_job

        # After the answer, so after the commit: the job finds the import's row.
        kick = BackgroundTask(resources.kick, run_job, imports.actor.tenant_id, created.id)
        return Response(created, status_code=201, background=kick)

    @post(
        "/preview",
        status_code=200,
        summary="The first rows of a file as an import with this mapping would read them",
        description=(
            "multipart/form-data like an upload (`file`, and `mapping_id` or `mapping`); "
            "nothing is stored. Each of the first 20 rows with its values as they would be "
            "stored or the reasons it would be refused, and the mapped columns the header "
            f"lacks. Send the start of the file: at most {MAX_PREVIEW_BYTES // 1024} KiB (413)."
        ),
        request_max_body_size=MAX_PREVIEW_BYTES,
    )
    async def preview(
        self,
        imports: NamedDependency[ImportService],
        data: Annotated[ImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Preview:
        mapping, kind = await imports.mapping_and_kind(_mapping(data), data.mapping_id, data.kind)
        custom = await imports.custom_fields(mapping)
        try:
            await data.file.seek(0)
            return await asyncio.to_thread(_preview, data.file.file, mapping, kind, custom)
        finally:
            await data.file.close()

    @get("/", summary="Imports, newest first")
    async def list_imports(
        self,
        imports: NamedDependency[ImportService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Import]:
        return await imports.list(cursor=cursor, limit=limit)

    @get("/{import_id:int}", summary="One import: its status and counts")
    async def get_import(
        self, imports: NamedDependency[ImportService], import_id: PathId
    ) -> Import:
        return await imports.get(import_id)

    @get(
        "/{import_id:int}/rejected.csv",
        media_type=CSV,
        summary="The rows an import rejected: row number, column and reason, as CSV",
    )
    async def rejected(
        self, imports: NamedDependency[ImportService], import_id: PathId
    ) -> Response[str]:
        rows = await imports.rejections(import_id)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["row", "column", "reason"])
        writer.writerows([r.row, safe_cell(r.column), safe_cell(r.reason)] for r in rows)
        return Response(
            out.getvalue(),
            status_code=200,
            media_type=CSV,
            headers={
                "Content-Disposition": f'attachment; filename="import-{import_id}-rejected.csv"'
            },
        )


class ImportMappingController(Controller):
    path = "/import-mappings"
    tags = ["imports"]
    opt = OPT
    dependencies = {"imports": service(ImportService)}

    @get("/", summary="The tenant's saved import mappings")
    async def list_presets(
        self,
        imports: NamedDependency[ImportService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[MappingPreset]:
        return await imports.presets(cursor=cursor, limit=limit)

    @post("/", summary="Save an import mapping under a name (409 if the name is taken)")
    async def create_preset(
        self, imports: NamedDependency[ImportService], data: JSONBody[MappingPresetCreate]
    ) -> MappingPreset:
        return await imports.create_preset(data)

    @get("/{mapping_id:int}", summary="One saved import mapping")
    async def get_preset(
        self, imports: NamedDependency[ImportService], mapping_id: PathId
    ) -> MappingPreset:
        return await imports.preset(mapping_id)

    @patch("/{mapping_id:int}", summary="Rename or change a saved import mapping")
    async def update_preset(
        self,
        imports: NamedDependency[ImportService],
        mapping_id: PathId,
        data: JSONBody[MappingPresetUpdate],
    ) -> MappingPreset:
        return await imports.update_preset(mapping_id, data)

    @delete("/{mapping_id:int}", status_code=204, summary="Remove a saved import mapping")
    async def delete_preset(
        self, imports: NamedDependency[ImportService], mapping_id: PathId
    ) -> None:
        await imports.delete_preset(mapping_id)
