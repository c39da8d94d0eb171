"""A request's tenant transaction: begun once on first use, committed only for a success,
before the answer is sent; everything else rolls it back and gives the connection back."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from litestar import Response

from domain.accounts.service import AccountService
from domain.db import Database, TenantTransaction
from domain.errors import Conflict
from server.transaction import (
    close_transaction_scope,
    end_transaction,
    request_transaction,
    transaction_scope,
)
from tests.factories import SeededTenant


async def creditor_of(db: Database, tenant: SeededTenant, account_id: int) -> str:
    async with db.tenant(tenant.id) as conn:
        return await conn.fetchval("SELECT creditor FROM accounts WHERE id = $1", account_id)


def all_connections_back(db: Database) -> bool:
    pool = db.app_pool
    return pool.get_idle_size() == pool.get_size()


async def change_creditor(tenant: SeededTenant, creditor: str) -> None:
    conn = await request_transaction().connection()
    await conn.execute(
        "UPDATE accounts SET creditor = $2 WHERE id = $1", tenant.accounts[0].id, creditor
    )


@pytest.mark.parametrize(("status", "kept"), [(200, True), (303, True), (399, True), (400, False)])
async def test_the_answer_decides_commit_or_rollback(
    db: Database, tenant: SeededTenant, status: int, kept: bool
) -> None:
    before = await creditor_of(db, tenant, tenant.accounts[0].id)
    extent = transaction_scope(db, tenant.admin.actor)
    try:
        await change_creditor(tenant, f"Answered {status}")
        await end_transaction(Response(None, status_code=status))
    finally:
        await close_transaction_scope(extent)
    after = await creditor_of(db, tenant, tenant.accounts[0].id)
    assert after == (f"Answered {status}" if kept else before)
    assert all_connections_back(db)


async def test_a_request_that_ends_without_an_answer_keeps_nothing(
    db: Database, tenant: SeededTenant
) -> None:
    before = await creditor_of(db, tenant, tenant.accounts[0].id)
    extent = transaction_scope(db, tenant.admin.actor)
    try:
        await change_creditor(tenant, "Never answered")
    finally:
        await close_transaction_scope(extent)
    assert await creditor_of(db, tenant, tenant.accounts[0].id) == before
    assert all_connections_back(db)


async def test_dependencies_asking_at_once_share_one_transaction(
    monkeypatch, db: Database, tenant: SeededTenant
) -> None:
    begins = []
    begin = Database.begin

    async def counted(self, tenant_id, **kwargs):  # type: ignore[no-untyped-def]
        begins.append(tenant_id)
        return await begin(self, tenant_id, **kwargs)

    monkeypatch.setattr(Database, "begin", counted)
    extent = transaction_scope(db, tenant.admin.actor)
    try:
        transaction = request_transaction()
        first, second = await asyncio.gather(transaction.connection(), transaction.connection())
        assert first is second
        await end_transaction(Response(None, status_code=200))
        with pytest.raises(RuntimeError, match="ended"):
            await transaction.connection()
    finally:
        await close_transaction_scope(extent)
    assert begins == [tenant.id]
    assert all_connections_back(db)


async def test_a_commit_refused_by_the_database_keeps_nothing(
    db: Database, tenant: SeededTenant
) -> None:
    """PostgreSQL checks a deferred constraint at COMMIT: the failure reaches the caller
    (who answers an error, not the success it was about to send) and nothing stays."""
    before = await creditor_of(db, tenant, tenant.accounts[0].id)
    extent = transaction_scope(db, tenant.admin.actor)
    try:
        conn = await request_transaction().connection()
        await conn.execute(
            "CREATE TEMP TABLE deferred_check (id int PRIMARY KEY, parent int "
            "REFERENCES deferred_check (id) DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP; "
            "INSERT INTO deferred_check VALUES (1, 2)"
        )
        await change_creditor(tenant, "Refused at commit")
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await end_transaction(Response(None, status_code=200))
    finally:
        await close_transaction_scope(extent)
    assert await creditor_of(db, tenant, tenant.accounts[0].id) == before
    assert all_connections_back(db)


async def test_an_error_after_a_write_leaves_nothing_behind(
    monkeypatch, client, db: Database, tenant: SeededTenant
) -> None:
    """Over HTTP: the new debtor written before the handler failed is not kept."""

    async def fail_late(self, row):  # type: ignore[no-untyped-def]
        raise Conflict("failed after the debtor was written")

    monkeypatch.setattr(AccountService, "_to_account", fail_late)
    response = await client.post(
        "/api/v1/accounts",
        json={
            "external_ref": "LATE-FAILURE-1",
            "currency": "USD",
            "principal": "10.00",
            "creditor": "Bank",
            "debtor": {"first_name": "Never", "last_name": "Kept"},
        },
        headers=tenant.admin.headers,
    )
    monkeypatch.undo()
    assert response.status_code == 409, response.text
    async with db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM debtors WHERE last_name = 'Kept'") == 0
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM accounts WHERE external_ref = 'LATE-FAILURE-1'"
            )
            == 0
        )
    assert all_connections_back(db)


async def test_a_commit_that_fails_is_answered_as_an_error(
    monkeypatch, client, db: Database, tenant: SeededTenant
) -> None:
    """Over HTTP: the commit runs before the answer goes out, so the client is never told
    a change was made that was not."""
    account = tenant.accounts[0]
    before = await creditor_of(db, tenant, account.id)

    async def refused(self: TenantTransaction) -> None:
        await self.rollback()
        raise asyncpg.SerializationError("could not serialize access")

    monkeypatch.setattr(TenantTransaction, "commit", refused)
    response = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "Not Committed"},
        headers=tenant.admin.headers,
    )
    monkeypatch.undo()
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await creditor_of(db, tenant, account.id) == before
    assert all_connections_back(db)


async def test_errors_and_reads_give_every_connection_back(
    client, db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    for path in (
        f"/api/v1/accounts/{account.id}",
        "/api/v1/accounts/999999999",
        "/api/v1/accounts?status=nonsense",
        f"/api/v1/accounts/{account.id}/interactions",
    ):
        await client.get(path, headers=tenant.collector.headers)
    await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "x", "version": 999_999},
        headers=tenant.admin.headers,
    )
    assert all_connections_back(db)


async def test_a_request_that_ends_while_its_transaction_begins_gives_it_back(
    monkeypatch, db: Database, tenant: SeededTenant
) -> None:
    started, proceed = asyncio.Event(), asyncio.Event()
    begin = Database.begin

    async def slow(self, tenant_id, **kwargs):  # type: ignore[no-untyped-def]
        started.set()
        await proceed.wait()
        return await begin(self, tenant_id, **kwargs)

    monkeypatch.setattr(Database, "begin", slow)
    extent = transaction_scope(db, tenant.admin.actor)
    beginning = asyncio.ensure_future(request_transaction().connection())
    await started.wait()
    await close_transaction_scope(extent)
    proceed.set()
    with pytest.raises(RuntimeError, match="ended"):
        await beginning
    assert all_connections_back(db)


async def test_closing_the_pools_cuts_a_connection_never_given_back(settings) -> None:
    """A connection left out (a bug, a stuck request) must not hold up a shutdown."""
    db = await Database.from_settings(settings, application_name="recoup-tests-close").open()
    leaked = await db.begin(1)
    await asyncio.wait_for(db.close(grace=0.2), 5)  # waiting for it would never end
    assert leaked is not None
    with pytest.raises(RuntimeError, match="not awaited"):
        db.app_pool  # noqa: B018 - closed: asking for the pool says so


async def test_a_rolled_back_transaction_is_given_back_with_no_error_reported(
    db: Database, tenant: SeededTenant
) -> None:
    """Every error answer rolls back: that is routine, not something to report as an error."""
    account = tenant.accounts[0]
    before = await creditor_of(db, tenant, account.id)
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context["message"]))
    try:
        with pytest.raises(LookupError):
            async with db.tenant(tenant.id) as conn:
                await conn.execute(
                    "UPDATE accounts SET creditor = 'block' WHERE id = $1", account.id
                )
                raise LookupError
        transaction = await db.begin(tenant.id)
        await transaction.conn.execute(
            "UPDATE accounts SET creditor = 'by hand' WHERE id = $1", account.id
        )
        await transaction.rollback()
    finally:
        loop.set_exception_handler(handler)
    assert reported == []
    assert await creditor_of(db, tenant, account.id) == before
    assert all_connections_back(db)
