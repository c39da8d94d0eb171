"""Presence through a real socket: an offline collector who opens the app is available
again, everyone who watches hears it in the one agent.status shape, and the web process
logs nothing but what it should."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import ROOT, _free_port, recoup_env
from tests.factories import SeededTenant
from tests.realtime import events, open_socket, stop, subscribe

pytestmark = pytest.mark.usefixtures("relay")

AGENT_STATUS_FIELDS = {"id", "name", "status", "group_id", "since", "capacity"}


async def status_of(ws, user_id: int) -> dict:  # type: ignore[no-untyped-def]
    """The next agent.status event about ``user_id`` (the watcher's own is passed over)."""
    while True:
        [event] = await events(ws, 1, of_type="agent.status")
        if event["data"]["id"] == user_id:
            return event


async def test_an_offline_collector_opening_the_app_comes_online_cleanly(
    client, settings, tenant: SeededTenant
) -> None:
    from tests.realtime import start_web

    log_path = ROOT / ".recoup" / "test-presence-web.log"
    port = _free_port()
    env = recoup_env(settings, LOG_LEVEL="INFO", LOG_JSON="true")
    web = await start_web(env, port, log=log_path)
    base = f"http://127.0.0.1:{port}"
    try:
        collector = tenant.collector
        async with tenant.db.tenant(tenant.id) as conn:
            assert (
                await conn.fetchval("SELECT status FROM users WHERE id = $1", collector.id)
                == "offline"
            )
        watcher = await open_socket(client, base, tenant.supervisor)
        assert (await subscribe(watcher, "wallboard"))["op"] == "subscribed"

        ws = await open_socket(client, base, collector)
        event = await status_of(watcher, collector.id)
        assert set(event["data"]) == AGENT_STATUS_FIELDS
        assert (event["data"]["id"], event["data"]["status"]) == (collector.id, "available")
        async with tenant.db.tenant(tenant.id) as conn:
            row = await conn.fetchrow(
                "SELECT status, last_seen_at FROM users WHERE id = $1", collector.id
            )
            audit = await conn.fetchval(
                "SELECT count(*) FROM audit_log WHERE action = 'user.online' AND entity_id = $1",
                collector.id,
            )
        assert row["status"] == "available"
        assert row["last_seen_at"] is not None
        assert audit == 1

        # The collector changes their own status: the same shape, to the same audience.
        away = await client.patch(
            "/api/v1/users/me", json={"status": "away"}, headers=collector.headers
        )
        assert away.status_code == 200
        event = await status_of(watcher, collector.id)
        assert set(event["data"]) == AGENT_STATUS_FIELDS
        assert event["data"]["status"] == "away"
        await ws.close()
        await watcher.close()
        await asyncio.sleep(0.2)
    finally:
        stop(web)
    logged = log_path.read_text()
    assert "Traceback" not in logged, logged
    assert '"level":"error"' not in logged.replace(" ", ""), logged
    assert "presence not recorded" not in logged, logged
