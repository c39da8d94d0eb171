"""The relay: committed events reach Redis in order and are marked published; old ones go."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import msgspec
import pytest

from channels import names
from channels.protocol import NO_POSITION
from domain.accounts.schemas import AccountUpdate
from domain.accounts.service import AccountService
from domain.db import Database
from tasks.relay import Relay
from tests.factories import SeededTenant


@pytest.mark.usefixtures("relay")
async def test_relay_publishes_in_order_marks_published_and_prunes(
    db: Database, resources, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    for n in range(5):
        async with db.tenant(tenant.id) as conn:
            await AccountService(conn, tenant.admin.actor).update(
                account.id, AccountUpdate(fees=Decimal(f"{n}.00"))
            )

    async def pending() -> int:
        async with db.system() as conn:
            return await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE tenant_id = $1 AND published_at IS NULL",
                tenant.id,
            )

    for _ in range(200):
        if not await pending():
            break
        await asyncio.sleep(0.05)
    assert await pending() == 0
    history = await resources.channels.history(
        names.scoped(tenant.id, names.account(account.id)), NO_POSITION
    )
    events = [msgspec.json.decode(m.payload) for m in history.messages]
    assert [e["data"]["fees"] for e in events if e["type"] == "account.updated"] == [
        "0.00",
        "1.00",
        "2.00",
        "3.00",
        "4.00",
    ]

    async with db.system() as conn:
        await conn.execute(
            "UPDATE outbox SET published_at = now() - interval '8 days' WHERE tenant_id = $1",
            tenant.id,
        )
    await Relay(db, resources.channels, retention=dt.timedelta(days=7)).prune()
    async with db.system() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox WHERE tenant_id = $1", tenant.id) == 0
        )


async def test_outbox_lag_and_socket_figures_are_metrics(client, tenant: SeededTenant) -> None:
    body = (await client.get("/metrics")).text
    for metric in (
        "recoup_outbox_lag_seconds",
        "recoup_outbox_pending",
        "recoup_ws_sockets",
        "recoup_ws_deliveries_total",
    ):
        assert metric in body
