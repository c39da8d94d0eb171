"""Running an import: check the whole file, then write it batch by batch.

Unlike a service, the runner owns its transactions (the job and the CLI call it the same
way): one per batch, holding the batch's debtors and accounts (staged by COPY, merged in
one statement each, audited in the same statements), its rejected rows, the import's new
counts and, when the batch changed anything, one ``import.progress`` event.

What happens when it dies: a batch is committed whole or not at all, and ``rows_read``
moves with it, so a rerun skips exactly the rows already written (reading them again
only to know the file's account references, for duplicates) and goes on from there:
every row is written exactly once in the end. Two runs of one import at the same time
cannot both write a batch: each locks the import row and checks that ``rows_read`` is
where it left it, and the one that finds it moved stops.

A file that cannot be read (another encoding, a binary file, an unclosed quote, a huge
field, a missing column, no rows) is refused by the first pass, before anything is
written, and the import fails with the reason.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import structlog

from channels import names
from domain.accounts.service import AccountService
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.custom_fields.schemas import CustomField
from domain.custom_fields.service import CustomFieldService
from domain.db import Connection, Database
from domain.errors import InvalidInput, NotFound
from domain.imports import payment_queries, queries
from domain.imports.mapping import (
    ACCOUNT_FIELDS,
    DEBTOR_FIELDS,
    Mapping,
    check_header,
    custom_columns,
    custom_definitions,
)
from domain.imports.payment_rows import PaymentRowChecker
from domain.imports.reader import FileRefused, check_file, read_rows
from domain.imports.rows import RowChecker, RowError
from domain.imports.schemas import Import
from domain.imports.service import to_import
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.payments.service import PaymentService
from domain.service import Service
from domain.tenancy.schemas import local_today

log = structlog.get_logger("recoup.imports")

BATCH_ROWS = 10_000
Progress = Callable[[Import, int], None]


class ImportMoved(RuntimeError):
    """Another run of the same import wrote a batch since this one read its position."""


# What the database (or the driver, encoding a value) may still refuse of rows that passed
# every check: the batch is then written in halves until the row stands alone, and that row
# is rejected with the refusal's reason; the rest of the batch is written as ever.
_REFUSED = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    ValueError,
    OverflowError,
)
# More rows refused this way in one import than this says something is wrong with all of
# them, not with a few: the import ends, failed, with the reason.
MAX_REFUSED_ALONE = 100


class _RefusedThroughout(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Batch:
    def __init__(self) -> None:
        self.records: list[tuple[Any, ...]] = []
        self.errors: list[RowError] = []
        self.rejected = 0
        self.read = 0


async def run_import(
    db: Database,
    tenant_id: int,
    import_id: int,
    *,
    batch_rows: int = BATCH_ROWS,
    clock: Clock = utcnow,
    on_progress: Progress | None = None,
) -> Import:
    """Run (or resume) import ``import_id`` to its end; returns it as it ends."""
    async with db.tenant(tenant_id) as conn:
        row = await queries.get_import(conn, import_id, for_update=True)
        if row is None:
            raise NotFound(f"import {import_id} not found")
        if row["status"] in ("done", "failed"):
            return to_import(row)
    mapping = msgspec.convert(row["mapping"], Mapping)
    path = Path(row["path"])
    actor = Actor(
        tenant_id=tenant_id,
        type="user" if row["created_by"] is not None else "system",
        id=row["created_by"],
    )
    try:
        header, total = await asyncio.to_thread(
            check_file, path, encoding=mapping.encoding, delimiter=mapping.delimiter
        )
        positions = check_header(mapping, header)
    except (InvalidInput, OSError) as exc:
        reason = exc.detail if isinstance(exc, InvalidInput) else f"the file cannot be read: {exc}"
        return await _finish(db, tenant_id, import_id, "failed", reason, on_progress, 0)
    async with db.tenant(tenant_id) as conn:
        definitions = CustomFieldService(conn, actor, clock)
        fields = {e: await definitions.fields(e) for e in ("account", "debtor")}
        try:
            custom = custom_definitions(mapping, fields)
        except InvalidInput as exc:
            custom = exc
        else:
            if not await queries.set_status(conn, import_id, "running"):
                # Another run ended it since it was read: nothing is left to do.
                return to_import(await queries.get_import(conn, import_id))
    if isinstance(custom, InvalidInput):
        return await _finish(db, tenant_id, import_id, "failed", custom.detail, on_progress, 0)
    computed = {e: [f for f in found if f.type == "computed"] for e, found in fields.items()}
    writer, checker = await _for_kind(
        db, actor, row, mapping, (positions, header), clock, (custom, computed)
    )
    reader = _BatchReader(
        read_rows(path, encoding=mapping.encoding, delimiter=mapping.delimiter),
        checker,
        skip=writer.done,
    )
    # Reading and checking run in a thread, one batch ahead: the next batch is checked
    # while the database writes this one (and the event loop stays free for the worker's
    # other jobs).
    ahead = asyncio.ensure_future(asyncio.to_thread(reader.next_batch, batch_rows))
    try:
        while (batch := await ahead) is not None:
            ahead = asyncio.ensure_future(asyncio.to_thread(reader.next_batch, batch_rows))
            current = await writer.write(batch)
            if on_progress is not None:
                on_progress(current, total)
    except FileRefused as exc:  # the file changed under us since the first pass
        return await _finish(db, tenant_id, import_id, "failed", exc.detail, on_progress, total)
    except _RefusedThroughout as exc:
        return await _finish(db, tenant_id, import_id, "failed", exc.reason, on_progress, total)
    finally:
        # A write that failed leaves a read under way: let it end before the file is let go.
        if not ahead.done():
            await asyncio.wait([ahead])
        if not ahead.cancelled():
            ahead.exception()  # marked as seen: the write's error is the one to report
    return await _finish(db, tenant_id, import_id, "done", None, on_progress, total)


async def _for_kind(
    db: Database,
    actor: Actor,
    row: Any,
    mapping: Mapping,
    file: tuple[dict[str, int], list[str]],
    clock: Clock,
    custom_fields: tuple[dict[str, Any], dict[str, list[CustomField]]],
) -> tuple[_Writer, Any]:
    """The writer and the row checker of the import's kind of file: its columns'
    ``(positions, header)``, and the tenant's ``(mapped custom fields, computed ones)``."""
    positions, header = file
    custom, computed = custom_fields
    args = (db, actor, row["id"], mapping, clock, row["rows_read"])
    columns = {f: header[i] for f, i in positions.items()}
    if row["kind"] != "payments":
        writer = _Writer(*args, columns=columns, computed=computed)
        return writer, RowChecker(mapping, positions, header, custom, computed)
    async with db.tenant(actor.tenant_id) as conn:
        tenant = await Service(conn, actor, clock).tenant()
    writer = _PaymentWriter(
        *args,
        columns=columns,
        allow_credit=tenant.settings.payments.hold_overpayment_as_credit,
        time_zone=tenant.time_zone,
    )
    today = local_today(tenant, clock())
    return writer, PaymentRowChecker(mapping, positions, header, today=today)


class _BatchReader:
    """The file's rows, checked, in batches; rows an earlier run wrote are only checked
    (so that duplicates of their references are still found)."""

    def __init__(self, rows: Iterator[tuple[int, list[str]]], checker: RowChecker, skip: int):
        self.rows = rows
        self.checker = checker
        self.skip = skip
        self.seen = 0

    def next_batch(self, size: int) -> _Batch | None:
        batch = _Batch()
        check = self.checker.check
        for number, fields in self.rows:
            if number == 1:
                continue
            self.seen += 1
            result = check(number, fields)
            if self.seen <= self.skip:
                continue
            batch.read += 1
            if isinstance(result, list):
                batch.errors.extend(result)
                batch.rejected += 1
            else:
                batch.records.append(result)
            if batch.read >= size:
                break
        return batch if batch.read else None


def _refusal(exc: BaseException) -> str:
    """What the database said of a row, for the rejected rows' file."""
    detail = getattr(exc, "detail", None)
    said = str(exc).strip() or type(exc).__name__
    return f"the database refused it: {said}" + (f" ({detail})" if detail else "")


async def give_up(db: Database, tenant_id: int, import_id: int, reason: str) -> Import:
    """End the import as failed, saying ``reason`` (the sweep's, for one that stops every
    time it is run)."""
    return await _finish(db, tenant_id, import_id, "failed", reason, None, 0)


async def _finish(
    db: Database,
    tenant_id: int,
    import_id: int,
    status: str,
    error: str | None,
    on_progress: Progress | None,
    total: int,
) -> Import:
    async with db.tenant(tenant_id) as conn:
        ended = await queries.set_status(conn, import_id, status, error=error)
        row = await queries.get_import(conn, import_id)
    done = to_import(row)
    if ended:  # else another run ended it first, and said so
        log.info(
            "import ended",
            import_id=import_id,
            status=status,
            error=error,
            rows_read=done.rows_read,
            rejected=done.rows_rejected,
        )
    if on_progress is not None:
        on_progress(done, total)
    return done


class _Writer:
    """Writes batches of one import, each in its own transaction."""

    def __init__(
        self,
        db: Database,
        actor: Actor,
        import_id: int,
        mapping: Mapping,
        clock: Clock,
        done: int,
        columns: dict[str, str],
        computed: dict[str, list[CustomField]] | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.import_id = import_id
        self.clock = clock
        self.done = done
        self.columns = columns
        self.refused_alone = 0
        mapped = mapping.columns.keys()
        entities = {entity for entity, _ in custom_columns(mapping).values()}
        debtor_fields = [f for f in DEBTOR_FIELDS if f in mapped]
        # Computed fields: a new record's come with its row; the records each batch wrote
        # over are recomputed after the merge.
        keys = {e: [f.key for f in found] for e, found in (computed or {}).items() if found}
        self.computed = bool(keys)
        self.debtor_sql = queries.debtor_merge(
            [*debtor_fields, "custom"] if "debtor" in entities else debtor_fields,
            ids="debtor" in keys,
            computed=keys.get("debtor", ()),
        )
        account_fields = [f for f in ACCOUNT_FIELDS if f in mapped or f == "currency"]
        if "account" in entities:
            account_fields.append("custom")
        self.account_sql = queries.account_merge(account_fields, computed=keys.get("account", ()))

    async def merge(
        self, conn: Connection, batch: _Batch, audit: tuple[Any, ...], at: dt.datetime
    ) -> tuple[int, int, list[RowError], dict[str, int]]:
        """The batch's rows written: ``(created, updated, rows refused by the database,
        what the batch changed)``."""
        refused = [
            RowError(r["row_number"], r["field"], r["reason"])
            for r in await queries.refuse_moves(conn, self.actor.tenant_id)
        ]
        debtors = await queries.merge(conn, self.debtor_sql, audit, at)
        accounts = await queries.merge(conn, self.account_sql, audit, at)
        if self.computed:
            fields = CustomFieldService(conn, self.actor, self.clock)
            await fields.recompute_ids("debtor", debtors.ids)
            await fields.recompute_ids("account", accounts.ids)
        await AccountService(conn, self.actor, self.clock).announce_imported(
            created=accounts.created_ids, updated=accounts.ids
        )
        changed = {
            "accounts_created": accounts[0],
            "accounts_updated": accounts[1],
            "debtors_created": debtors[0],
            "debtors_updated": debtors[1],
        }
        return accounts[0], accounts[1], refused, changed

    async def write(self, batch: _Batch) -> Import:
        """Write ``batch``; a row the database refuses is found by halves and rejected."""
        try:
            return await self._write(batch)
        except _REFUSED as exc:
            if not batch.records:
                raise
            if len(batch.records) > 1:
                half = len(batch.records) // 2
                first, second = _Batch(), _Batch()
                first.records, second.records = batch.records[:half], batch.records[half:]
                first.errors, first.rejected = batch.errors, batch.rejected
                second.read = len(second.records)
                first.read = batch.read - second.read
                await self.write(first)
                return await self.write(second)
            row = batch.records[0][0]
            reason = _refusal(exc)
            self.refused_alone += 1
            if self.refused_alone > MAX_REFUSED_ALONE:
                raise _RefusedThroughout(
                    f"the database refused more than {MAX_REFUSED_ALONE} rows that passed "
                    f"every check, the last row {row}: {reason}"
                ) from exc
            log.warning("an import row refused by the database", row=row, error=reason)
            alone = _Batch()
            alone.errors = [*batch.errors, RowError(row, "", reason)]
            alone.rejected, alone.read = batch.rejected + 1, batch.read
            return await self._write(alone)

    async def _write(self, batch: _Batch) -> Import:
        actor = self.actor
        audit = (actor.tenant_id, actor.type, actor.id, actor.request_id)
        at = self.clock()
        async with self.db.tenant(actor.tenant_id) as conn:
            row = await queries.get_import(conn, self.import_id, for_update=True)
            if row is None or row["rows_read"] != self.done or row["status"] != "running":
                raise ImportMoved(f"import {self.import_id} moved on in another run")
            created = updated = 0
            refused: list[RowError] = []
            changed: dict[str, int] = {}
            if batch.records:
                await self.stage(conn, batch.records)
                created, updated, refused, changed = await self.merge(conn, batch, audit, at)
            errors = [tuple(e) for e in batch.errors] + [
                (r.row, self.columns.get(r.column, r.column), r.reason) for r in refused
            ]
            await queries.insert_rejections(conn, actor.tenant_id, self.import_id, errors)
            current = to_import(
                await queries.add_progress(
                    conn,
                    self.import_id,
                    batch.read,
                    created,
                    updated,
                    batch.rejected + len({r.row for r in refused}),
                )
            )
            if any(changed.values()):
                await ChangeRecorder(conn, actor, self.clock).event(
                    events.IMPORT_PROGRESS,
                    # The wallboard hears each batch once (never one event per account):
                    # counts, not the file's name, as imports themselves are the admins'.
                    [names.import_progress(self.import_id), names.WALLBOARD],
                    {
                        "import_id": self.import_id,
                        "status": current.status,
                        "rows_read": current.rows_read,
                        "rows_created": current.rows_created,
                        "rows_updated": current.rows_updated,
                        "rows_rejected": current.rows_rejected,
                        "batch": changed,
                    },
                )
        self.done += batch.read
        return current

    async def stage(self, conn: Connection, records: list[tuple[Any, ...]]) -> None:
        await queries.stage(conn, records)


class _PaymentWriter(_Writer):
    """Writes batches of payments: each batch's checks against the accounts, allocation,
    payments, balances and audit rows in one statement (``payment_queries``)."""

    def __init__(self, *args: Any, allow_credit: bool, time_zone: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.allow_credit = allow_credit
        self.time_zone = time_zone

    async def stage(self, conn: Connection, records: list[tuple[Any, ...]]) -> None:
        await payment_queries.stage(conn, records)

    async def merge(
        self, conn: Connection, batch: _Batch, audit: tuple[Any, ...], at: dt.datetime
    ) -> tuple[int, int, list[RowError], dict[str, int]]:
        made, paid, refused = await payment_queries.merge(
            conn, audit, at, allow_credit=self.allow_credit, time_zone=self.time_zone
        )
        await PaymentService(conn, self.actor, self.clock).announce_imported(made)
        changed = {"payments_created": len(made), "accounts_paid": paid}
        return len(made), 0, [RowError(*r) for r in refused], changed
