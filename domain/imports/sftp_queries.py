"""SQL of SFTP sources and of the files taken from them."""

from __future__ import annotations

from typing import Any

import asyncpg

from domain.db import Connection

_SOURCE = """id, name, host, port, username, host_key, folder, pattern, mapping_id,
  processed_folder, enabled, last_polled_at, last_status, last_error, last_files, created_at,
  updated_at"""
# What a source's SQL may set from a caller's values (the sealed key included).
WRITABLE = (
    "name",
    "host",
    "port",
    "username",
    "private_key_enc",
    "host_key",
    "folder",
    "pattern",
    "mapping_id",
    "processed_folder",
    "enabled",
)


async def list_sources(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {_SOURCE} FROM sftp_sources ORDER BY name, id")


async def get_source(
    conn: Connection, source_id: int, *, with_key: bool = False
) -> asyncpg.Record | None:
    key = ", private_key_enc" if with_key else ""
    return await conn.fetchrow(f"SELECT {_SOURCE}{key} FROM sftp_sources WHERE id = $1", source_id)


async def insert_source(conn: Connection, tenant_id: int, values: dict[str, Any]) -> asyncpg.Record:
    columns = [c for c in WRITABLE if c in values]
    return await conn.fetchrow(
        f"""INSERT INTO sftp_sources (tenant_id, {", ".join(columns)})
        VALUES ($1, {", ".join(f"${i}" for i in range(2, len(columns) + 2))})
        RETURNING {_SOURCE}""",
        tenant_id,
        *(values[c] for c in columns),
    )


async def update_source(
    conn: Connection, source_id: int, values: dict[str, Any]
) -> asyncpg.Record | None:
    columns = [c for c in WRITABLE if c in values]
    sets = "".join(f"{c} = ${i}, " for i, c in enumerate(columns, start=2))
    return await conn.fetchrow(
        f"""UPDATE sftp_sources SET {sets}updated_at = now() WHERE id = $1
        RETURNING {_SOURCE}""",
        source_id,
        *(values[c] for c in columns),
    )


async def delete_source(conn: Connection, source_id: int) -> None:
    await conn.execute("DELETE FROM sftp_sources WHERE id = $1", source_id)


async def enabled_sources(conn: Connection) -> list[asyncpg.Record]:
    """Every tenant's enabled sources (the system's connection): the poll's round."""
    return await conn.fetch(
        "SELECT tenant_id, id FROM sftp_sources WHERE enabled ORDER BY tenant_id, id"
    )


async def set_poll_result(
    conn: Connection, source_id: int, status: str, error: str | None, files: int
) -> None:
    await conn.execute(
        """UPDATE sftp_sources SET last_polled_at = now(), last_status = $2, last_error = $3,
          last_files = $4
        WHERE id = $1""",
        source_id,
        status,
        error,
        files,
    )


async def claim_file(
    conn: Connection, tenant_id: int, source_id: int, name: str, checksum: str, size: int
) -> int | None:
    """The new file's id; None if this source's file of that name and checksum was taken
    before (by an earlier poll, or one that died before it could move the file)."""
    return await conn.fetchval(
        """INSERT INTO sftp_files (tenant_id, source_id, name, checksum, size_bytes)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (source_id, name, checksum) DO NOTHING RETURNING id""",
        tenant_id,
        source_id,
        name,
        checksum,
        size,
    )


async def taken_file(
    conn: Connection, source_id: int, name: str, checksum: str
) -> asyncpg.Record | None:
    """A file taken before, with the status of its import (None if that import is gone)."""
    return await conn.fetchrow(
        """SELECT f.id, f.import_id, i.status FROM sftp_files f
        LEFT JOIN imports i ON i.id = f.import_id
        WHERE f.source_id = $1 AND f.name = $2 AND f.checksum = $3""",
        source_id,
        name,
        checksum,
    )


async def set_file_import(conn: Connection, file_id: int, import_id: int) -> None:
    await conn.execute("UPDATE sftp_files SET import_id = $2 WHERE id = $1", file_id, import_id)


async def set_file_moved(conn: Connection, file_id: int) -> None:
    await conn.execute(
        "UPDATE sftp_files SET moved_at = now() WHERE id = $1 AND moved_at IS NULL", file_id
    )
