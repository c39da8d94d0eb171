"""What ``domain.db`` sends and when, on a connection that records it: the one statement
that begins a tenant transaction (tenant, plans, held version, the request's session), the
retry when the held tenant changed, and how each way of ending gives the connection back."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from decimal import Decimal
from types import SimpleNamespace

import asyncpg
import pytest

from domain import db as dbmodule
from domain.actor import Actor, Session
from domain.db import (
    Database,
    SessionEnded,
    end_session_check,
    forget_tenant,
    known_tenant,
    remember_tenant,
    require_session,
    role_url,
)

SIGN_IN = uuid.UUID("12345678-1234-5678-1234-567812345678")
NO_SESSION = "NULL, NULL, NULL, NULL"


def refused(sqlstate: str) -> asyncpg.PostgresError:
    exc = asyncpg.PostgresError("refused")
    exc.sqlstate = sqlstate  # type: ignore[misc]
    return exc


class Conn:
    """Records statements; ``refusals`` are raised by the next BEGINs, in order."""

    def __init__(self, *refusals: BaseException) -> None:
        self.sent: list[str] = []
        self.refusals = list(refusals)
        self.open = False
        self.terminated = False

    def is_in_transaction(self) -> bool:
        return self.open

    def terminate(self) -> None:
        self.terminated = True

    async def execute(self, sql: str) -> None:
        self.sent.append(sql)
        if sql.startswith("BEGIN"):
            self.open = True
            if self.refusals:
                raise self.refusals.pop(0)
        elif sql in ("COMMIT", "ROLLBACK"):
            self.open = False


class Pool:
    def __init__(self, conn: Conn, *, broken: bool = False) -> None:
        self.conn = conn
        self.released: list[Conn] = []
        self.broken = broken

    async def acquire(self) -> Conn:
        return self.conn

    async def release(self, conn: Conn) -> None:
        self.released.append(conn)
        if self.broken:
            raise OSError("connection lost")


def database(conn: Conn, **pool: bool) -> tuple[Database, Pool]:
    db = Database("postgresql://owner:pw@db:5432/recoup")
    db._app = Pool(conn, **pool)  # type: ignore[assignment]
    return db, db._app  # type: ignore[return-value]


def begun(tenant_id: int, generic: bool, version: object, session: str = NO_SESSION) -> str:
    return f"BEGIN; SELECT recoup_begin({tenant_id}, {generic}, {version}, {session})"


def user(role: str = "collector", *, id: int | None = 7, version: int = 3) -> Actor:
    session = Session(sign_in=SIGN_IN, version=version, expires_at=0)
    return Actor(tenant_id=1, type="user", id=id, role=role, session=session)  # type: ignore[arg-type]


# role_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://owner:pw@db:5432/recoup", "postgresql://recoup_app@db:5432/recoup"),
        ("postgresql://db/recoup", "postgresql://recoup_app@db/recoup"),
        (
            "postgresql://o@db/recoup?user=o&sslmode=require&&password=pw&application_name=x",
            "postgresql://recoup_app@db/recoup?sslmode=require&application_name=x",
        ),
        ("postgresql://a@b:pw@db/recoup", "postgresql://recoup_app@db/recoup"),
    ],
)
def test_role_url_logs_in_as_the_role_without_a_password(url: str, expected: str) -> None:
    assert role_url(url, "recoup_app") == expected


def test_the_role_pools_default_to_the_owners_url_and_settings_fill_the_rest() -> None:
    settings = SimpleNamespace(
        database_url="postgresql://owner:pw@db/recoup",
        app_database_url=None,
        system_database_url="postgresql://sys@elsewhere/recoup",
        db_pool_max=17,
    )
    db = Database.from_settings(settings, application_name="web")
    assert db.app_dsn == "postgresql://recoup_app@db/recoup"
    assert db.system_dsn == "postgresql://sys@elsewhere/recoup"
    assert db._sizes == (0, 17, 4)
    assert Database.from_settings(settings, application_name="web", max_size=3)._sizes[1] == 3
    assert Database("postgresql://o@db/r").system_dsn == "postgresql://recoup_system@db/r"
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        Database.from_settings(
            SimpleNamespace(**{**vars(settings), "database_url": None}), application_name="web"
        )


async def test_an_unopened_database_says_so() -> None:
    db = Database("postgresql://o@db/r")
    with pytest.raises(RuntimeError, match="open"):
        db.app_pool  # noqa: B018
    with pytest.raises(RuntimeError, match="open"):
        async with db.system():
            pass


# The session check


async def test_begin_names_the_tenant_the_plans_and_no_session_without_one() -> None:
    conn = Conn()
    db, _ = database(conn)
    transaction = await db.begin(5)
    await transaction.commit()
    transaction = await db.begin(6, generic_plans=True)
    await transaction.rollback()
    assert conn.sent == [begun(5, False, "NULL"), "COMMIT", begun(6, True, "NULL"), "ROLLBACK"]


async def test_begin_checks_the_required_session_until_the_check_ends() -> None:
    conn = Conn()
    db, _ = database(conn)
    token = require_session(user())
    try:
        await (await db.begin(5)).commit()
    finally:
        end_session_check(token)
    await (await db.begin(5)).commit()
    assert conn.sent[0] == begun(5, False, "NULL", f"7, 'collector', 3, '{SIGN_IN}'")
    assert conn.sent[2] == begun(5, False, "NULL")


def test_only_a_signed_in_session_is_checked() -> None:
    token = require_session(Actor(tenant_id=1, type="api_key", id=3))
    try:
        assert dbmodule._session_arguments() == NO_SESSION
    finally:
        end_session_check(token)
    token = require_session(user("admin", id=None, version=9))
    try:
        assert dbmodule._session_arguments() == f"0, 'admin', 9, '{SIGN_IN}'"
    finally:
        end_session_check(token)


@pytest.mark.parametrize("role", ["owner", None])
def test_a_session_with_a_role_not_ours_has_ended(role: str | None) -> None:
    token = require_session(user(role))  # type: ignore[arg-type]
    try:
        with pytest.raises(SessionEnded) as ended:
            dbmodule._session_arguments()
        assert str(ended.value) == "the session has ended; sign in again"
    finally:
        end_session_check(token)


def test_a_sign_in_that_is_not_a_uuid_has_ended() -> None:
    with pytest.raises(SessionEnded) as ended:
        dbmodule._session_sql(7, "admin", 1, "x'); DROP TABLE users; --")  # type: ignore[arg-type]
    assert str(ended.value) == "the session has ended; sign in again"


async def test_an_ended_session_rolls_back_and_gives_the_connection_back() -> None:
    conn = Conn(refused(dbmodule.SESSION_ENDED_SQLSTATE))
    db, pool = database(conn)
    with pytest.raises(SessionEnded) as ended:
        await db.begin(5)
    assert str(ended.value) == "your session has ended; sign in again"
    assert conn.sent[-1] == "ROLLBACK"
    assert pool.released == [conn]


async def test_any_other_refusal_is_raised_and_the_connection_given_back() -> None:
    conn = Conn(refused("57014"))
    db, pool = database(conn)
    with pytest.raises(asyncpg.PostgresError):
        await db.begin(5)
    assert conn.sent == [begun(5, False, "NULL"), "ROLLBACK"]
    assert pool.released == [conn]


# The tenant this process holds


async def test_a_held_tenant_is_confirmed_by_its_version_and_served() -> None:
    conn = Conn()
    db, _ = database(conn)
    db._tenants[5] = (3, "tenant 5")
    transaction = await db.begin(5)
    assert conn.sent == [begun(5, False, 3)]
    assert known_tenant(transaction.conn, 5) == "tenant 5"
    assert known_tenant(transaction.conn, 6) is None
    remember_tenant(transaction.conn, 6, 1, "tenant 6")  # not this transaction's tenant
    assert 6 not in db._tenants
    forget_tenant(transaction.conn, 6)
    assert known_tenant(transaction.conn, 5) == "tenant 5"
    forget_tenant(transaction.conn, 5)
    assert known_tenant(transaction.conn, 5) is None
    assert 5 not in db._tenants
    remember_tenant(transaction.conn, 5, 4, "tenant 5, changed")
    await transaction.commit()
    assert db._tenants[5] == (4, "tenant 5, changed")
    assert known_tenant(conn, 5) is None  # ended: nothing is confirmed any more


async def test_a_held_tenant_that_changed_is_dropped_and_begun_again_without_it() -> None:
    conn = Conn(refused(dbmodule.TENANT_CHANGED_SQLSTATE))
    db, pool = database(conn)
    db._tenants[5] = (3, "stale")
    transaction = await db.begin(5)
    assert conn.sent == [begun(5, False, 3), "ROLLBACK", begun(5, False, "NULL")]
    assert 5 not in db._tenants
    assert known_tenant(transaction.conn, 5) is None
    assert pool.released == []
    remember_tenant(transaction.conn, 5, 4, "fresh")
    await transaction.commit()
    assert db._tenants[5] == (4, "fresh")


async def test_a_changed_tenant_another_transaction_dropped_first_is_begun_again() -> None:
    """Two transactions find the held tenant changed at once; the one that finds it dropped
    already begins again all the same."""
    db: Database

    class Raced(Conn):
        async def execute(self, sql: str) -> None:
            if sql.startswith("BEGIN") and self.refusals:
                db._tenants.pop(5, None)  # the other transaction dropped it first
            await super().execute(sql)

    conn = Raced(refused(dbmodule.TENANT_CHANGED_SQLSTATE))
    db, pool = database(conn)
    db._tenants[5] = (3, "stale")
    transaction = await db.begin(5)
    assert conn.sent == [begun(5, False, 3), "ROLLBACK", begun(5, False, "NULL")]
    assert 5 not in db._tenants
    assert pool.released == []
    await transaction.commit()


# Ending a transaction


async def test_commit_ends_the_transaction_and_gives_the_connection_back_once() -> None:
    conn = Conn()
    db, pool = database(conn)
    transaction = await db.begin(5)
    await transaction.commit()
    await transaction.rollback()
    assert conn.sent[1:] == ["COMMIT"]
    assert pool.released == [conn]
    with pytest.raises(RuntimeError, match="ended"):
        transaction.conn  # noqa: B018


@pytest.mark.parametrize("end", ["commit", "rollback"])
async def test_once_ended_a_transaction_confirms_nothing_on_its_connection(end: str) -> None:
    """The connection goes on to other work (another tenant, no tenant): what this
    transaction confirmed must not be served there unconfirmed."""
    conn = Conn()
    db, _ = database(conn)
    db._tenants[5] = (3, "tenant 5")
    transaction = await db.begin(5)
    assert known_tenant(conn, 5) == "tenant 5"
    await getattr(transaction, end)()
    assert known_tenant(conn, 5) is None


async def test_a_failed_commit_still_gives_the_connection_back() -> None:
    conn = Conn()
    db, pool = database(conn)
    transaction = await db.begin(5)

    async def refuse(sql: str) -> None:
        raise refused("40001")

    conn.execute = refuse  # type: ignore[method-assign]
    with pytest.raises(asyncpg.PostgresError):
        await transaction.commit()
    # Nor can it roll back: it is closed, and the pool opens a new one.
    assert (pool.released, conn.terminated) == ([conn], True)


async def test_a_connection_is_rolled_back_before_it_goes_back_not_by_the_pool() -> None:
    """asyncpg's reset of a connection in a transaction logs an error: Recoup ends the
    transaction itself, and closes a connection whose task is cancelled meanwhile."""
    conn = Conn()
    db, pool = database(conn)
    transaction = await db.begin(5)
    await transaction.rollback()
    assert (conn.sent[-1], conn.open, conn.terminated, pool.released) == (
        "ROLLBACK",
        False,
        False,
        [conn],
    )
    transaction = await db.begin(5)

    async def cancelled(sql: str) -> None:
        raise asyncio.CancelledError

    conn.execute = cancelled  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await transaction.rollback()
    assert (conn.terminated, pool.released) == (True, [conn, conn])


async def test_rollback_sends_no_commit_and_a_broken_connection_is_dropped_quietly() -> None:
    conn = Conn()
    db, pool = database(conn, broken=True)
    transaction = await db.begin(5)
    await transaction.rollback()
    assert conn.sent == [begun(5, False, "NULL"), "ROLLBACK"]
    assert pool.released == [conn]


async def test_a_rollback_the_connection_cannot_send_still_gives_it_back() -> None:
    conn = Conn()
    db, pool = database(conn)
    transaction = await db.begin(5)

    async def lost(sql: str) -> None:
        raise OSError("connection lost")

    conn.execute = lost  # type: ignore[method-assign]
    await transaction.rollback()
    assert (pool.released, conn.terminated) == ([conn], True)


async def test_a_tenant_block_commits_when_it_ends_and_rolls_back_when_it_raises() -> None:
    conn = Conn()
    db, pool = database(conn)
    async with db.tenant(5, generic_plans=True) as got:
        assert got is conn
    assert conn.sent == [begun(5, True, "NULL"), "COMMIT"]
    with pytest.raises(LookupError):
        async with db.tenant(5):
            raise LookupError
    assert conn.sent[2:] == [begun(5, False, "NULL"), "ROLLBACK"]
    assert pool.released == [conn, conn]


async def test_returning_a_connection_undoes_only_an_open_transaction() -> None:
    conn = Conn()
    await dbmodule._reset_connection(conn)  # type: ignore[arg-type]
    conn.open = True
    await dbmodule._reset_connection(conn)  # type: ignore[arg-type]
    assert conn.sent == ["ROLLBACK"]


async def test_checking_the_session_opens_and_commits_an_empty_transaction() -> None:
    conn = Conn(refused(dbmodule.SESSION_ENDED_SQLSTATE))
    db, _ = database(conn)
    with pytest.raises(SessionEnded):
        await db.check_session(5)
    await db.check_session(5)
    assert conn.sent[-2:] == [begun(5, False, "NULL"), "COMMIT"]


class CodecConn(Conn):
    def __init__(self) -> None:
        super().__init__()
        self.codecs: list[tuple[str, dict[str, object]]] = []
        self.fetched: list[str] = []

    async def set_type_codec(self, name: str, **kwargs: object) -> None:
        self.codecs.append((name, kwargs))

    async def fetchval(self, sql: str) -> int:
        self.fetched.append(sql)
        return 1


async def test_a_single_connection_names_itself_and_reads_jsonb_as_ours(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    conn = CodecConn()
    calls = []

    async def connect(dsn: str, **kwargs: object) -> CodecConn:
        calls.append((dsn, kwargs))
        return conn

    monkeypatch.setattr(asyncpg, "connect", connect)
    assert await dbmodule.connect("postgresql://o@db/r") is conn
    assert await dbmodule.connect("postgresql://o@db/r", application_name="relay") is conn
    assert calls == [
        ("postgresql://o@db/r", {"server_settings": {"application_name": "recoup"}}),
        ("postgresql://o@db/r", {"server_settings": {"application_name": "relay"}}),
    ]
    name, codec = conn.codecs[0]
    assert (name, codec["schema"], codec["format"]) == ("jsonb", "pg_catalog", "binary")
    encoded = codec["encoder"]({"amount": Decimal("10.50")})  # type: ignore[operator]
    assert encoded == b'\x01{"amount":"10.50"}'
    assert codec["decoder"](encoded) == {"amount": "10.50"}  # type: ignore[operator]


async def test_ping_asks_the_application_pool_and_close_closes_both_pools() -> None:
    conn = CodecConn()
    closed = []

    class ContextPool:
        def __init__(self, name: str) -> None:
            self.name = name

        def acquire(self) -> contextlib.AbstractAsyncContextManager[CodecConn]:
            return contextlib.nullcontext(conn)  # type: ignore[return-value]

        async def close(self) -> None:
            closed.append(self.name)

    db = Database("postgresql://o@db/r")
    db._app, db._system = ContextPool("app"), ContextPool("system")  # type: ignore[assignment]
    await db.ping()
    assert conn.fetched == ["SELECT 1"]
    await db.close()
    assert closed == ["app", "system"]
    with pytest.raises(RuntimeError):
        db.app_pool  # noqa: B018
    await db.close()  # closing again has nothing left to close
    assert closed == ["app", "system"]
