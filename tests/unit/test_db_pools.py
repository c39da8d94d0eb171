"""How ``domain.db`` opens its pools and what it leaves alone: the arguments each pool is
created with, the defaults a ``Database`` starts from, and bulk copies."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from domain import db as dbmodule
from domain import validation
from domain.db import Database, forget_tenant, known_tenant
from tests.unit.test_db import Conn, database


class Pools:
    """Stands in for ``asyncpg.create_pool``: records each pool's arguments."""

    def __init__(self) -> None:
        self.created: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, dsn: str, **kwargs: Any) -> str:
        self.created.append((dsn, kwargs))
        return f"pool {len(self.created)}"


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> Pools:
    created = Pools()
    monkeypatch.setattr(asyncpg, "create_pool", created)
    # Opening asks a real pool for the zone names once per process, if no test has yet:
    # these pools are stand-ins, so as if one had.
    monkeypatch.setattr(validation, "database_zones_known", lambda: True)
    return created


def pool_arguments(min_size: int, max_size: int, name: str) -> dict[str, Any]:
    return {
        "min_size": min_size,
        "max_size": max_size,
        "init": dbmodule._init_connection,
        "reset": dbmodule._reset_connection,
        "server_settings": {"application_name": name},
    }


async def test_a_database_opens_an_application_pool_and_a_smaller_system_pool(
    pools: Pools,
) -> None:
    db = Database("postgresql://owner:pw@db/recoup")
    assert await db.open() is db
    assert pools.created == [
        ("postgresql://recoup_app@db/recoup", pool_arguments(2, 10, "recoup")),
        ("postgresql://recoup_system@db/recoup", pool_arguments(0, 4, "recoup-system")),
    ]
    assert db.app_pool == "pool 1"
    assert db._system == "pool 2"


async def test_the_pools_take_their_urls_sizes_and_name_from_the_settings(pools: Pools) -> None:
    settings = SimpleNamespace(
        database_url="postgresql://owner:pw@db/recoup",
        app_database_url="postgresql://app:secret@pooler/recoup",
        system_database_url=None,
        db_pool_max=17,
    )
    await Database.from_settings(settings, application_name="worker").open()
    await Database.from_settings(settings, application_name="relay", min_size=1, max_size=3).open()
    assert pools.created == [
        ("postgresql://app:secret@pooler/recoup", pool_arguments(0, 17, "worker")),
        ("postgresql://recoup_system@db/recoup", pool_arguments(0, 4, "worker-system")),
        ("postgresql://app:secret@pooler/recoup", pool_arguments(1, 3, "relay")),
        ("postgresql://recoup_system@db/recoup", pool_arguments(0, 4, "relay-system")),
    ]


async def test_a_database_sized_by_hand_opens_pools_of_those_sizes(pools: Pools) -> None:
    db = Database(
        "postgresql://owner@db/recoup",
        app_dsn="postgresql://a@db/recoup",
        system_dsn="postgresql://s@db/recoup",
        min_size=5,
        max_size=6,
        system_max_size=7,
        application_name="bench",
    )
    await db.open()
    assert pools.created == [
        ("postgresql://a@db/recoup", pool_arguments(5, 6, "bench")),
        ("postgresql://s@db/recoup", pool_arguments(0, 7, "bench-system")),
    ]


def test_settings_without_a_database_url_are_refused() -> None:
    settings = SimpleNamespace(
        database_url=None, app_database_url=None, system_database_url=None, db_pool_max=5
    )
    with pytest.raises(RuntimeError) as refused:
        Database.from_settings(settings, application_name="web")
    assert str(refused.value) == "DATABASE_URL is not resolved"


async def test_forgetting_a_tenant_this_process_never_held_is_harmless() -> None:
    conn = Conn()
    db, _ = database(conn)
    transaction = await db.begin(5)
    forget_tenant(transaction.conn, 5)
    assert known_tenant(transaction.conn, 5) is None
    assert db._tenants == {}
    await transaction.commit()


# Closing


class StuckPool:
    def __init__(self) -> None:
        self.terminated = False

    async def close(self) -> None:
        await asyncio.Event().wait()  # a connection never given back

    def terminate(self) -> None:
        self.terminated = True


async def test_closing_waits_for_the_grace_period_then_cuts_what_is_still_in_use() -> None:
    db = Database("postgresql://o@db/r")
    app, system = StuckPool(), StuckPool()
    db._app, db._system = app, system  # type: ignore[assignment]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await db.close(grace=0.2)
    waited = loop.time() - started
    assert (app.terminated, system.terminated) == (True, True)
    assert 0.4 <= waited < 2
    assert db._app is None
    assert db._system is None


async def test_closing_waits_ten_seconds_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def wait_for(closing: Any, seconds: float) -> None:
        closing.close()
        waits.append(seconds)
        raise TimeoutError

    monkeypatch.setattr(asyncio, "wait_for", wait_for)
    db = Database("postgresql://o@db/r")
    app, system = StuckPool(), StuckPool()
    db._app, db._system = app, system  # type: ignore[assignment]
    await db.close()
    assert waits == [10.0, 10.0]
    assert (app.terminated, system.terminated) == (True, True)


# Bulk copies


class CopyConn(Conn):
    def __init__(self) -> None:
        super().__init__()
        self.copied: list[tuple[str, dict[str, Any]]] = []

    async def copy_records_to_table(self, table: str, **kwargs: Any) -> None:
        self.copied.append((table, kwargs))


async def test_rows_are_copied_into_a_staging_table_then_inserted_under_the_policies() -> None:
    conn = CopyConn()
    records = [(1, "a"), (1, "b")]
    await dbmodule.copy_rows(conn, "debtors", ("tenant_id", "first_name"), records)  # type: ignore[arg-type]
    assert conn.sent == [
        "CREATE TEMP TABLE _copy_debtors ON COMMIT DROP AS "
        "SELECT tenant_id, first_name FROM debtors WITH NO DATA",
        "INSERT INTO debtors (tenant_id, first_name) "
        "SELECT tenant_id, first_name FROM _copy_debtors; DROP TABLE _copy_debtors",
    ]
    assert conn.copied == [
        ("_copy_debtors", {"columns": ("tenant_id", "first_name"), "records": records})
    ]
