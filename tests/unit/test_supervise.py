"""The supervisor of `recoup dev` over small stand-in programs: restarts, backoff, stop."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sys

import pytest

from server.supervise import Program, Supervisor, describe_exit

SLEEPER = "import time; print('up', flush=True); time.sleep(60)"
# Leaves a grandchild in its group and prints its pid.
PARENT = (
    "import subprocess, sys, time;"
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
    "print('child', p.pid, flush=True); time.sleep(60)"
)
STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
    "print('up', flush=True); time.sleep(60)"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive: look at its state.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def until(predicate, within: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not within the time")
        await asyncio.sleep(0.02)


def started(out: io.StringIO, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"started {name} \(pid (\d+)\)", out.getvalue())]


def test_exits_are_described_by_code_or_signal() -> None:
    assert describe_exit(0) == "exited with code 0"
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(-15) == "was killed by SIGTERM"


def test_the_backoff_doubles_to_its_ceiling_and_starts_over_once_stable() -> None:
    supervisor = Supervisor([], backoff=0.5, backoff_max=30, stable_after=10)
    delay, waits = 0.5, []
    for _ in range(9):
        wait, delay = supervisor.next_delay(delay, up_for=9.9)
        waits.append(wait)
    assert waits == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert supervisor.next_delay(30, up_for=10.0) == (0.5, 1.0)
    assert supervisor.next_delay(4, up_for=10.0) == (0.5, 1.0)
    # `make run`'s own: 0.5 s doubling to 30 s, starting over after 10 s up.
    defaults = Supervisor([])
    assert (defaults.backoff, defaults.backoff_max, defaults.stable_after) == (0.5, 30.0, 10.0)


async def test_a_killed_program_is_restarted_and_said_so() -> None:
    out = io.StringIO()
    supervisor = Supervisor(
        [
            Program("sleeper", [sys.executable, "-c", SLEEPER]),
            Program("other", [sys.executable, "-c", SLEEPER]),
        ],
        backoff=0.1,
        out=out,
    )
    running = asyncio.create_task(supervisor.run(handle_signals=False))
    first = (await until(lambda: started(out, "sleeper")))[0]
    other = (await until(lambda: started(out, "other")))[0]
    assert supervisor.pid("sleeper") == first
    os.kill(first, signal.SIGKILL)
    pids = await until(lambda: started(out, "sleeper")[1:] and started(out, "sleeper"))
    assert pids[1] != first
    assert await until(lambda: supervisor.pid("sleeper")) == pids[1]
    assert supervisor.pid("other") == other
    text = out.getvalue()
    assert re.search(
        rf"supervisor +\| sleeper \(pid {first}\) was killed by SIGKILL after [\d.]+ s; "
        r"restarting in 0.1 s",
        text,
    ), text
    assert started(out, "other") == [other]  # the others go on
    await until(lambda: re.search(r"\d sleeper +\| up", out.getvalue()))  # its output, prefixed

    supervisor.stop(signal.SIGTERM)
    await asyncio.wait_for(running, 15)
    assert not alive(pids[1])
    assert not alive(other)
    assert supervisor.pid("sleeper") is None  # none while it does not run
    assert "stopping every process on SIGTERM" in out.getvalue()
    assert out.getvalue().rstrip().endswith("every process stopped")


async def test_quick_failures_wait_longer_each_time() -> None:
    out = io.StringIO()
    supervisor = Supervisor(
        [Program("failing", [sys.executable, "-c", "raise SystemExit(3)"])],
        backoff=0.05,
        backoff_max=0.2,
        out=out,
    )
    running = asyncio.create_task(supervisor.run(handle_signals=False))
    await until(lambda: len(started(out, "failing")) >= 5, within=20)
    supervisor.stop()
    await asyncio.wait_for(running, 15)
    waits = re.findall(
        r"failing \(pid \d+\) exited with code 3 after [\d.]+ s; restarting in ([\d.]+) s",
        out.getvalue(),
    )
    assert waits[:4] == ["0.05", "0.1", "0.2", "0.2"]


async def test_a_dead_programs_children_go_with_it_and_nothing_outlives_a_stop() -> None:
    out = io.StringIO()
    supervisor = Supervisor(
        [
            Program("parent", [sys.executable, "-c", PARENT]),
            Program("stubborn", [sys.executable, "-c", STUBBORN]),
        ],
        backoff=0.1,
        stop_timeout=1.0,
        out=out,
    )
    running = asyncio.create_task(supervisor.run(handle_signals=False))

    def children() -> list[int]:
        return [int(pid) for pid in re.findall(r"parent +\| child (\d+)", out.getvalue())]

    first_child = (await until(children))[0]
    os.kill(started(out, "parent")[0], signal.SIGKILL)
    await until(lambda: len(children()) == 2)
    assert not alive(first_child)
    await until(lambda: re.search(r"\d stubborn +\| up", out.getvalue()))
    stubborn = started(out, "stubborn")[0]

    supervisor.stop()
    await asyncio.wait_for(running, 15)
    assert "stubborn still running after 1 s: SIGKILL" in out.getvalue()
    for pid in (children()[1], started(out, "parent")[1], stubborn):
        assert not alive(pid), pid


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_to_the_supervisor_stops_the_set(signum: int) -> None:
    out = io.StringIO()
    supervisor = Supervisor([Program("sleeper", [sys.executable, "-c", SLEEPER])], out=out)
    running = asyncio.create_task(supervisor.run())
    pid = (await until(lambda: started(out, "sleeper")))[0]
    os.kill(os.getpid(), signum)
    await asyncio.wait_for(running, 15)
    assert not alive(pid)
    assert "restarting" not in out.getvalue()


def test_make_run_runs_the_procfile_with_two_relays() -> None:
    from server.cli import dev_programs

    programs = dev_programs({"RELAY_METRICS_PORT": "9101", "X": "1"})
    assert [p.name for p in programs] == ["web", "worker", "scheduler", "relay.1", "relay.2"]
    assert all(p.argv[:3] == [sys.executable, "-m", "server.cli"] for p in programs)
    assert [p.argv[3] for p in programs] == ["web", "worker", "scheduler", "relay", "relay"]
    ports = [p.env["RELAY_METRICS_PORT"] for p in programs if p.env is not None]
    assert ports == ["9101", "9101", "9101", "9101", "9102"]
    assert all(p.env is not None and p.env["X"] == "1" for p in programs)
    assert "RELAY_METRICS_PORT" not in dev_programs({})[3].env  # type: ignore[operator]
    simulated = dev_programs({}, simulate=True)
    assert simulated[-1].name == "simulate"
    assert simulated[-1].argv[3:] == ["simulate", "--linger"]


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
async def test_a_killed_supervisor_leaves_no_program_behind() -> None:
    script = (
        "import asyncio, sys;"
        "from server.supervise import Program, Supervisor;"
        # (a program that writes nothing: one that writes dies of the broken pipe anyway)
        "asyncio.run(Supervisor([Program('sleeper', [sys.executable, '-c', "
        "'import time; time.sleep(60)'])]).run())"
    )
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE
    )
    assert supervisor.stdout is not None
    line = await asyncio.wait_for(supervisor.stdout.readline(), 20)
    pid = int(re.search(rb"started sleeper \(pid (\d+)\)", line)[1])  # type: ignore[index]
    assert alive(pid)
    supervisor.kill()
    await supervisor.wait()
    await until(lambda: not alive(pid), within=5)
