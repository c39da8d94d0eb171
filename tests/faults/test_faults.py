"""The fault suite (docs/faults.md): an operator's worst day, one fault at a time, on a
private stack of real processes, with the ledger checked after each.

The short form (a few scenarios, little load) runs with the rest of the tests; the full form
(every scenario, more load, 2,000 sockets) runs under ``make test-faults``
(RECOUP_FAULTS=full).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from tests.faults.ledger import Row, Scale, Scenario, run
from tests.faults.stack import Stack, until

FULL = os.environ.get("RECOUP_FAULTS") == "full"
SCALE = (
    Scale(operations=240, watchers=8, emails=3, settle_within=120)
    if FULL
    else Scale(operations=48, watchers=4, emails=2, settle_within=60)
)
# Sockets dropped at once (RECOUP_FAULTS_SOCKETS=10000 for the storm: on a 2-core
# machine it takes about 25 s, bound by the web processes' CPU, bench/README.md).
DROPPED = int(os.environ.get("RECOUP_FAULTS_SOCKETS") or (2000 if FULL else 200))
RESUMED_WITHIN = 10.0
OUTAGE = 2.0  # how long a server stays down or a link stalled: the fault's length


async def outage() -> None:
    """The fault lasts this long (not a wait for anything)."""
    await asyncio.sleep(OUTAGE)


async def kill_web(s: Scenario) -> None:
    await s.stack.kill("web.1")


async def kill_worker(s: Scenario) -> None:
    # The links' e-mails and the payments' webhooks are jobs in flight right now.
    await s.stack.kill("worker.1")


async def kill_relays(s: Scenario) -> None:
    """Each relay in turn: one of them held the outbox, the other takes over."""
    await s.stack.kill("relay.1")
    await s.stack.kill("relay.2")


async def kill_scheduler(s: Scenario) -> None:
    await s.stack.kill("scheduler")


async def redis_killed_with_data(s: Scenario) -> None:
    await s.stack.kill_redis(keep_data=True)
    await outage()
    await s.stack.start_redis()


async def redis_killed_empty(s: Scenario) -> None:
    await s.stack.kill_redis(keep_data=False)
    await outage()
    await s.stack.start_redis()


async def postgres_fast(s: Scenario) -> None:
    await s.stack.stop_postgres("fast")
    await outage()
    await s.stack.start_postgres()


async def postgres_immediate(s: Scenario) -> None:
    await s.stack.stop_postgres("immediate")
    await outage()
    await s.stack.start_postgres()


async def partition_web_from_redis(s: Scenario) -> None:
    assert s.stack.proxy is not None
    s.stack.proxy.stall()
    await outage()
    s.stack.proxy.heal()


async def sockets_dropped(s: Scenario) -> None:
    """Every socket lost at once (the network under them), then all come back and resume."""
    resumed = {id(w): w.resumed for w in s.watchers}
    webs = [s.stack.pid(web) for web in ("web.1", "web.2")]
    cpu = [cpu_seconds(os.getpid()), *(cpu_seconds(pid) for pid in webs)]
    rss = sum(rss_mb(pid) for pid in webs)
    struck = time.monotonic()
    for watcher in s.watchers:
        watcher.drop()
    await until(
        lambda: all(w.resumed >= resumed[id(w)] + len(w.channels) for w in s.watchers),
        RESUMED_WITHIN * 3,
        "every socket resumed",
    )
    s.extra["resumed in"] = round(time.monotonic() - struck, 1)
    # Where the time went: the sockets' own process (this one) and the web processes.
    s.extra["clients cpu s"] = round(cpu_seconds(os.getpid()) - cpu[0], 1)
    s.extra["webs cpu s"] = round(sum(cpu_seconds(p) for p in webs) - sum(cpu[1:]), 1)
    # Memory back to its level: as many sockets as before, none of the old ones held.
    s.extra["webs rss mb before"] = round(rss)
    s.extra["webs rss mb after"] = round(sum(rss_mb(pid) for pid in webs))


def rss_mb(pid: int | None) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int | None) -> float:
    """User and system CPU time of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


sockets_dropped.sockets = DROPPED  # type: ignore[attr-defined]


SCENARIOS = {
    "kill -9 web": kill_web,
    "kill -9 worker": kill_worker,
    "kill -9 relay (each)": kill_relays,
    "kill -9 scheduler": kill_scheduler,
    "redis killed, data kept": redis_killed_with_data,
    "redis killed, restarted empty": redis_killed_empty,
    "postgres stop -m fast": postgres_fast,
    "postgres stop -m immediate": postgres_immediate,
    "web.2 partitioned from redis": partition_web_from_redis,
    f"{DROPPED} sockets dropped": sockets_dropped,
}
SHORT = (
    "kill -9 relay (each)",
    "redis killed, restarted empty",
    "postgres stop -m immediate",
    f"{DROPPED} sockets dropped",
)


def check(row: Row) -> None:
    assert row.committed > 0, row
    assert row.payments > 0, row
    assert row.effects > 0, row
    assert row.lost == 0, row
    assert row.doubled_payments == 0, row
    assert row.missing_effects == 0, row
    assert row.doubled_effects == 0, row
    assert row.not_recovered == 0, row
    assert row.notes == [], row


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", list(SCENARIOS) if FULL else list(SHORT))
async def test_nothing_is_lost_or_doubled(fault_stack: Stack, name: str) -> None:
    try:
        row = await run(fault_stack, name, SCENARIOS[name], SCALE)
    except BaseException:
        print(fault_stack.processes_log()[-6000:])
        raise
    check(row)
    if name.endswith("sockets dropped"):
        assert row.figures["resumed in"] <= RESUMED_WITHIN, row
        assert row.figures["webs rss mb after"] <= 1.1 * row.figures["webs rss mb before"], row
    # Every process is up again after the fault.
    for program in ("web.1", "web.2", "worker.1", "worker.2", "relay.1", "relay.2"):
        assert fault_stack.pid(program) is not None
