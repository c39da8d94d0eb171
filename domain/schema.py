"""Creating the database and applying the Piccolo migrations (as the owner, not the app role)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

# Any constant will do: it only keeps two migrators of one database from interleaving.
_MIGRATION_LOCK = 0x5245434F5550  # "RECOUP"


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


async def ensure_database(url: str) -> bool:
    """Create the database of ``url`` if it does not exist; True when it was created."""
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    name = database_name(url)
    admin = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name.replace(chr(34), "")}"')
    except asyncpg.DuplicateDatabaseError:
        return False
    finally:
        await admin.close()
    return True


async def migrate(url: str, *, quiet: bool = True) -> None:
    """Apply every pending migration to the database of ``url``.

    Piccolo binds its tables to the first database a process uses, so a process migrates
    one database (``recoup migrate`` in a subprocess for any other).
    """
    os.environ.setdefault("PICCOLO_CONF", "domain.piccolo_conf")
    os.environ["RECOUP_MIGRATION_URL"] = url
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.engine.postgres import PostgresEngine

    import domain.piccolo_conf as conf

    conf.DB = PostgresEngine(config={"dsn": url}, log_queries=False)
    lock = await asyncpg.connect(url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        output = io.StringIO()
        with contextlib.redirect_stdout(output) if quiet else contextlib.nullcontext():
            result = await run_forwards(app_name="all")
        if not result.success:
            raise RuntimeError(f"migrations failed: {result.message}\n{output.getvalue()}")
    finally:
        await lock.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        await lock.close()


def sql_migration(migration_id: str, description: str, sql: str) -> Callable[[], Any]:
    """A migration module's ``forwards`` that runs ``sql`` (in Piccolo's transaction when
    there is one, else on a connection of its own): ``forwards = sql_migration(ID, ...)``."""
    from piccolo.apps.migrations.auto.migration_manager import MigrationManager
    from piccolo.engine import engine_finder

    async def forwards() -> MigrationManager:
        manager = MigrationManager(
            migration_id=migration_id, app_name="recoup", description=description
        )

        async def run() -> None:
            engine: Any = engine_finder()
            transaction = engine.current_transaction.get()
            if transaction is not None:
                await transaction.connection.execute(sql)
                return
            connection = await engine.get_new_connection()
            try:
                await connection.execute(sql)
            finally:
                await connection.close()

        manager.add_raw(run)
        return manager

    return forwards
