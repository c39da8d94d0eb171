"""SQL of custom field definitions, and the set-based checks of the values they govern."""

from __future__ import annotations

from typing import Any

import asyncpg

from domain.db import Connection

_FIELD = "id, entity, key, label, type, options, expression, position, created_at, updated_at"
_TABLES = {"account": "accounts", "debtor": "debtors"}
_BUMP = {"account": ", version = t.version + 1", "debtor": ""}

# What a stored value (``v``, never JSON null here) must look like to satisfy each type: the
# rules of ``values.check_value`` in SQL, with ``options`` those of a select.
_TEXT = "jsonb_typeof(v) = 'string'"
SATISFIES: dict[str, str] = {
    "string": f"{_TEXT} AND length(v #>> '{{}}') <= 1000",
    "number": "jsonb_typeof(v) = 'number' AND abs(v::numeric) < 1e15",
    "boolean": "jsonb_typeof(v) = 'boolean'",
    "date": f"{_TEXT} AND (v #>> '{{}}') ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$'"
    " AND pg_input_is_valid(v #>> '{}', 'date')",
    "email": f"{_TEXT} AND (v #>> '{{}}') ~ '^[^@\\s]{{1,64}}@[^@\\s]+\\.[^@\\s]{{2,}}$'"
    " AND length(v #>> '{}') <= 254",
    "phone": f"{_TEXT} AND (v #>> '{{}}') ~ '^\\+[1-9][0-9]{{5,14}}$'",
    "url": f"{_TEXT} AND (v #>> '{{}}') ~* '^https?://[^\\s/?#@]+([/?#]\\S*)?$'"
    " AND length(v #>> '{}') <= 2000",
    "json": "true",
    "select": f"{_TEXT} AND (v #>> '{{}}') = ANY(options)",
    "multi_select": "jsonb_typeof(v) = 'array' AND NOT EXISTS (SELECT 1 FROM"
    " jsonb_array_elements(v) e WHERE jsonb_typeof(e) <> 'string'"
    " OR NOT (e #>> '{}') = ANY(options))"
    " AND (SELECT count(DISTINCT e) = count(*) FROM jsonb_array_elements(v) e)",
    # A field turned into a computed one must hold nothing yet: its values would be lost.
    "computed": "false",
}


async def list_fields(conn: Connection, entity: str | None = None) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {_FIELD} FROM custom_fields WHERE $1::text IS NULL OR entity = $1
        ORDER BY entity, position, key""",
        entity,
    )


async def get_field(
    conn: Connection, field_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {_FIELD} FROM custom_fields WHERE id = $1{lock}", field_id)


async def insert_field(conn: Connection, tenant_id: int, values: dict[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO custom_fields (tenant_id, entity, key, label, type, options, expression,
          position)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_FIELD}""",
        tenant_id,
        values["entity"],
        values["key"],
        values["label"],
        values["type"],
        values["options"],
        values["expression"],
        values["position"],
    )


async def update_field(conn: Connection, field_id: int, values: dict[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""UPDATE custom_fields SET label = $2, type = $3, options = $4, expression = $5,
          position = $6, updated_at = now()
        WHERE id = $1 RETURNING {_FIELD}""",
        field_id,
        values["label"],
        values["type"],
        values["options"],
        values["expression"],
        values["position"],
    )


async def delete_field(conn: Connection, field_id: int) -> None:
    await conn.execute("DELETE FROM custom_fields WHERE id = $1", field_id)


async def count_unfit(
    conn: Connection, tenant_id: int, entity: str, key: str, type: str, options: list[str]
) -> int:
    """How many of the tenant's records hold a value under ``key`` that ``type`` (with
    ``options``) would refuse: one counting statement over the table."""
    return await conn.fetchval(
        f"""SELECT count(*) FROM {_TABLES[entity]},
          LATERAL (SELECT custom -> $1 AS v, $2::text[] AS options) x
        WHERE tenant_id = $3 AND custom ? $1 AND jsonb_typeof(v) <> 'null'
          AND NOT ({SATISFIES[type]})""",
        key,
        options,
        tenant_id,
    )


async def mappings_feeding(conn: Connection, entity: str, key: str) -> list[str]:
    """The names of the saved import mappings that feed the field (its column names it)."""
    path = f"custom.{key}" if entity == "account" else f"debtor.custom.{key}"
    rows = await conn.fetch(
        "SELECT name FROM import_mappings WHERE columns ? $1 ORDER BY name", path
    )
    return [r["name"] for r in rows]


async def phone_texts(
    conn: Connection, tenant_id: int, entity: str, key: str
) -> list[asyncpg.Record]:
    """The distinct texts under ``key`` that look like E.164 (``SATISFIES["phone"]``), with
    how many records hold each: whether each is a real number is for phonenumbers to say."""
    return await conn.fetch(
        f"""SELECT v #>> '{{}}' AS text, count(*) AS records FROM {_TABLES[entity]},
          LATERAL (SELECT custom -> $1 AS v) x
        WHERE tenant_id = $2 AND custom ? $1 AND ({SATISFIES["phone"]})
        GROUP BY 1""",
        key,
        tenant_id,
    )


async def records(
    conn: Connection, tenant_id: int, entity: str, *, after_id: int, limit: int
) -> list[asyncpg.Record]:
    """A page of the tenant's records, for recomputing computed fields."""
    return await conn.fetch(
        f"SELECT * FROM {_TABLES[entity]} WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        tenant_id,
        after_id,
        limit,
    )


async def records_by_id(conn: Connection, entity: str, ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT * FROM {_TABLES[entity]} WHERE id = ANY($1)", ids)


async def set_customs(
    conn: Connection, entity: str, changed: list[tuple[int, dict[str, Any]]]
) -> None:
    """Write the ``custom`` objects of many records in one statement."""
    if not changed:
        return
    await conn.execute(
        f"""UPDATE {_TABLES[entity]} t SET custom = c.custom, updated_at = now(){_BUMP[entity]}
        FROM unnest($1::bigint[], $2::jsonb[]) AS c (id, custom) WHERE t.id = c.id""",
        [i for i, _ in changed],
        [c for _, c in changed],
    )
