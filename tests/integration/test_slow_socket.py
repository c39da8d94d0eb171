"""A socket whose client stops reading, under the real `recoup web`: it is cut once more than
``WS_SEND_LIMIT_BYTES`` wait for it, the cut is logged with the user and their channel
count, and what the client sees is what docs/realtime.md promises: 4008 after the queued
frames if it reads again within the grace, the connection dropped without a close frame
(1006) if it does not."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from channels import names
from channels.backend import Publication
from channels.protocol import encode_json, event_tail
from channels.sinks import SLOW_CLOSE_GRACE
from tests.conftest import ROOT
from tests.factories import SeededTenant
from tests.realtime import subscribe, ticket

LOG = ROOT / ".recoup" / "test-live-server.log"


async def stuck_socket(client, live_server: str, tenant: SeededTenant) -> ClientConnection:
    """A client that reads nothing once subscribed: a tiny receive buffer, one frame queued."""
    host, port = live_server.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    ws = await connect(
        f"ws://{host}:{port}/ws?ticket={await ticket(client, tenant.admin)}",
        sock=sock,
        max_queue=1,
    )
    assert (await subscribe(ws, names.WALLBOARD))["op"] == "subscribed"
    assert (await subscribe(ws, f"agent:{tenant.admin.id}"))["op"] == "subscribed"
    return ws


def cut_lines(actor: str) -> list[dict]:
    lines = []
    for line in LOG.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "socket cut: fell behind" and record.get("actor") == actor:
            lines.append(record)
    return lines


async def flood_until_cut(resources, tenant: SeededTenant) -> None:
    full = names.scoped(tenant.id, names.WALLBOARD)
    actor = f"user:{tenant.admin.id}"
    padding = "x" * 16_000
    for n in range(2000):
        data = encode_json({"n": n, "padding": padding})
        await resources.channels.publish([Publication(full, event_tail(f"e{n}", "test.x", data))])
        if n % 20 == 19:
            await asyncio.sleep(0.02)
            if cut_lines(actor):
                return
    raise AssertionError("the socket was not cut")


async def read_to_the_end(ws: ClientConnection) -> ConnectionClosed:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            msgspec.json.decode(await asyncio.wait_for(ws.recv(), 10))
    return closed.value


async def test_a_client_that_reads_again_within_the_grace_is_told_4008(
    client, live_server, resources, tenant: SeededTenant
) -> None:
    ws = await stuck_socket(client, live_server, tenant)
    await flood_until_cut(resources, tenant)
    [line] = cut_lines(f"user:{tenant.admin.id}")
    assert line["channels"] == 2
    assert line["tenant_id"] == tenant.id
    await asyncio.sleep(SLOW_CLOSE_GRACE / 2)  # a frozen tab that wakes up in time
    closed = await read_to_the_end(ws)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 4008
    assert closed.rcvd.reason == "fell behind; resume with since"


async def test_a_client_that_does_not_read_is_dropped_without_a_close_frame(
    client, live_server, resources, tenant: SeededTenant
) -> None:
    ws = await stuck_socket(client, live_server, tenant)
    await flood_until_cut(resources, tenant)
    cut_at = time.monotonic()
    await asyncio.sleep(SLOW_CLOSE_GRACE + 3)
    closed = await read_to_the_end(ws)
    # Its buffers were full: it could not have read a close frame, and none came.
    assert closed.rcvd is None
    assert ws.close_code == 1006
    assert time.monotonic() - cut_at < SLOW_CLOSE_GRACE + 30


async def test_a_client_that_sends_and_never_reads_is_cut_as_well(
    client, live_server, tenant: SeededTenant
) -> None:
    """The server's answers to its own frames (pongs, errors) count against the same bound:
    a client flooding requests it never reads the answers to is cut, not buffered."""
    ws = await stuck_socket(client, live_server, tenant)
    actor = f"user:{tenant.admin.id}"
    bad = json.dumps({"op": "subscribe", "channel": "Nope:" + "x" * 200})
    for n in range(200_000):
        try:
            await asyncio.wait_for(ws.send(bad if n % 2 else '{"op": "ping"}'), 5)
        except (ConnectionClosed, TimeoutError):
            break  # cut (or our own send buffer full behind a cut socket)
        if n % 5000 == 4999 and cut_lines(actor):
            break
    for _ in range(100):  # the log line, within 10 s
        if cut_lines(actor):
            break
        await asyncio.sleep(0.1)
    [line] = cut_lines(actor)
    assert line["channels"] == 2
    ws.transport.abort()
