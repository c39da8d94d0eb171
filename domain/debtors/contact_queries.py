"""The debtor_contacts table, and the copy of the preferred ones the debtor row keeps."""

from __future__ import annotations

from typing import Any

import asyncpg

from domain.db import Connection
from domain.sql import assignments, placeholders

COLUMNS = """c.id, c.debtor_id, c.kind, c.type, c.value, c.address_line1, c.address_line2,
  c.city, c.region, c.postal_code, c.country, c.preferred, c.sms_consent_at, c.sms_consent_how,
  c.call_consent_at, c.call_consent_how, c.email_consent_at, c.email_consent_how, c.created_at,
  c.updated_at"""

# The order contacts are listed in: by kind, the preferred first, then oldest first.
ORDER = (
    "array_position(ARRAY['phone', 'email', 'address']::varchar[], c.kind), NOT c.preferred, c.id"
)


def reachable(debtor: str, kind: str, consent: str) -> str:
    """SQL for the number or e-mail address a message goes to: the preferred one of ``kind``
    given ``consent``, else the oldest that is (a mobile before other numbers)."""
    return (
        f"(SELECT c.value FROM debtor_contacts c WHERE c.debtor_id = {debtor}.id "
        f"AND c.kind = '{kind}' AND c.{consent}_consent_at IS NOT NULL "
        f"ORDER BY c.preferred DESC, c.type = 'mobile' DESC, c.id LIMIT 1)"
    )


async def of_debtor(conn: Connection, debtor_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM debtor_contacts c WHERE c.debtor_id = $1 ORDER BY {ORDER}",
        debtor_id,
    )


async def get(
    conn: Connection, debtor_id: int, contact_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM debtor_contacts c WHERE c.id = $1 AND c.debtor_id = $2{lock}",
        contact_id,
        debtor_id,
    )


async def insert(conn: Connection, tenant_id: int, values: dict[str, Any]) -> asyncpg.Record:
    columns = ["tenant_id", *values]
    return await conn.fetchrow(
        f"INSERT INTO debtor_contacts AS c ({', '.join(columns)}) "
        f"VALUES ({placeholders(len(columns))}) RETURNING {COLUMNS}",
        tenant_id,
        *values.values(),
    )


async def update(conn: Connection, contact_id: int, changes: dict[str, Any]) -> asyncpg.Record:
    return await conn.fetchrow(
        f"UPDATE debtor_contacts AS c SET {assignments(changes)}, updated_at = now() "
        f"WHERE c.id = $1 RETURNING {COLUMNS}",
        contact_id,
        *changes.values(),
    )


async def delete(conn: Connection, contact_id: int) -> None:
    await conn.execute("DELETE FROM debtor_contacts WHERE id = $1", contact_id)


async def unprefer(conn: Connection, debtor_id: int, kind: str, *, other_than: int) -> None:
    """The preferred one of ``kind`` is no longer (another is being made so)."""
    await conn.execute(
        "UPDATE debtor_contacts SET preferred = false, updated_at = now() "
        "WHERE debtor_id = $1 AND kind = $2 AND preferred AND id <> $3",
        debtor_id,
        kind,
        other_than,
    )


async def has_preferred(conn: Connection, debtor_id: int, kind: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM debtor_contacts WHERE debtor_id = $1 AND kind = $2 AND preferred",
            debtor_id,
            kind,
        )
    )


async def preferred(conn: Connection, debtor_id: int, kind: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {COLUMNS} FROM debtor_contacts c "
        "WHERE c.debtor_id = $1 AND c.kind = $2 AND c.preferred",
        debtor_id,
        kind,
    )


async def copy_preferred(conn: Connection, debtor_id: int) -> None:
    """The debtor row's phone, e-mail address and address become the preferred ones'."""
    await conn.execute(
        """
        UPDATE debtors d SET
          phone = (SELECT value FROM debtor_contacts
                   WHERE debtor_id = d.id AND kind = 'phone' AND preferred),
          email = (SELECT value FROM debtor_contacts
                   WHERE debtor_id = d.id AND kind = 'email' AND preferred),
          address_line1 = a.address_line1, address_line2 = a.address_line2, city = a.city,
          region = a.region, postal_code = a.postal_code, country = coalesce(a.country, d.country),
          updated_at = now()
        FROM (SELECT $1::bigint AS debtor_id) AS k
        LEFT JOIN debtor_contacts a
          ON a.debtor_id = k.debtor_id AND a.kind = 'address' AND a.preferred
        WHERE d.id = k.debtor_id
        """,
        debtor_id,
    )
