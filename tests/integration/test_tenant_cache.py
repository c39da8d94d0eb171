"""A process reads its tenants once and confirms them with every transaction's BEGIN: a
change made anywhere (another process, a rolled-back one) is never served stale."""

from __future__ import annotations

import pytest

from config.settings import Settings
from domain.accounts.service import AccountService
from domain.db import Database
from domain.tenancy import queries as tenancy_queries
from domain.tenancy.schemas import TenantUpdate
from domain.tenancy.service import TenantService
from tests.factories import SeededTenant


@pytest.fixture
async def elsewhere(settings: Settings):  # type: ignore[no-untyped-def]
    """A second process's pools, as another web process or a worker would hold them."""
    db = await Database.from_settings(settings, application_name="recoup-tests-2").open()
    try:
        yield db
    finally:
        await db.close()


async def time_zone(db: Database, tenant: SeededTenant) -> str:
    async with db.tenant(tenant.id) as conn:
        return (await AccountService(conn, tenant.admin.actor).tenant()).time_zone


async def test_a_held_tenant_is_not_read_again(monkeypatch, tenant: SeededTenant) -> None:
    reads = []
    current = tenancy_queries.current

    async def counted(conn):  # type: ignore[no-untyped-def]
        reads.append(1)
        return await current(conn)

    monkeypatch.setattr(tenancy_queries, "current", counted)
    for _ in range(3):
        await time_zone(tenant.db, tenant)
    assert len(reads) <= 1


async def test_a_change_made_elsewhere_is_seen_by_the_next_transaction(
    elsewhere: Database, tenant: SeededTenant
) -> None:
    assert await time_zone(tenant.db, tenant) == "UTC"  # held by this process now
    async with elsewhere.tenant(tenant.id) as conn:
        await TenantService(conn, tenant.admin.actor).update(TenantUpdate(time_zone="Asia/Tokyo"))
    assert await time_zone(tenant.db, tenant) == "Asia/Tokyo"


async def test_a_rolled_back_change_never_passes_for_the_tenant(
    elsewhere: Database, tenant: SeededTenant
) -> None:
    assert await time_zone(tenant.db, tenant) == "UTC"
    with pytest.raises(RuntimeError):
        async with tenant.db.tenant(tenant.id) as conn:
            await TenantService(conn, tenant.admin.actor).update(
                TenantUpdate(time_zone="Europe/Paris")
            )
            # Read (and so held) inside the transaction that is about to fail.
            assert await time_zone_in(conn, tenant) == "Europe/Paris"
            raise RuntimeError("the request failed")
    # Another process commits a different change; this one must see that, not Paris.
    async with elsewhere.tenant(tenant.id) as conn:
        await TenantService(conn, tenant.admin.actor).update(TenantUpdate(time_zone="Asia/Tokyo"))
    assert await time_zone(tenant.db, tenant) == "Asia/Tokyo"


async def time_zone_in(conn, tenant: SeededTenant) -> str:  # type: ignore[no-untyped-def]
    return (await AccountService(conn, tenant.admin.actor).tenant()).time_zone
