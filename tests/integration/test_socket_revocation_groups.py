"""What a socket may hear follows more than its identity: a ticket issued before a sign-out
opens nothing, and a collector moved out of a group loses its channel on the open socket."""

from __future__ import annotations

import httpx
import pytest
from websockets.asyncio.client import connect

from channels.protocol import CLOSE_SIGNED_OUT
from tests.factories import SeededTenant
from tests.integration.test_socket_revocation import closed_with, user_socket
from tests.realtime import subscribe

pytestmark = pytest.mark.usefixtures("relay")


async def test_a_ticket_issued_before_a_sign_out_opens_no_socket(
    client: httpx.AsyncClient, live_server: str, tenant: SeededTenant
) -> None:
    signed_in = await client.post(
        "/api/v1/auth/login",
        json={"email": tenant.other_collector.email, "password": tenant.other_collector.password},
    )
    tokens = signed_in.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    tickets = []
    for _ in range(2):
        answer = await client.post("/api/v1/realtime/ticket", headers=headers)
        assert answer.status_code == 200, answer.text
        tickets.append(answer.json()["ticket"])
    base = live_server.replace("http://", "ws://")
    # Before the sign-out, the ticket opens a socket as usual.
    before = await connect(f"{base}/ws?ticket={tickets[0]}")
    assert (await subscribe(before, "agent:me"))["op"] == "subscribed"
    out = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert out.status_code == 204
    assert await closed_with(before) == CLOSE_SIGNED_OUT
    after = await connect(f"{base}/ws?ticket={tickets[1]}")  # issued before, used after
    assert await closed_with(after) == CLOSE_SIGNED_OUT


async def test_a_ticket_of_a_link_revoked_since_opens_no_socket(
    client: httpx.AsyncClient, live_server: str, tenant: SeededTenant
) -> None:
    link = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payment-links", headers=tenant.admin.headers
    )
    token = link.json()["url"].split("/pay/", 1)[1]
    ticket = (await client.post(f"/pay/{token}/ticket")).json()["ticket"]
    revoked = await client.delete(
        f"/api/v1/payment-links/{link.json()['id']}", headers=tenant.admin.headers
    )
    assert revoked.status_code == 200
    ws = await connect(live_server.replace("http://", "ws://") + f"/ws?ticket={ticket}")
    assert await closed_with(ws) == CLOSE_SIGNED_OUT


async def groups_and_queue(client: httpx.AsyncClient, tenant: SeededTenant) -> tuple[int, int, int]:
    """Two new groups, the tenant's collector in the first, a queue of the first."""
    admin = tenant.admin.headers
    ids = []
    for name in ("North", "South"):
        made = await client.post("/api/v1/agent-groups", json={"name": name}, headers=admin)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    moved = await client.patch(
        f"/api/v1/users/{tenant.collector.id}", json={"group_id": ids[0]}, headers=admin
    )
    assert moved.status_code == 200, moved.text
    queue = await client.post(
        "/api/v1/queues", json={"name": "North early", "group_id": ids[0]}, headers=admin
    )
    assert queue.status_code == 201, queue.text
    return ids[0], ids[1], queue.json()["id"]


async def test_a_collector_moved_to_another_group_loses_its_group_channel(
    client: httpx.AsyncClient, live_server: str, tenant: SeededTenant
) -> None:
    north, south, _ = await groups_and_queue(client, tenant)
    channels = (f"group:{north}",)
    ws = await user_socket(client, live_server, tenant.collector, *channels, "agent:me")
    moved = await client.patch(
        f"/api/v1/users/{tenant.collector.id}",
        json={"group_id": south},
        headers=tenant.admin.headers,
    )
    assert moved.status_code == 200
    refused = {(await error_for_any(ws))["channel"] for _ in channels}
    assert refused == set(channels)
    assert (await subscribe(ws, f"group:{south}"))["op"] == "subscribed"  # the new one's
    await ws.close()


async def error_for_any(ws):  # type: ignore[no-untyped-def]
    from tests.realtime import frame

    while True:
        received = await frame(ws, 10)
        if received["op"] == "error":
            assert received["code"] == "forbidden", received
            return received
