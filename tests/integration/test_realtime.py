"""The real-time path end to end: REST -> outbox -> relay -> Redis -> /ws, over real sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import httpx
import msgspec
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from channels import names
from channels.protocol import CLOSE_TOO_MANY
from domain.channel_access import ACCOUNT_CHANNEL_SCOPES
from domain.interactions.schemas import InteractionCreate
from domain.interactions.service import InteractionService
from tasks.relay import RELAY_LOCK
from tests.conftest import RECOUP, ROOT, _free_port, recoup_env, start_relay
from tests.factories import SeededTenant, TenantFactory
from tests.realtime import events, frame, open_socket, silence, stop, subscribe

pytestmark = pytest.mark.usefixtures("relay")


async def log_notes(tenant: SeededTenant, account_id: int, count: int, start: int = 0) -> None:
    """Produce events through the domain: one interaction (and its event) per transaction."""
    for n in range(start, start + count):
        async with tenant.db.tenant(tenant.id) as conn:
            await InteractionService(conn, tenant.admin.actor).log(
                account_id, InteractionCreate(channel="note", notes=f"note {n}")
            )


async def test_a_rest_change_reaches_entitled_sockets_only(
    client, live_server, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    account = tenant.accounts[0]  # owned by tenant.collector
    channel = names.account(account.id)
    admin = await open_socket(client, live_server, tenant.admin)
    owner = await open_socket(client, live_server, tenant.collector)
    stranger = await open_socket(client, live_server, tenant.other_collector)
    other = await tenants.new()
    foreign = await open_socket(client, live_server, other.admin)
    assert (await subscribe(admin, channel))["op"] == "subscribed"
    assert (await subscribe(owner, channel))["op"] == "subscribed"
    refused = await subscribe(stranger, channel)
    assert (refused["op"], refused["code"], refused["channel"]) == ("error", "forbidden", channel)
    # The same name in another tenant is another channel: subscribing works, nothing arrives.
    assert (await subscribe(foreign, channel))["op"] == "subscribed"

    response = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "Live Bank"},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 200
    for ws in (admin, owner):
        [event] = await events(ws, 1, of_type="account.updated")
        assert event["channel"] == channel
        assert event["data"]["creditor"] == "Live Bank"
        assert event["data"]["balance"] == response.json()["balance"]
    assert await silence(foreign, 0.5) == []  # the other tenant's channel of the same name
    assert await silence(stranger, 0.1) == []
    for ws in (admin, owner, stranger, foreign):
        await ws.close()


async def test_an_event_caused_through_one_web_process_reaches_a_socket_on_another(
    client, live_server, settings, tenant: SeededTenant
) -> None:
    port = _free_port()
    second = subprocess.Popen(
        [*RECOUP, "web"],
        cwd=ROOT,
        env=recoup_env(settings, PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    second_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            # As long as the live server may take to start (a loaded machine is slow).
            deadline = time.monotonic() + 60
            while second.poll() is None and time.monotonic() < deadline:
                try:
                    if (await http.get(f"{second_url}/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the second web process did not start")
            account = tenant.accounts[1]
            ws = await open_socket(client, second_url, tenant.admin)
            assert (await subscribe(ws, names.account(account.id)))["op"] == "subscribed"
            response = await http.patch(
                f"{live_server}/api/v1/accounts/{account.id}",
                json={"fees": "99.00"},
                headers=tenant.admin.headers,
            )
            assert response.status_code == 200
            [event] = await events(ws, 1, of_type="account.updated")
            assert event["data"]["fees"] == "99.00"
            await ws.close()
    finally:
        stop(second)


async def test_resume_replays_every_missed_event_once_in_order(
    client, live_server, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    channel = names.account(account.id)
    ws = await open_socket(client, live_server, tenant.admin)
    since = (await subscribe(ws, channel))["pos"]
    await ws.close()

    await log_notes(tenant, account.id, 500)
    # Production goes on while the client comes back.
    producing = asyncio.create_task(log_notes(tenant, account.id, 200, start=500))
    await asyncio.sleep(0.05)
    ws = await open_socket(client, live_server, tenant.admin)
    answer = await subscribe(ws, channel, since=since)
    assert answer["op"] == "subscribed"
    assert answer["recovered"] is True
    received = await events(ws, 700, within=30, of_type="interaction.logged")
    await producing
    assert await silence(ws, 0.5) == []
    assert [e["data"]["notes"] for e in received] == [f"note {n}" for n in range(700)]
    assert len({e["id"] for e in received}) == 700
    positions = [tuple(map(int, e["pos"].split("-"))) for e in received]
    assert positions == sorted(positions)
    assert len(set(positions)) == 700
    await ws.close()


async def test_resume_beyond_the_history_says_not_recovered(
    client, live_server, resources, tenant: SeededTenant
) -> None:
    from channels.redis_backend import history_key

    account = tenant.accounts[2]
    channel = names.account(account.id)
    ws = await open_socket(client, live_server, tenant.admin)
    await subscribe(ws, channel)
    await log_notes(tenant, account.id, 5)
    received = await events(ws, 5, of_type="interaction.logged")
    await ws.close()
    full = names.scoped(tenant.id, channel)
    await resources.redis.xtrim(history_key(full), maxlen=1, approximate=False)
    ws = await open_socket(client, live_server, tenant.admin)
    answer = await subscribe(ws, channel, since=received[0]["pos"])
    assert answer["recovered"] is False
    assert answer["pos"] == received[-1]["pos"]
    assert await silence(ws, 0.3) == []  # no partial replay: the client reloads over REST
    still_there = await subscribe(ws, channel, since=received[-1]["pos"])
    assert still_there["recovered"] is True
    await ws.close()


async def test_a_killed_relay_loses_nothing_and_its_standby_takes_over(
    client, live_server, settings, relay, db, tenant: SeededTenant
) -> None:
    relay.append(start_relay(settings))

    async def relays() -> list[bool]:
        async with db.system() as conn:
            rows = await conn.fetch(
                """SELECT l.granted FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND a.application_name = 'recoup-relay'
                  AND a.datname = current_database()
                  AND (l.classid::bigint << 32) + l.objid::bigint = $1""",
                RELAY_LOCK,
            )
        return sorted(r["granted"] for r in rows)

    # Exactly one relay active and the standby waiting: no other process of the suite runs
    # a relay on this database.
    for _ in range(100):
        if await relays() == [False, True]:
            break
        await asyncio.sleep(0.1)
    assert await relays() == [False, True]

    account = tenant.accounts[0]
    ws = await open_socket(client, live_server, tenant.admin)
    await subscribe(ws, names.account(account.id))
    producing = asyncio.create_task(log_notes(tenant, account.id, 600))
    await asyncio.sleep(0.5)
    active = relay[0]
    os.kill(active.pid, signal.SIGKILL)  # mid-stream, most likely mid-batch
    active.wait(timeout=10)
    await producing
    received = await events(ws, 600, within=30, of_type="interaction.logged")
    unique = {e["id"]: e for e in received}
    extra = await silence(ws, 1.0)
    for e in extra:
        unique.setdefault(e["id"], e)
    notes = sorted(int(e["data"]["notes"].split()[1]) for e in unique.values())
    assert notes == list(range(600))  # duplicates allowed, losses not
    assert await relays() == [True]  # the standby took over; never two at once
    await ws.close()


async def test_a_reader_that_stops_is_cut_off_and_others_keep_their_pace(
    client, live_server, resources, tenant: SeededTenant
) -> None:
    import socket

    from channels.backend import Publication
    from channels.protocol import encode_json, event_tail

    host, port = live_server.removeprefix("http://").split(":")
    stuck_sock = socket.socket()
    stuck_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck_sock.connect((host, int(port)))
    from tests.realtime import ticket

    stuck = await connect(
        f"ws://{host}:{port}/ws?ticket={await ticket(client, tenant.admin)}",
        sock=stuck_sock,
        max_queue=1,
    )
    steady = await open_socket(client, live_server, tenant.admin)
    for ws in (stuck, steady):
        assert (await subscribe(ws, names.WALLBOARD))["op"] == "subscribed"
    # The stuck client reads nothing more from here on.
    full = names.scoped(tenant.id, names.WALLBOARD)
    padding = "x" * 16_000
    latencies = []

    async def read_steady() -> None:
        while len(latencies) < 600:
            event = await frame(steady, 10)
            if event.get("type") == "test.tick":  # not, say, the admin coming online
                latencies.append(time.time() - event["data"]["sent"])

    reader = asyncio.create_task(read_steady())
    for n in range(600):
        data = encode_json({"n": n, "sent": time.time(), "padding": padding})
        await resources.channels.publish(
            [Publication(full, event_tail(f"e{n}", "test.tick", data))]
        )
        if n % 20 == 19:
            await asyncio.sleep(0.01)
    await reader
    latencies.sort()
    assert latencies[int(len(latencies) * 0.99)] < 0.5, latencies[-5:]
    received = 0
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            message = await asyncio.wait_for(stuck.recv(), 10)
            received += msgspec.json.decode(message).get("op") == "event"
    assert received < 600
    # The close frame waits behind what was queued (a peer that reads nothing for 5 s is
    # dropped without one); this one reads again, so it is told why.
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4008
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{live_server}/metrics")).text
    cut = [line for line in metrics.splitlines() if line.startswith("recoup_ws_cut_slow_total ")]
    assert float(cut[0].split()[1]) >= 1
    await steady.close()


async def test_bad_frames_get_error_frames_and_the_socket_stays_up(
    client, live_server, tenant: SeededTenant
) -> None:
    ws = await open_socket(client, live_server, tenant.admin)
    for sent, code in (
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"channel": "wallboard"}', "bad_frame"),
        ('{"op": "dance"}', "unknown_op"),
        ('{"op": "subscribe"}', "bad_frame"),
        ('{"op": "subscribe", "channel": "t999:account:1"}', "bad_channel"),
        ('{"op": "subscribe", "channel": "secrets"}', "bad_channel"),
        ('{"op": "subscribe", "channel": "pay"}', "forbidden"),
        ('{"op": "subscribe", "channel": "wallboard", "since": "yesterday"}', "bad_since"),
    ):
        await ws.send(sent)
        answer = await frame(ws)
        assert (answer["op"], answer["code"]) == ("error", code), (sent, answer)
        assert answer["message"]
    await ws.send('{"op": "ping"}')
    assert await frame(ws) == {"op": "pong"}
    assert (await subscribe(ws, "agent:me"))["channel"] == f"agent:{tenant.admin.id}"
    await ws.close()


async def test_a_huge_frame_closes_the_socket_with_1009(client, live_server, tenant) -> None:
    ws = await open_socket(client, live_server, tenant.admin, max_size=None)
    await ws.send('{"op": "subscribe", "channel": "' + "a" * 200_000 + '"}')
    with pytest.raises(ConnectionClosed) as closed:
        await frame(ws)
    assert closed.value.rcvd.code == 1009
    assert (await client.get("/health/live")).status_code == 200


async def test_ten_thousand_subscriptions_are_capped_and_the_server_is_unharmed(
    client, live_server, tenant: SeededTenant
) -> None:
    ws = await open_socket(client, live_server, tenant.admin)
    for n in range(10_000):
        await ws.send(f'{{"op": "subscribe", "channel": "account:{n + 1}"}}')
    answers = [await frame(ws, 30) for _ in range(10_000)]
    subscribed = [a for a in answers if a["op"] == "subscribed"]
    capped = [a for a in answers if a["op"] == "error"]
    assert len(subscribed) == 1000
    assert len(capped) == 9000
    assert {a["code"] for a in capped} == {"too_many_subscriptions"}
    await ws.close()
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{live_server}/health/ready")).status_code == 200
    fresh = await open_socket(client, live_server, tenant.admin)
    assert (await subscribe(fresh, names.WALLBOARD))["op"] == "subscribed"
    await fresh.close()


async def test_sockets_need_a_fresh_ticket_or_an_api_key(client, live_server, tenant) -> None:
    base = live_server.replace("http://", "ws://")
    for url in (f"{base}/ws", f"{base}/ws?ticket=made-up"):
        async with connect(url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 4001
    from tests.realtime import ticket

    once = await ticket(client, tenant.admin)
    async with connect(f"{base}/ws?ticket={once}") as ws:
        assert (await subscribe(ws, names.WALLBOARD))["op"] == "subscribed"
    async with connect(f"{base}/ws?ticket={once}") as ws:  # spent
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4001

    key = (
        await client.post(
            "/api/v1/api-keys",
            json={"name": "feed", "scopes": list(ACCOUNT_CHANNEL_SCOPES)},
            headers=tenant.admin.headers,
        )
    ).json()["key"]
    async with connect(f"{base}/ws", additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        assert (await subscribe(ws, names.account(tenant.accounts[0].id)))["op"] == "subscribed"
        refused = await subscribe(ws, names.WALLBOARD)
        assert refused["code"] == "forbidden"
    # A key that may read accounts but not their payments hears none of them on a socket.
    narrow = (
        await client.post(
            "/api/v1/api-keys",
            json={"name": "accounts only", "scopes": ["accounts:read"]},
            headers=tenant.admin.headers,
        )
    ).json()["key"]
    async with connect(
        f"{base}/ws", additional_headers={"Authorization": f"Bearer {narrow}"}
    ) as ws:
        refused = await subscribe(ws, names.account(tenant.accounts[0].id))
        assert refused["code"] == "forbidden"
        assert "lacks debtors:read, interactions:read, payments:read" in refused["message"]


async def test_heartbeats_drop_a_peer_that_stopped_answering(settings, tenant, client) -> None:
    """A peer that never answers the server's pings is dropped (short intervals here)."""
    port = _free_port()
    server = subprocess.Popen(
        [*RECOUP, "web"],
        cwd=ROOT,
        env=recoup_env(settings, PORT=str(port), WS_PING_INTERVAL="0.5", WS_PING_TIMEOUT="0.5"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(600):  # up to a minute: a loaded machine starts it slowly
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        from tests.realtime import ticket

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /ws?ticket={await ticket(client, tenant.admin)} HTTP/1.1\r\nHost: x\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
        started = time.monotonic()
        # Read (so the kernel buffer stays empty) but never answer a ping.
        while await asyncio.wait_for(reader.read(1024), 10):
            pass
        assert time.monotonic() - started < 5
        writer.close()
    finally:
        stop(server)


async def test_an_identity_holds_at_most_its_share_of_sockets(settings, tenant, client) -> None:
    """WS_SOCKETS_PER_IDENTITY sockets of one user open on a web process, not one more (4029);
    closing one makes room; another user's sockets do not count against them."""
    from tests.realtime import start_web

    port = _free_port()
    server = await start_web(recoup_env(settings, WS_SOCKETS_PER_IDENTITY="2"), port)
    base = f"http://127.0.0.1:{port}"
    try:
        first = await open_socket(client, base, tenant.admin)
        second = await open_socket(client, base, tenant.admin)
        for ws in (first, second):
            assert (await subscribe(ws, names.WALLBOARD))["op"] == "subscribed"
        third = await open_socket(client, base, tenant.admin)
        with pytest.raises(ConnectionClosed) as closed:
            await third.recv()
        assert closed.value.rcvd.code == CLOSE_TOO_MANY
        other = await open_socket(client, base, tenant.supervisor)
        assert (await subscribe(other, names.WALLBOARD))["op"] == "subscribed"
        await first.close()
        for _ in range(50):  # the server counts the close once it has read it
            again = await open_socket(client, base, tenant.admin)
            try:
                assert (await subscribe(again, names.WALLBOARD))["op"] == "subscribed"
                break
            except ConnectionClosed:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("a closed socket's place was not given back")
        assert (await subscribe(second, names.TENANT))["op"] == "subscribed"
        for ws in (second, other, again):
            await ws.close()
    finally:
        stop(server)


@pytest.mark.parametrize(
    ("request_line_or_header", "status"),
    [
        (f"GET /ws?ticket={'a' * 9000} HTTP/1.1\r\n", b"HTTP/1.1 414"),
        (f"GET /ws HTTP/1.1\r\nX-Big: {'b' * 9000}\r\n", b"HTTP/1.1 431"),
    ],
    ids=["request-line", "header"],
)
async def test_a_handshake_too_large_to_read_is_answered_and_closed(
    live_server: str, request_line_or_header: str, status: bytes
) -> None:
    """Not left open with nothing said (the connection held for good)."""
    host, port = live_server.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"{request_line_or_header}Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        ).encode()
    )
    answer = await asyncio.wait_for(reader.read(), 10)  # to the end: the server closes
    assert answer.startswith(status), answer[:100]
    writer.close()
