"""Open sockets follow their subscriber's access: whoever loses an identity is closed
(4003), whoever loses a channel gets an error frame for it and hears nothing more of it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from channels import names
from channels.protocol import CLOSE_SIGNED_OUT
from domain.channel_access import ACCOUNT_CHANNEL_SCOPES
from tests.factories import SeededTenant, SeededUser
from tests.realtime import frame, open_socket, silence, subscribe

pytestmark = pytest.mark.usefixtures("relay")


async def closed_with(ws: ClientConnection, within: float = 10.0) -> int:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), within)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def error_for(ws: ClientConnection, channel: str, within: float = 10.0) -> dict[str, Any]:
    """The next error frame (events in between are passed over)."""
    while True:
        received = await frame(ws, within)
        if received["op"] == "error":
            assert received["channel"] == channel, received
            return received


async def user_socket(
    client: httpx.AsyncClient, live_server: str, user: SeededUser, *channels: str
) -> ClientConnection:
    ws = await open_socket(client, live_server, user)
    for channel in channels:
        assert (await subscribe(ws, channel))["op"] == "subscribed", channel
    return ws


async def test_a_deactivated_users_socket_is_closed(
    client, live_server, tenant: SeededTenant
) -> None:
    ws = await user_socket(client, live_server, tenant.other_collector, "agent:me")
    other = await user_socket(client, live_server, tenant.collector, "agent:me")
    off = await client.patch(
        f"/api/v1/users/{tenant.other_collector.id}",
        json={"active": False},
        headers=tenant.admin.headers,
    )
    assert off.status_code == 200
    assert await closed_with(ws) == CLOSE_SIGNED_OUT
    # The others stay open.
    await other.send('{"op": "ping"}')
    while (await frame(other))["op"] != "pong":
        pass
    await other.close()


async def test_signing_out_everywhere_closes_the_sockets(
    client, live_server, tenant: SeededTenant
) -> None:
    ws = await user_socket(client, live_server, tenant.supervisor, names.WALLBOARD)
    out = await client.post(
        f"/api/v1/users/{tenant.supervisor.id}/sign-out-everywhere", headers=tenant.admin.headers
    )
    assert out.status_code == 204
    assert await closed_with(ws) == CLOSE_SIGNED_OUT


async def test_a_demoted_supervisor_loses_the_wallboard_but_keeps_the_socket(
    client, live_server, tenant: SeededTenant
) -> None:
    ws = await user_socket(client, live_server, tenant.supervisor, names.WALLBOARD, "agent:me")
    demoted = await client.patch(
        f"/api/v1/users/{tenant.supervisor.id}",
        json={"role": "collector"},
        headers=tenant.admin.headers,
    )
    assert demoted.status_code == 200
    refused = await error_for(ws, names.WALLBOARD)
    assert refused["code"] == "forbidden"
    # Still open, still theirs: their own channel works and the wallboard stays refused.
    again = await subscribe(ws, names.WALLBOARD)
    assert (again["op"], again["code"]) == ("error", "forbidden")
    await ws.close()


async def test_a_collector_who_loses_an_account_hears_no_more_of_it(
    client, live_server, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]  # owned by tenant.collector
    channel = names.account(account.id)
    ws = await user_socket(client, live_server, tenant.collector, channel)
    moved = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"owner_id": tenant.other_collector.id},
        headers=tenant.supervisor.headers,
    )
    assert moved.status_code == 200
    refused = await error_for(ws, channel)
    assert refused["code"] == "forbidden"
    paid = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "10.00", "currency": "USD", "method": "bank_transfer"},
        headers={**tenant.supervisor.headers, "Idempotency-Key": f"lost-{account.id}"},
    )
    assert paid.status_code == 201
    assert [f for f in await silence(ws, 1.5) if f["op"] == "event"] == []
    await ws.close()


async def test_a_collector_whose_task_is_given_away_loses_its_account(
    client, live_server, tenant: SeededTenant
) -> None:
    account = tenant.accounts[2]  # nobody's: seen only through work on it
    created = await client.post(
        "/api/v1/tasks",
        json={
            "account_id": account.id,
            "type": "review",
            "strategy": {"kind": "agent", "agent_id": tenant.collector.id},
        },
        headers=tenant.supervisor.headers,
    )
    assert created.status_code == 201
    task_id = created.json()["id"]
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE users SET status = 'available' WHERE id = ANY($1::bigint[])",
            [tenant.collector.id, tenant.other_collector.id],
        )
    given = await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": tenant.collector.id},
        headers=tenant.supervisor.headers,
    )
    assert given.status_code == 200, given.text
    channel = names.account(account.id)
    ws = await user_socket(client, live_server, tenant.collector, channel)
    away = await client.post(
        f"/api/v1/tasks/{task_id}/assign",
        json={"assignee_id": tenant.other_collector.id},
        headers=tenant.supervisor.headers,
    )
    assert away.status_code == 200, away.text
    assert (await error_for(ws, channel))["code"] == "forbidden"
    await ws.close()


async def test_a_revoked_api_keys_socket_is_closed(client, live_server, tenant) -> None:
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "feed", "scopes": list(ACCOUNT_CHANNEL_SCOPES)},
        headers=tenant.admin.headers,
    )
    key = created.json()
    base = live_server.replace("http://", "ws://")
    ws = await connect(f"{base}/ws", additional_headers={"Authorization": f"Bearer {key['key']}"})
    assert (await subscribe(ws, names.account(tenant.accounts[0].id)))["op"] == "subscribed"
    revoked = await client.delete(f"/api/v1/api-keys/{key['id']}", headers=tenant.admin.headers)
    assert revoked.status_code == 200, revoked.text
    assert await closed_with(ws) == CLOSE_SIGNED_OUT


async def test_a_revoked_payment_links_page_socket_is_closed(
    client, live_server, tenant: SeededTenant
) -> None:
    link = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payment-links", headers=tenant.admin.headers
    )
    assert link.status_code == 201, link.text
    token = link.json()["url"].split("/pay/", 1)[1]
    ticket = await client.post(f"/pay/{token}/ticket")
    assert ticket.status_code == 200
    base = live_server.replace("http://", "ws://")
    ws = await connect(f"{base}/ws?ticket={ticket.json()['ticket']}")
    assert (await subscribe(ws, names.PAY))["op"] == "subscribed"
    revoked = await client.delete(
        f"/api/v1/payment-links/{link.json()['id']}", headers=tenant.admin.headers
    )
    assert revoked.status_code == 200
    assert await closed_with(ws) == CLOSE_SIGNED_OUT


async def test_a_socket_is_checked_again_when_its_token_expires(
    client, live_server, tenants, tenant: SeededTenant
) -> None:
    """Even a change that sent no notice (here, straight in the database) ends a socket
    when its access token would have expired."""
    token = tenants.token_for(tenant.supervisor.id, tenant.id, "supervisor", ttl=2)
    short = SeededUser(
        id=tenant.supervisor.id,
        email=tenant.supervisor.email,
        role="supervisor",
        token=token,
        tenant_id=tenant.id,
    )
    ws = await user_socket(client, live_server, short, names.WALLBOARD)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE users SET session_version = session_version + 1 WHERE id = $1",
            tenant.supervisor.id,
        )
    assert await closed_with(ws, within=15) == CLOSE_SIGNED_OUT
