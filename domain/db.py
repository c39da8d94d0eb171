"""Connections: pools that run as row-level-security roles, and per-transaction tenancy.

Two PostgreSQL login roles do all the work (created by the migrations):

- ``recoup_app`` serves requests. Every tenant table has a policy that shows it
  only the rows of the tenant named by ``app.tenant_id``, set per transaction,
  so a query that forgets its tenant filter still sees nothing of another tenant.
- ``recoup_system`` is for the few jobs that span tenants by nature (the outbox
  relay, schedules, seeding, the CLI).

Each pool logs in as its role, so no statement can switch to another one (``SET
ROLE`` needs the session's user to be a member). Their URLs default to the owner's
``DATABASE_URL`` with the user swapped and no password, which is what the
embedded server and local trust authentication accept; elsewhere give them as
``APP_DATABASE_URL`` and ``SYSTEM_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec

from domain import validation
from domain.actor import ROLES, Actor
from domain.errors import Unauthenticated

APP_ROLE = "recoup_app"
SYSTEM_ROLE = "recoup_system"

Connection = asyncpg.Connection

# What a statement raises when the database is unreachable or refuses it (not a bug of ours).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)

_json_encode = msgspec.json.Encoder(decimal_format="string").encode
_json_decode = msgspec.json.Decoder().decode


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + _json_encode(value)


def _decode_jsonb(data: bytes) -> Any:
    return _json_decode(data[1:])


async def _reset_connection(conn: asyncpg.Connection) -> None:
    """Before a connection goes back to its pool: end a transaction left open.

    asyncpg's default reset also runs ``RESET ALL`` and friends, one more round trip
    per request; Recoup keeps no session state (tenancy is ``set_config(..., true)``,
    local to the transaction), so only an unfinished transaction needs undoing.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        format="binary",
    )


def role_url(url: str, role: str) -> str:
    """``url`` logging in as ``role`` (no password: for trust or peer authentication)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = "&".join(
        p for p in parts.query.split("&") if p and not p.startswith(("user=", "password="))
    )
    return urlunsplit(parts._replace(netloc=f"{role}@{host}", query=query))


async def connect(dsn: str, *, application_name: str = "recoup") -> Connection:
    """A single connection (for LISTEN, COPY or one-off commands) with Recoup's codecs."""
    conn = await asyncpg.connect(dsn, server_settings={"application_name": application_name})
    await _init_connection(conn)
    return conn


class SessionEnded(Unauthenticated):
    """The caller's signed-in session has ended (signed out, deactivated, role or password
    changed) since its access token was issued."""


# The signed-in user whose session every tenant transaction of this request checks first:
# set by the web layer once it knows the caller, for the request only.
_checked_session: ContextVar[Actor | None] = ContextVar("recoup_checked_session", default=None)


def require_session(actor: Actor) -> Token[Actor | None]:
    """Until ``end_session_check``, every tenant transaction first checks that ``actor``'s
    session is still valid: active, same role, same session version, sign-in not revoked.
    The check goes with BEGIN in one statement, so it costs no round trip of its own."""
    return _checked_session.set(actor if actor.session is not None else None)


def end_session_check(token: Token[Actor | None]) -> None:
    _checked_session.reset(token)


def _session_arguments() -> str:
    """``recoup_begin``'s session arguments for the request's signed-in user (NULLs if none);
    ids and versions are ints, the sign-in a UUID and the role one of ours: safe to inline."""
    actor = _checked_session.get()
    if actor is None or actor.session is None:
        return "NULL, NULL, NULL, NULL"
    return _session_sql(actor.id or 0, actor.role, actor.session.version, actor.session.sign_in)


@functools.lru_cache(maxsize=4096)
def _session_sql(user_id: int, role: str | None, version: int, sign_in: uuid.UUID) -> str:
    if role not in ROLES:
        raise SessionEnded("the session has ended; sign in again")
    if not isinstance(sign_in, uuid.UUID):  # inlined below: a UUID's text only
        raise SessionEnded("the session has ended; sign in again")
    return f"{int(user_id)}, '{role}', {int(version)}, '{sign_in}'"


# What recoup_begin raises when the session has ended, and when the tenant changed since
# this process read it.
SESSION_ENDED_SQLSTATE = "RC401"
TENANT_CHANGED_SQLSTATE = "RC409"


@dataclass(slots=True)
class _TransactionTenant:
    """The tenant of the transaction being run, and what this process holds of it."""

    cache: dict[int, tuple[int, Any]]
    tenant_id: int
    confirmed: Any | None  # held, and confirmed current by this transaction's BEGIN


# The tenant transactions open in this process, by their connection (services hold the
# connection, not the Database; an entry lives exactly as long as its transaction).
_open_transactions: dict[int, _TransactionTenant] = {}


def known_tenant(conn: Connection, tenant_id: int) -> Any | None:
    """What this process holds of ``tenant_id``, when ``conn``'s transaction confirmed it
    is current (None: read it, then ``remember_tenant``)."""
    current = _open_transactions.get(id(conn))
    if current is None or current.tenant_id != tenant_id:
        return None
    return current.confirmed


def forget_tenant(conn: Connection, tenant_id: int) -> None:
    """``conn``'s transaction changes the tenant: what was held of it is not current."""
    current = _open_transactions.get(id(conn))
    if current is not None and current.tenant_id == tenant_id:
        current.confirmed = None
        current.cache.pop(tenant_id, None)


def remember_tenant(conn: Connection, tenant_id: int, version: int, value: Any) -> None:
    """Hold ``value`` (the tenant as read in ``conn``'s transaction, at ``version``) for the
    transactions that follow; each confirms it with its BEGIN."""
    current = _open_transactions.get(id(conn))
    if current is not None and current.tenant_id == tenant_id:
        current.cache[tenant_id] = (version, value)


async def _release(pool: asyncpg.Pool, conn: Connection) -> None:
    """Give ``conn`` back, rolling back what it left open here (asyncpg's own reset would
    log each such transaction as an error). A connection that cannot roll back (its task
    cancelled, a statement still in flight, a broken link) is closed instead, and the pool
    opens a new one; a cancellation goes on once the connection is back."""
    cancelled: BaseException | None = None
    try:
        if conn.is_in_transaction():
            await conn.execute("ROLLBACK")
    except asyncio.CancelledError as exc:
        conn.terminate()
        cancelled = exc
    except Exception:
        conn.terminate()
    with contextlib.suppress(Exception):
        # asyncpg shields the release itself: it completes even if this task is cancelled.
        await pool.release(conn)
    if cancelled is not None:
        raise cancelled


class TenantTransaction:
    """A tenant transaction begun by ``Database.begin`` and ended by hand."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: asyncpg.Pool, conn: Connection) -> None:
        self._pool = pool
        self._conn: Connection | None = conn

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the transaction has ended")
        return self._conn

    async def commit(self) -> None:
        """Commit and give the connection back; if the commit fails, nothing is kept."""
        conn = self._end()
        try:
            await conn.execute("COMMIT")
        finally:
            await _release(self._pool, conn)

    async def rollback(self) -> None:
        """Undo everything and give the connection back; nothing to do once ended."""
        if self._conn is not None:
            await _release(self._pool, self._end())

    def _end(self) -> Connection:
        conn, self._conn = self.conn, None
        _open_transactions.pop(id(conn), None)
        return conn


class DatabaseSettings(Protocol):
    """Where the database is and how large a pool may grow (``config.Settings`` has these)."""

    database_url: str | None
    app_database_url: str | None
    system_database_url: str | None
    db_pool_max: int


class Database:
    """The pools of one process and the transactions everything runs in."""

    @classmethod
    def from_settings(
        cls,
        settings: DatabaseSettings,
        *,
        application_name: str,
        min_size: int = 0,
        max_size: int | None = None,
    ) -> Database:
        """An unopened ``Database`` for these settings (``await ....open()``)."""
        if settings.database_url is None:
            raise RuntimeError("DATABASE_URL is not resolved")
        return cls(
            settings.database_url,
            app_dsn=settings.app_database_url,
            system_dsn=settings.system_database_url,
            min_size=min_size,
            max_size=max_size or settings.db_pool_max,
            application_name=application_name,
        )

    def __init__(
        self,
        dsn: str,
        *,
        app_dsn: str | None = None,
        system_dsn: str | None = None,
        min_size: int = 2,
        max_size: int = 10,
        system_max_size: int = 4,
        application_name: str = "recoup",
    ) -> None:
        self.dsn = dsn
        self.app_dsn = app_dsn or role_url(dsn, APP_ROLE)
        self.system_dsn = system_dsn or role_url(dsn, SYSTEM_ROLE)
        self._sizes = (min_size, max_size, system_max_size)
        self._application_name = application_name
        self._app: asyncpg.Pool | None = None
        self._system: asyncpg.Pool | None = None
        # Tenants read by this process: id -> (version, tenant), confirmed per transaction.
        self._tenants: dict[int, tuple[int, Any]] = {}

    async def open(self) -> Database:
        min_size, max_size, system_max = self._sizes
        self._app = await asyncpg.create_pool(
            self.app_dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            reset=_reset_connection,
            server_settings={"application_name": self._application_name},
        )
        self._system = await asyncpg.create_pool(
            self.system_dsn,
            min_size=0,
            max_size=system_max,
            init=_init_connection,
            reset=_reset_connection,
            server_settings={"application_name": f"{self._application_name}-system"},
        )
        if not validation.database_zones_known():
            # Away now, the zones are Python's alone until a later process reaches it.
            with contextlib.suppress(*DATABASE_ERRORS):
                async with self._app.acquire(timeout=5) as conn:
                    names = await conn.fetch("SELECT name FROM pg_timezone_names")
                validation.know_database_zones(frozenset(r["name"] for r in names))
        return self

    async def close(self, *, grace: float = 10.0) -> None:
        """Close both pools, waiting up to ``grace`` seconds for connections still in use;
        past that they are cut (a connection never given back must not hold up a shutdown)."""
        for pool in (self._app, self._system):
            if pool is not None:
                try:
                    await asyncio.wait_for(pool.close(), grace)
                except TimeoutError:
                    pool.terminate()
        self._app = self._system = None

    @property
    def app_pool(self) -> asyncpg.Pool:
        if self._app is None:
            raise RuntimeError("Database.open() was not awaited")
        return self._app

    @asynccontextmanager
    async def tenant(
        self, tenant_id: int, *, generic_plans: bool = False
    ) -> AsyncIterator[Connection]:
        """A transaction that sees only ``tenant_id``'s rows; commits when the block ends.

        ``generic_plans``: the transaction's prepared statements reuse one plan instead of
        being planned again for each execution, for hot paths of small, index-driven
        statements where planning would cost more than running them."""
        transaction = await self.begin(tenant_id, generic_plans=generic_plans)
        try:
            yield transaction.conn
        except BaseException:
            await transaction.rollback()
            raise
        await transaction.commit()

    async def begin(self, tenant_id: int, *, generic_plans: bool = False) -> TenantTransaction:
        """``tenant``'s transaction, for a caller whose extent is not one block: it ends
        with ``commit`` or ``rollback``, one of which must be awaited."""
        pool = self.app_pool
        conn = await pool.acquire()
        try:
            held = self._tenants.get(tenant_id)
            if not await self._begin(conn, tenant_id, generic_plans, held):
                held = None  # changed since it was read: read again
                await self._begin(conn, tenant_id, generic_plans, None)
        except BaseException:
            await _release(pool, conn)
            raise
        _open_transactions[id(conn)] = _TransactionTenant(
            self._tenants, tenant_id, held[1] if held else None
        )
        return TenantTransaction(pool, conn)

    async def _begin(
        self,
        conn: Connection,
        tenant_id: int,
        generic_plans: bool,
        held: tuple[int, Any] | None,
    ) -> bool:
        """BEGIN and ``recoup_begin`` in one round trip: the tenant set, the request's
        session checked, the tenant this process holds (if any) confirmed. False when the
        held tenant changed (the transaction is rolled back; begin again without it)."""
        version = int(held[0]) if held else "NULL"
        try:
            await conn.execute(
                f"BEGIN; SELECT recoup_begin({int(tenant_id)}, {bool(generic_plans)}, "
                f"{version}, {_session_arguments()})"
            )
        except asyncpg.PostgresError as exc:
            await _reset_connection(conn)
            if exc.sqlstate == SESSION_ENDED_SQLSTATE:
                raise SessionEnded("your session has ended; sign in again") from None
            if exc.sqlstate == TENANT_CHANGED_SQLSTATE:
                self._tenants.pop(tenant_id, None)
                return False
            raise
        return True

    @asynccontextmanager
    async def anonymous(self) -> AsyncIterator[Connection]:
        """A transaction under the application role with no tenant: sees no tenant rows."""
        async with self.app_pool.acquire() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def system(self) -> AsyncIterator[Connection]:
        """A transaction across tenants, for the relay, schedules, seeding and the CLI."""
        if self._system is None:
            raise RuntimeError("Database.open() was not awaited")
        async with self._system.acquire() as conn, conn.transaction():
            yield conn

    async def check_session(self, tenant_id: int) -> None:
        """Raise ``SessionEnded`` unless the request's session is still valid (for the few
        requests that would otherwise not open a transaction)."""
        async with self.tenant(tenant_id):
            pass

    async def ping(self) -> None:
        async with self.app_pool.acquire() as conn:
            await conn.fetchval("SELECT 1")


async def copy_rows(
    conn: Connection, table: str, columns: tuple[str, ...], records: list[tuple[Any, ...]]
) -> None:
    """Bulk-insert ``records`` with COPY, inside the caller's transaction.

    PostgreSQL refuses COPY FROM into a table under row-level security, so the rows
    go by COPY into a column-shaped temporary table first and then into ``table``
    with one INSERT ... SELECT, to which the policies apply as usual.
    """
    staging = f"_copy_{table}"
    column_list = ", ".join(columns)
    await conn.execute(
        f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS "
        f"SELECT {column_list} FROM {table} WITH NO DATA"
    )
    await conn.copy_records_to_table(staging, columns=columns, records=records)
    await conn.execute(
        f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM {staging}; "
        f"DROP TABLE {staging}"
    )


def _not_a_pool_retry(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Failed to restore the pool connection floor")


def quiet_pool_retries() -> None:
    """asyncpg logs a traceback each time its pool fails to reopen its minimum of
    connections (every 1, 2, 4... 60 s while the database is down): the outage's own
    lines say it once. Idempotent."""
    pool_log = logging.getLogger("asyncpg.pool")
    if _not_a_pool_retry not in pool_log.filters:
        pool_log.addFilter(_not_a_pool_retry)
