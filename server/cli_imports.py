"""``recoup import FILE --mapping NAME``: the same import the API starts, from a terminal,
with a progress bar; the rows it rejected are listed at the end."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from config.settings import Settings


def _regular_file(ctx: click.Context, param: click.Parameter, path: Path) -> Path:
    """A file that ends: not a device (``/dev/zero``), a pipe or a socket, read for ever."""
    if not path.resolve().is_file():
        raise click.BadParameter(f"{str(path)!r} is not a regular file", ctx, param)
    return path


@click.command("import")
@click.argument(
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    callback=_regular_file,
)
@click.option(
    "--mapping",
    "mapping_name",
    required=True,
    help="the name of a mapping preset the tenant saved (Admin > Imports, or "
    "POST /api/v1/import-mappings): which column of the file is which field",
)
@click.option(
    "--tenant",
    "tenant_slug",
    default="demo",
    show_default=True,
    help="the slug of the tenant the rows are imported into",
)
@click.option(
    "--batch-rows",
    type=click.IntRange(1, 1_000_000),
    default=10_000,
    show_default=True,
    help="rows written per transaction (each batch is one COPY and one merge)",
)
@click.option(
    "--show-rejected",
    type=click.IntRange(0),
    default=20,
    show_default=True,
    help="how many rejected rows to list",
)
def import_command(
    file: Path, mapping_name: str, tenant_slug: str, batch_rows: int, show_rejected: int
) -> None:
    """Import debtors and accounts from a CSV FILE with a saved mapping."""
    from domain.errors import RecoupError
    from server.cli import _services, _settings
    from server.observability import configure_logging

    with _services(_settings()) as settings:
        # Its stdout is the progress and the result: the log goes to stderr.
        configure_logging(settings.log_level, json=settings.log_json, stream=sys.stderr)
        try:
            done, rejected = asyncio.run(
                _run(settings, file.resolve(), mapping_name, tenant_slug, batch_rows, show_rejected)
            )
        except RecoupError as exc:
            raise click.ClickException(
                f"{exc.field + ': ' if exc.field else ''}{exc.detail}"
            ) from None
    click.echo(
        f"import {done.id} {done.status}: {done.rows_read} rows read, {done.rows_created} "
        f"created, {done.rows_updated} updated, {done.rows_unchanged} unchanged, "
        f"{done.rows_rejected} rejected"
    )
    for r in rejected:
        click.echo(f"  row {r.row}, {r.column or '(the row)'}: {r.reason}")
    if done.rows_rejected > len(rejected):
        click.echo(f"  ... and {done.rows_rejected - len(rejected)} more")
    if done.status != "done":
        raise click.ClickException(done.error or "the import failed")


async def _run(
    settings: Settings,
    path: Path,
    mapping_name: str,
    tenant_slug: str,
    batch_rows: int,
    show_rejected: int,
) -> tuple[Any, list[Any]]:
    from domain.actor import system_actor
    from domain.db import Database
    from domain.imports.reader import checksum
    from domain.imports.runner import run_import
    from domain.imports.service import ImportService
    from domain.tenancy.service import tenant_id_by_slug

    db = await Database.from_settings(settings, application_name="recoup-cli", max_size=2).open()
    bar: Any = None
    shown = 0

    def progress(current: Any, total: int) -> None:
        nonlocal bar, shown
        if not sys.stdout.isatty():
            # Piped or logged: a line per batch instead of a bar.
            click.echo(f"import {current.id}: {current.rows_read}/{total} rows")
            return
        if bar is None:
            bar = click.progressbar(
                length=total, label=f"import {current.id}", show_pos=True, show_eta=True, width=30
            )
            bar.__enter__()
        bar.update(current.rows_read - shown)
        shown = current.rows_read

    try:
        async with db.system() as conn:
            tenant_id = await tenant_id_by_slug(conn, tenant_slug)
        if tenant_id is None:
            raise click.ClickException(f"no tenant {tenant_slug!r}")
        digest = await asyncio.to_thread(checksum, path)
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        async with db.tenant(tenant_id) as conn:
            service = ImportService(conn, system_actor(tenant_id))
            preset = await service.preset_named(mapping_name)
            created = await service.create(
                path=path,
                file_name=path.name,
                size_bytes=size,
                checksum=digest,
                preset_id=preset.id,
            )
        try:
            done = await run_import(
                db, tenant_id, created.id, batch_rows=batch_rows, on_progress=progress
            )
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
        async with db.tenant(tenant_id) as conn:
            rejected = await ImportService(conn, system_actor(tenant_id)).rejections(created.id)
        return done, rejected[:show_rejected]
    finally:
        await db.close()
