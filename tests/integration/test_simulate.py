"""`recoup simulate` against a real web process, relay and worker: the demo tenant comes to
life through the public API and sockets, and a SIGTERM stops it cleanly with a summary that
matches what reached the database."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time

import pytest

from config.settings import Settings
from domain.db import Database
from domain.demo import DEMO_USERS
from simulate.floor import AGENT_PASSWORD
from tests.conftest import RECOUP, ROOT, _free_port, recoup_env

SIM_AGENT = "sim-agent-0001@demo.test"


def _started(process: subprocess.Popen[str], within: float = 90.0) -> list[str]:
    """stderr lines up to the one saying the floor is running."""
    assert process.stderr is not None
    lines = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("simulating "):
            return lines
    process.kill()
    pytest.fail("the simulator did not start:\n" + "".join(lines))


async def test_a_simulated_floor_works_the_demo_tenant_and_stops_cleanly_on_sigterm(
    demo: None, db: Database, settings: Settings, live_server: str, relay, worker, client
) -> None:
    async with db.system() as conn:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE slug = 'demo'")
        since = await conn.fetchval("SELECT now()")
    process = subprocess.Popen(
        [
            *RECOUP,
            "simulate",
            "--url",
            live_server,
            "--agents",
            "6",  # the demo's five collectors and one made for the run
            "--pace",
            "0.3",
            "--debtors",
            "90",
            "--seed",
            "7",
            "--json",
        ],
        cwd=ROOT,
        env=recoup_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        head = _started(process)
        await asyncio.sleep(10)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    err = "".join(head) + err
    assert process.returncode == 0, err
    assert "Traceback" not in err, err
    summary = json.loads(out.strip().splitlines()[-1])
    effects = summary["effects"]
    assert summary["errors"] == 0, err
    assert summary["events_missed"] == 0, err
    assert summary["events_seen"] > 0
    assert effects["calls logged"] > 0
    assert effects["tasks completed"] > 0
    assert effects.get("debtor payments", 0) >= 1, (summary, err[-3000:])
    # What the screens heard: each collector's own channel carried their work (every
    # completion is announced there), the wallboards everything, each payment page its
    # payment's progress (pending, then received).
    heard = summary["events_heard"]
    assert heard["agent"] >= effects["tasks completed"]
    assert heard["wallboard"] >= summary["events_seen"]
    assert heard["pay"] >= 2 * effects["debtor payments"]

    collectors = [email for email, _, role, _ in DEMO_USERS if role == "collector"]
    async with db.tenant(tenant_id) as conn:
        made = await conn.fetchrow("SELECT id, role, active FROM users WHERE email = $1", SIM_AGENT)
        assert (made["role"], made["active"]) == ("collector", True)
        agents = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM users WHERE email = ANY($1::text[])", [*collectors, SIM_AGENT]
            )
        ]
        assert len(agents) == 6
        logged = await conn.fetch(
            """SELECT channel, count(*) AS n FROM interactions
            WHERE user_id = ANY($1::bigint[]) AND created_at >= $2 GROUP BY channel""",
            agents,
            since,
        )
        by_channel = {r["channel"]: r["n"] for r in logged}
        assert by_channel.get("call", 0) == effects["calls logged"]
        assert by_channel.get("note", 0) == effects.get("notes logged", 0)
        completed = await conn.fetchval(
            """SELECT count(*) FROM tasks WHERE assignee_id = ANY($1::bigint[])
            AND status = 'completed' AND completed_at >= $2""",
            agents,
            since,
        )
        assert completed == effects["tasks completed"]
        paid = await conn.fetchval(
            """SELECT count(*) FROM payments WHERE source = 'debtor' AND status = 'succeeded'
            AND created_at >= $1""",
            since,
        )
        assert paid == effects["debtor payments"]
        taken = await conn.fetchval(
            """SELECT count(*) FROM payments WHERE created_by = ANY($1::bigint[])
            AND created_at >= $2""",
            agents,
            since,
        )
        assert taken == effects.get("payments taken", 0)

    # The agent made for the run signs in with the simulator's published password.
    login = await client.post(
        "/api/v1/auth/login", json={"email": SIM_AGENT, "password": AGENT_PASSWORD}
    )
    assert login.status_code == 200


def _simulate(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RECOUP, "simulate", *args],
        cwd=ROOT,
        env=recoup_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--agents", "0"), "Invalid value for '--agents': 0 is not in the range 1<=x<=10000"),
        (("--agents", "10001"), "Invalid value for '--agents'"),
        (("--pace", "0"), "Invalid value for '--pace': 0.0 is not in the range 0.05<=x<=3600"),
        (("--pace", "soon"), "Invalid value for '--pace': 'soon' is not a valid float"),
        (("--debtors", "-1"), "Invalid value for '--debtors'"),
        (("--duration", "-5"), "Invalid value for '--duration'"),
    ],
)
def test_bad_arguments_get_a_readable_message_and_exit_code_2(
    settings: Settings, args: tuple[str, ...], says: str
) -> None:
    result = _simulate(settings, *args)
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_nobody_answering_is_said_plainly(settings: Settings) -> None:
    port = _free_port()
    result = _simulate(settings, "--url", f"http://127.0.0.1:{port}", "--wait", "1")
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: Recoup is not answering at http://127.0.0.1:{port}")
    assert "Traceback" not in result.stderr


def test_a_wrong_admin_password_is_said_plainly(
    demo: None, settings: Settings, live_server: str
) -> None:
    result = _simulate(settings, "--url", live_server, "--password", "not-the-password")
    assert result.returncode == 1
    assert "Error: the admin could not sign in: admin@demo.test: 401" in result.stderr
    assert "Traceback" not in result.stderr


def test_recoup_dev_refuses_to_simulate_without_the_demo_tenant(settings: Settings) -> None:
    result = subprocess.run(
        [*RECOUP, "dev", "--simulate", "--no-seed"],
        cwd=ROOT,
        env=recoup_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == "Error: --simulate drives the demo tenant: drop --no-seed\n"
