"""SQL of imports: COPY into a staging table, one set-based merge per batch for debtors then
accounts (with their audit rows in the same statement), progress, rejections and presets.

A merge updates a row only where a value differs, so the same file imported again writes
nothing. The audit rows come from the same statement: ``old`` reads the rows as they were
(every part of a statement sees the same snapshot), ``merged`` is what was written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import asyncpg

from domain.db import Connection
from domain.imports.rows import STAGE_COLUMNS

_STAGE = """CREATE TEMP TABLE IF NOT EXISTS import_stage (
  row_number bigint, account_ref text, debtor_ref text, first_name text, last_name text,
  email text, phone text, address_line1 text, city text, postal_code text, country text,
  time_zone text, creditor text, currency text, principal numeric, interest numeric,
  fees numeric, due_date date, custom jsonb, debtor_custom jsonb) ON COMMIT DELETE ROWS"""

# What an empty or unmapped column becomes on a new row (the table's own defaults).
_DEBTOR_VALUE = {
    "custom": "coalesce(debtor_custom, '{}')",
    "first_name": "coalesce(first_name, '')",
    "last_name": "coalesce(last_name, '')",
    "time_zone": "coalesce(time_zone, 'UTC')",
}
_ACCOUNT_VALUE = {
    "custom": "coalesce(custom, '{}')",
    "creditor": "coalesce(creditor, '')",
    # Named here so that the table's trigger need not run for each row (the same sum).
    "placed_balance": "principal + interest + fees",
}

_AUDIT = """INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, entity_type,
    entity_id, before, after, request_id, occurred_at)
  SELECT $1, $2, $3, CASE WHEN old.id IS NULL THEN '{entity}.import_create'
      ELSE '{entity}.import_update' END, '{entity}', m.id,
    CASE WHEN old.id IS NULL THEN NULL ELSE to_jsonb(old) - 'id' END, to_jsonb(m) - 'id',
    $4, $5
  FROM merged m LEFT JOIN old ON old.id = m.id"""

_COUNTS = """SELECT count(*) FILTER (WHERE old.id IS NULL) AS created,
  count(*) FILTER (WHERE old.id IS NOT NULL) AS updated{ids}
FROM merged m LEFT JOIN old ON old.id = m.id"""
# The ids of the rows written over (not the new ones), for a tenant whose computed fields
# follow them: a new row's came with it.
_IDS = ", coalesce(array_agg(m.id) FILTER (WHERE old.id IS NOT NULL), '{}') AS ids"
# And the new ones' too, for their events (the accounts').
_BOTH_IDS = _IDS + ", coalesce(array_agg(m.id) FILTER (WHERE old.id IS NULL), '{}') AS created_ids"


class Merged(NamedTuple):
    """What a merge wrote: how many rows it created and updated, the updated ones' ids
    (when asked for), and the created ones' (accounts)."""

    created: int
    updated: int
    ids: list[int]
    created_ids: list[int]


def _upsert(
    table: str, fields: Sequence[str], extra_set: str = "", computed: Sequence[str] = ()
) -> str:
    if not fields:
        return "DO NOTHING"
    # A file's custom fields join those stored (a key it does not map keeps its value).
    # Computed ones were worked out from the row alone: right for a new record, while a
    # record written over is recomputed after the merge.
    new = {f: f"EXCLUDED.{f}" for f in fields}
    if "custom" in new:
        # Keys are identifiers (the definitions' CHECK): safe as literals.
        strip = f" - ARRAY[{', '.join(repr(k) for k in computed)}]::text[]" if computed else ""
        new["custom"] = f"{table}.custom || (EXCLUDED.custom{strip})"
    sets = ", ".join(f"{f} = {new[f]}" for f in fields)
    mine = ", ".join(f"{table}.{f}" for f in fields)
    theirs = ", ".join(new[f] for f in fields)
    return (
        f"DO UPDATE SET {sets}, {extra_set}updated_at = now() "
        f"WHERE ({mine}, NULL) IS DISTINCT FROM ({theirs}, NULL)"
    )


def debtor_merge(fields: Sequence[str], *, ids: bool = False, computed: Sequence[str] = ()) -> str:
    """The debtors of a batch (the last row of each debtor wins), ``fields`` the mapped ones;
    with ``ids``, the ids of those written over too."""
    all_fields = (
        "first_name",
        "last_name",
        "email",
        "phone",
        "address_line1",
        "city",
        "postal_code",
        "country",
        "time_zone",
        "custom",
    )
    select = ", ".join(_DEBTOR_VALUE.get(f, f) for f in all_fields)
    returning = ", ".join(fields)
    return f"""WITH src AS (
  SELECT DISTINCT ON (debtor_ref) * FROM import_stage ORDER BY debtor_ref, row_number DESC
), old AS (
  SELECT d.id{"".join(f", d.{f}" for f in fields)} FROM debtors d
  JOIN src ON d.tenant_id = $1 AND d.external_ref = src.debtor_ref
), merged AS (
  INSERT INTO debtors (tenant_id, external_ref, {", ".join(all_fields)})
  SELECT $1, debtor_ref, {select} FROM src
  ON CONFLICT (tenant_id, external_ref) WHERE external_ref IS NOT NULL
  {_upsert("debtors", fields, computed=computed)}
  RETURNING id{", " + returning if returning else ""}
), audit AS ({_AUDIT.format(entity="debtor")})
{_COUNTS.format(ids=_IDS if ids else "")}"""


def account_merge(fields: Sequence[str], *, computed: Sequence[str] = ()) -> str:
    """The accounts of a batch, each on its debtor; ``fields`` the mapped account fields;
    with the ids of those created and of those written over."""
    all_fields = (
        "creditor",
        "currency",
        "principal",
        "interest",
        "fees",
        "due_date",
        "placed_balance",
        "custom",
    )
    fields = ["debtor_id", *fields]
    select = ", ".join(_ACCOUNT_VALUE.get(f, f) for f in all_fields)
    return f"""WITH src AS (
  SELECT s.*, d.id AS debtor_id FROM import_stage s
  JOIN debtors d ON d.tenant_id = $1 AND d.external_ref = s.debtor_ref
), old AS (
  SELECT a.id{"".join(f", a.{f}" for f in fields)} FROM accounts a
  JOIN src ON a.tenant_id = $1 AND a.external_ref = src.account_ref
), merged AS (
  INSERT INTO accounts (tenant_id, debtor_id, external_ref, {", ".join(all_fields)})
  SELECT $1, debtor_id, account_ref, {select} FROM src
  ON CONFLICT (tenant_id, external_ref)
  {_upsert("accounts", fields, "version = accounts.version + 1, ", computed)}
  RETURNING id, {", ".join(fields)}
), audit AS ({_AUDIT.format(entity="account")})
{_COUNTS.format(ids=_BOTH_IDS)}"""


async def refuse_moves(conn: Connection, tenant_id: int) -> list[asyncpg.Record]:
    """Take out of the staged batch the rows that would change an existing account's
    currency (its figures and payments are in the one it has) or move it to another debtor
    (its history stays with the one it has): ``row_number, field, reason`` of each."""
    # Each staged row probes the account by its reference (LIMIT 1 keeps the probe from being
    # turned into a hash join over all the tenant's accounts, a cost that grows with them).
    return await conn.fetch(
        """WITH moved AS (
          SELECT s.row_number, a.external_ref, a.currency,
            coalesce(a.debtor_ref, '#' || a.debtor_id) AS debtor_ref,
            a.currency IS DISTINCT FROM s.currency AS other_currency
          FROM import_stage s, LATERAL (
            SELECT a.external_ref, a.currency, a.debtor_id, d.external_ref AS debtor_ref
            FROM accounts a JOIN debtors d ON d.id = a.debtor_id
            WHERE a.tenant_id = $1 AND a.external_ref = s.account_ref LIMIT 1) a
          WHERE a.currency IS DISTINCT FROM s.currency OR a.debtor_ref IS DISTINCT FROM s.debtor_ref
        ), gone AS (
          DELETE FROM import_stage s USING moved m WHERE s.row_number = m.row_number
        )
        SELECT row_number,
          CASE WHEN other_currency THEN 'currency' ELSE 'debtor_ref' END AS field,
          CASE WHEN other_currency
            THEN format('account %s is in %s: an import does not change an account''s currency',
              external_ref, currency)
            ELSE format('account %s belongs to debtor %s: an import does not move an account '
              'to another debtor', external_ref, debtor_ref)
          END AS reason
        FROM moved ORDER BY row_number""",
        tenant_id,
    )


async def stage(conn: Connection, records: list[tuple[Any, ...]]) -> None:
    await conn.execute(_STAGE)
    await conn.copy_records_to_table("import_stage", records=records, columns=STAGE_COLUMNS)


async def merge(conn: Connection, sql: str, audit: tuple[Any, ...], at: dt.datetime) -> Merged:
    """Run a merge; ``audit`` is ``(tenant_id, actor_type, actor_id, request_id)``."""
    row = await conn.fetchrow(sql, *audit, at)
    return Merged(
        row["created"],
        row["updated"],
        list(row.get("ids") or ()),
        list(row.get("created_ids") or ()),
    )


async def insert_rejections(
    conn: Connection, tenant_id: int, import_id: int, errors: list[tuple[int, str, str]]
) -> None:
    if not errors:
        return
    rows, columns, reasons = zip(*errors, strict=True)
    await conn.execute(
        """INSERT INTO import_rejections (tenant_id, import_id, row_number, column_name, reason)
        SELECT $1, $2, r, c, x FROM unnest($3::bigint[], $4::text[], $5::text[]) AS u (r, c, x)
        ON CONFLICT DO NOTHING""",
        tenant_id,
        import_id,
        list(rows),
        list(columns),
        list(reasons),
    )


_IMPORT = """id, kind, file_name, path, size_bytes, checksum, status, mapping_id, mapping,
  rows_read, rows_created, rows_updated, rows_unchanged, rows_rejected, error, created_by,
  created_at, started_at, finished_at, updated_at"""


async def insert_import(conn: Connection, tenant_id: int, values: dict[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO imports (tenant_id, kind, file_name, path, size_bytes, checksum,
          mapping_id, mapping, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_IMPORT}""",
        tenant_id,
        values["kind"],
        values["file_name"],
        values["path"],
        values["size_bytes"],
        values["checksum"],
        values["mapping_id"],
        values["mapping"],
        values["created_by"],
    )


async def get_import(
    conn: Connection, import_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {_IMPORT} FROM imports WHERE id = $1{lock}", import_id)


async def list_imports(
    conn: Connection, *, after_id: int | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {_IMPORT} FROM imports WHERE ($1::bigint IS NULL OR id < $1)
        ORDER BY id DESC LIMIT $2""",
        after_id,
        limit,
    )


async def set_status(
    conn: Connection, import_id: int, status: str, *, error: str | None = None
) -> bool:
    """Move the import to ``status``; False if it had ended (done or failed) already: an
    ended import never moves again, whichever run of it comes second."""
    result = await conn.execute(
        """UPDATE imports SET status = $2::text, error = $3, updated_at = now(),
          started_at = CASE WHEN $2::text = 'running' THEN coalesce(started_at, now())
            ELSE started_at END,
          finished_at = CASE WHEN $2::text IN ('done', 'failed') THEN now() ELSE finished_at END
        WHERE id = $1 AND status NOT IN ('done', 'failed')""",
        import_id,
        status,
        error,
    )
    return result != "UPDATE 0"


async def add_progress(
    conn: Connection, import_id: int, read: int, created: int, updated: int, rejected: int
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""UPDATE imports SET rows_read = rows_read + $2, rows_created = rows_created + $3,
          rows_updated = rows_updated + $4,
          rows_unchanged = rows_unchanged + ($2 - $3 - $4 - $5),
          rows_rejected = rows_rejected + $5, updated_at = now()
        WHERE id = $1 RETURNING {_IMPORT}""",
        import_id,
        read,
        created,
        updated,
        rejected,
    )


async def rejections(conn: Connection, import_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT row_number, column_name, reason FROM import_rejections WHERE import_id = $1
        ORDER BY row_number, column_name""",
        import_id,
    )


_PRESET = """id, name, kind, columns, date_format, default_currency, encoding, delimiter,
  created_at, updated_at"""


async def list_presets(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {_PRESET} FROM import_mappings ORDER BY name, id")


async def get_preset(conn: Connection, preset_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_PRESET} FROM import_mappings WHERE id = $1", preset_id)


async def preset_by_name(conn: Connection, name: str) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {_PRESET} FROM import_mappings WHERE name = $1", name)


async def insert_preset(
    conn: Connection, tenant_id: int, name: str, kind: str, mapping: dict[str, Any]
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO import_mappings (tenant_id, name, kind, columns, date_format,
          default_currency, encoding, delimiter)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_PRESET}""",
        tenant_id,
        name,
        kind,
        mapping["columns"],
        mapping["date_format"],
        mapping["default_currency"],
        mapping["encoding"],
        mapping["delimiter"],
    )


async def update_preset(
    conn: Connection, preset_id: int, name: str, mapping: dict[str, Any]
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""UPDATE import_mappings SET name = $2, columns = $3, date_format = $4,
          default_currency = $5, encoding = $6, delimiter = $7, updated_at = now()
        WHERE id = $1 RETURNING {_PRESET}""",
        preset_id,
        name,
        mapping["columns"],
        mapping["date_format"],
        mapping["default_currency"],
        mapping["encoding"],
        mapping["delimiter"],
    )


async def delete_preset(conn: Connection, preset_id: int) -> bool:
    return (
        await conn.execute("DELETE FROM import_mappings WHERE id = $1", preset_id)
    ) != "DELETE 0"


async def claim_stalled(
    conn: Connection, *, pending_for: dt.timedelta, running_for: dt.timedelta, limit: int = 100
) -> list[asyncpg.Record]:
    """Imports of every tenant that have waited ``pending_for`` since they were uploaded (a
    kick that never reached the workers) or not moved for ``running_for`` while running (a
    job lost with Redis's data), oldest first; each is marked as moved now, so that it is
    handed out again at most once per such wait, and counts its ``stalls``: how many times
    in a row it was handed out with no row read since. System connection."""
    return await conn.fetch(
        """UPDATE imports SET updated_at = now(),
          stalls = CASE WHEN stalled_at_rows = rows_read THEN stalls + 1 ELSE 1 END,
          stalled_at_rows = rows_read
        WHERE id IN (
          SELECT id FROM imports
          WHERE status IN ('pending', 'running') AND updated_at < now() - $1::interval
            AND (status = 'pending' OR updated_at < now() - $2::interval)
          ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING tenant_id, id, status, stalls, rows_read""",
        min(pending_for, running_for),
        running_for,
        limit,
    )
