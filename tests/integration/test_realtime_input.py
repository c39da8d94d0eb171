"""Odd frames on a real socket: each gets an error frame, and the socket stays open."""

from __future__ import annotations

import pytest

from channels import names
from tests.factories import SeededTenant
from tests.realtime import frame, open_socket, subscribe

UINT64_MAX = 2**64 - 1


@pytest.mark.parametrize(
    "since",
    [
        "\u0661\u0662\u0663-0",  # Arabic-Indic digits
        "1-\u00b2",  # a superscript two
        f"{UINT64_MAX + 1}-0",
        f"0-{UINT64_MAX + 1}",
        "9" * 20 + "-" + "9" * 20,
        "9" * 5000 + "-0",
        "-1-0",
        " 1-0",
    ],
)
async def test_an_odd_since_is_a_bad_since_frame_and_the_socket_stays_open(
    client, live_server, tenant: SeededTenant, since: str
) -> None:
    ws = await open_socket(client, live_server, tenant.admin)
    refused = await subscribe(ws, names.WALLBOARD, since=since)
    assert (refused["op"], refused["code"]) == ("error", "bad_since"), refused
    assert refused["channel"] == names.WALLBOARD
    answer = await subscribe(ws, names.WALLBOARD, since=f"{UINT64_MAX}-{UINT64_MAX}")
    assert answer["op"] == "subscribed", answer
    await ws.close()


async def test_a_deeply_nested_frame_is_a_bad_frame_and_the_socket_stays_open(
    client, live_server, tenant: SeededTenant
) -> None:
    ws = await open_socket(client, live_server, tenant.admin)
    await ws.send('{"channel":' + "[" * 20_000 + "]" * 20_000 + ',"op":"subscribe"}')
    refused = await frame(ws)
    assert (refused["op"], refused["code"]) == ("error", "bad_frame"), refused
    await ws.send('{"op":"ping"}')
    assert (await frame(ws))["op"] == "pong"
    await ws.close()


async def test_a_text_frame_that_is_not_utf8_closes_1007_and_logs_no_traceback(
    client, live_server, tenant: SeededTenant
) -> None:
    from websockets.exceptions import ConnectionClosed

    from tests.conftest import ROOT

    log = ROOT / ".recoup" / "test-live-server.log"
    before = log.stat().st_size
    ws = await open_socket(client, live_server, tenant.admin)
    await ws.send(b'{"op": "ping", "x": "\xff"}', text=True)
    with pytest.raises(ConnectionClosed):
        while True:
            await frame(ws)
    assert ws.close_code == 1007
    assert ws.close_reason == "text frames are UTF-8"
    with log.open("rb") as read:
        read.seek(before)
        written = read.read().decode(errors="replace")
    assert "Traceback" not in written
    assert "Invalid UTF-8" not in written
    other = await open_socket(client, live_server, tenant.admin)  # the server goes on
    assert (await subscribe(other, names.WALLBOARD))["op"] == "subscribed"
    await other.close()
