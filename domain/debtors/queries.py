from __future__ import annotations

from typing import Any

import asyncpg

from domain.accounts.visibility import collector_sees
from domain.db import Connection
from domain.search import match_text
from domain.sql import Where, assignments, placeholders

COLUMNS = """d.id, d.external_ref, d.first_name, d.last_name, d.email, d.phone, d.address_line1,
  d.address_line2, d.city, d.region, d.postal_code, d.country, d.time_zone, d.do_not_contact,
  d.opt_out_call, d.opt_out_sms, d.opt_out_email, d.cease_requested_at, d.custom, d.created_at,
  d.updated_at"""


def _visible(viewer_param: str) -> str:
    """The debtor has an account the collector in ``viewer_param`` may see."""
    return (
        f"EXISTS (SELECT 1 FROM accounts a "
        f"WHERE a.debtor_id = d.id AND {collector_sees('a', viewer_param)})"
    )


async def get(
    conn: Connection, debtor_id: int, *, viewer: int | None = None, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE OF d" if for_update else ""
    if viewer is None:
        return await conn.fetchrow(
            f"SELECT {COLUMNS} FROM debtors d WHERE d.id = $1{lock}", debtor_id
        )
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM debtors d WHERE d.id = $1 AND {_visible('$2')}{lock}",
        debtor_id,
        viewer,
    )


async def ref_taken(conn: Connection, ref: str, *, other_than: int | None = None) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM debtors WHERE external_ref = $1 AND id IS DISTINCT FROM $2",
            ref,
            other_than,
        )
    )


async def insert(conn: Connection, tenant_id: int, values: dict[str, Any]) -> asyncpg.Record:
    columns = ["tenant_id", *values]
    return await conn.fetchrow(
        f"INSERT INTO debtors AS d ({', '.join(columns)}) VALUES ({placeholders(len(columns))}) "
        f"RETURNING {COLUMNS}",
        tenant_id,
        *values.values(),
    )


async def update(conn: Connection, debtor_id: int, changes: dict[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"UPDATE debtors AS d SET {assignments(changes)}, updated_at = now() WHERE d.id = $1 "
        f"RETURNING {COLUMNS}",
        debtor_id,
        *changes.values(),
    )


async def account_ids(conn: Connection, debtor_id: int) -> list[int]:
    return [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM accounts WHERE debtor_id = $1 ORDER BY id", debtor_id
        )
    ]


async def search(
    conn: Connection,
    *,
    text: str | None,
    viewer: int | None,
    after_id: int | None,
    limit: int,
) -> list[asyncpg.Record]:
    """Debtors newest first; ``text`` matches names, e-mail or reference by prefix."""
    w = Where()
    if viewer is not None:
        w.add(_visible(w.param(viewer)))
    match_text(w, text, vector="d.search", reference="d.external_ref", debtor="d")
    if after_id is not None:
        w.add(f"d.id < {w.param(after_id)}")
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM debtors d WHERE {w.sql()} ORDER BY d.id DESC "
        f"LIMIT {w.param(limit)}",
        *w.args,
    )


async def greeting(conn: Connection, debtor_id: int) -> asyncpg.Record | None:
    """Only the first name and the time zone: what a payment page greets the debtor with
    and shows dates in."""
    return await conn.fetchrow("SELECT first_name, time_zone FROM debtors WHERE id = $1", debtor_id)
