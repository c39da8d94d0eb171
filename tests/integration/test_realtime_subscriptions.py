"""Subscriptions on a real socket: subscribing again, leaving, and what each refusal says."""

from __future__ import annotations

import pytest

from channels import names
from tests.factories import SeededTenant
from tests.integration.worklist_helpers import group, queue
from tests.realtime import events, frame, open_socket, silence, subscribe, unsubscribe

pytestmark = pytest.mark.usefixtures("relay")


async def test_each_refusal_says_why_and_names_the_channel(
    client, live_server, tenant: SeededTenant
) -> None:
    collector = await open_socket(client, live_server, tenant.collector)
    other = tenant.accounts[1].id  # the other collector's
    for channel, code, message in (
        ("wallboard", "forbidden", "a collector may not subscribe to wallboard channels"),
        ("pay", "forbidden", "pay is the channel of a debtor's payment link"),
        (
            names.agent(tenant.other_collector.id),
            "forbidden",
            "only managers hear another user's agent channel",
        ),
        (names.account(other), "forbidden", f"you may not subscribe to account:{other}"),
        ("wallboard:1", "bad_channel", "'wallboard' takes no id"),
    ):
        assert await subscribe(collector, channel) == {
            "op": "error",
            "code": code,
            "message": message,
            "channel": channel,
        }
    await collector.send('{"op": "subscribe", "channel": "agent:me", "since": "later"}')
    assert await frame(collector) == {
        "op": "error",
        "code": "bad_since",
        "message": "'later' is not a position this server gave out",
        "channel": "agent:me",
    }
    await collector.send('{"op": "wave"}')
    assert await frame(collector) == {
        "op": "error",
        "code": "unknown_op",
        "message": "op must be subscribe, unsubscribe or ping",
    }
    await collector.close()


async def test_a_collector_subscribes_to_their_group_and_no_queue(
    client, live_server, tenant: SeededTenant
) -> None:
    team, other_team = await group(tenant, "Team"), await group(tenant, "Other")
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE users SET group_id = $2 WHERE id = $1", tenant.collector.id, team
        )
    teams = await queue(tenant, name="Team's", group_id=team)
    ws = await open_socket(client, live_server, tenant.collector)
    answer = await subscribe(ws, names.group(team))
    assert (answer["op"], answer["channel"], answer["recovered"]) == (
        "subscribed",
        names.group(team),
        True,
    )
    refused = names.group(other_team)
    assert await subscribe(ws, refused) == {
        "op": "error",
        "code": "forbidden",
        "message": f"you may not subscribe to {refused}",
        "channel": refused,
    }
    # Even the queue they pull from: its waiting tasks are on accounts not yet theirs.
    assert await subscribe(ws, names.queue(teams)) == {
        "op": "error",
        "code": "forbidden",
        "message": "a collector may not subscribe to queue channels",
        "channel": names.queue(teams),
    }
    await ws.close()


async def test_subscribing_again_delivers_each_event_once(
    client, live_server, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    channel = names.account(account.id)
    ws = await open_socket(client, live_server, tenant.admin)
    first = await subscribe(ws, channel)
    again = await subscribe(ws, channel, since=first["pos"])
    assert (again["op"], again["pos"], again["recovered"]) == ("subscribed", first["pos"], True)
    changed = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "Once Bank"},
        headers=tenant.admin.headers,
    )
    assert changed.status_code == 200
    [event] = await events(ws, 1, of_type="account.updated")
    assert event["data"]["creditor"] == "Once Bank"
    assert await silence(ws, 1.0) == []
    await ws.close()


async def test_leaving_a_channel_stops_its_events(
    client, live_server, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    watcher = await open_socket(client, live_server, tenant.admin)
    assert (await subscribe(watcher, names.account(account.id)))["op"] == "subscribed"
    ws = await open_socket(client, live_server, tenant.collector)
    assert (await subscribe(ws, "agent:me"))["channel"] == f"agent:{tenant.collector.id}"
    assert (await subscribe(ws, names.account(account.id)))["op"] == "subscribed"
    # The collector's own agent.status (coming online) may still be on its way.
    assert await unsubscribe(ws, "agent:me") == {
        "op": "unsubscribed",
        "channel": f"agent:{tenant.collector.id}",
    }
    assert await unsubscribe(ws, names.account(account.id)) == {
        "op": "unsubscribed",
        "channel": names.account(account.id),
    }
    # Never held: not an error.
    assert await unsubscribe(ws, "wallboard") == {"op": "unsubscribed", "channel": "wallboard"}
    changed = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "Gone Bank"},
        headers=tenant.admin.headers,
    )
    assert changed.status_code == 200
    [event] = await events(watcher, 1, of_type="account.updated")  # it was published
    assert event["data"]["creditor"] == "Gone Bank"
    assert await silence(ws, 1.0) == []
    await ws.close()
    await watcher.close()
