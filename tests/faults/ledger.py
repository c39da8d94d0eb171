"""One fault scenario from load to ledger, and the table the suite prints.

A scenario makes a tenant of its own on the running stack, opens the sockets, starts the
load, injects its fault a third of the way in (with links sent by e-mail at that moment, so
that jobs are in flight), heals it, and then waits (polling, with a deadline) until the
ledger balances: every event committed to the outbox on the watched channels is published
and delivered to every socket (which resumed with ``since`` after whatever cut it), every
payment exists once with the exact balance, every webhook and e-mail arrived once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from channels import names
from tests.faults.clients import LeanWatcher, Load, Watcher
from tests.faults.stack import Stack, until

# The e-mail's Message-ID is its message's (domain/workflows/messaging.py), on every try.
MESSAGE_ID = re.compile(r"<recoup-(\d+)@")


@dataclass
class Scale:
    operations: int
    watchers: int
    emails: int
    settle_within: float


@dataclass
class Row:
    scenario: str
    committed: int = 0  # events on the watched channels
    delivered: int = 0  # (socket, channel, event) deliveries, duplicates removed
    lost: int = 0
    duplicates: int = 0  # frames removed as duplicates by event id
    payments: int = 0
    doubled_payments: int = 0
    effects: int = 0  # webhooks and e-mails expected
    missing_effects: int = 0
    doubled_effects: int = 0  # an effect made twice: two e-mails for one link sent
    resent: int = 0  # sent again under the same id (webhook-id, Message-ID): at least once
    not_recovered: int = 0  # resumes answered recovered:false
    failed_tries: int = 0  # requests that met the fault and were tried again
    recovery: float = 0.0  # fault in -> a change made after it reaches every socket
    notes: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)  # the scenario's own


ROWS: list[Row] = []

Fault = Callable[["Scenario"], Awaitable[None]]


@dataclass
class Scenario:
    stack: Stack
    watchers: list[Watcher]
    load: Load
    channels: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


async def _outbox(stack: Stack, tenant_id: int, after: int) -> list[Any]:
    assert stack.db is not None
    async with stack.db.tenant(tenant_id) as conn:
        return await conn.fetch(
            "SELECT id, event_id, type, channels, published_at, data FROM outbox "
            "WHERE id > $1 ORDER BY id",
            after,
        )


async def _probe(scenario: Scenario, tenant_id: int) -> None:
    """A note made after the fault, retried until taken; returns once every socket has it."""
    text = f"probe {uuid.uuid4()}"
    account = int(scenario.channels[0].split(":")[1])
    answer = await scenario.load.request(
        "POST",
        f"/api/v1/accounts/{account}/interactions",
        scenario.load.tenant.admin,
        json={"channel": "note", "notes": text},
    )
    assert answer.status_code == 201, answer.text

    async def event_id() -> str | None:
        try:
            rows = await _outbox(scenario.stack, tenant_id, 0)
        except Exception:  # the test's own pool coming back after PostgreSQL
            return None
        found = [r for r in rows if r["data"].get("notes") == text] if rows else []
        return str(found[0]["event_id"]) if found else None

    probe = await until(event_id, 60, "the probe's event in the outbox", every=0.1)
    pair = {(scenario.channels[0], probe)}
    await until(lambda: all(w.has(pair) for w in scenario.watchers), 60, "probe delivered")


async def run(stack: Stack, name: str, fault: Fault, scale: Scale) -> Row:
    row = Row(name)
    tenant = await stack.tenant(accounts=4 + scale.emails)
    load = Load(stack.urls, tenant)
    watched = tenant.accounts[:4]
    channels = [names.account(a.id) for a in watched]
    watchers = [Watcher(stack.urls, tenant.admin, channels, n) for n in range(scale.watchers)]
    # A scenario of many sockets: each of those on one channel.
    many = getattr(fault, "sockets", 0)
    watchers += [LeanWatcher(stack.urls, tenant.admin, channels[:1], n) for n in range(many)]
    scenario = Scenario(stack, watchers, load, channels)
    try:
        await load.add_webhook(stack.hooks.url)
        for watcher in watchers:
            watcher.start()
        await until(lambda: all(w.ready for w in watchers), 120, "every socket subscribed")
        baseline = max([r["id"] for r in await _outbox(stack, tenant.id, 0)], default=0)
        paying = [a.id for a in watched[:3]]
        before = {a: await load.balance(a) for a in paying}
        halfway = asyncio.Event()
        traffic = asyncio.create_task(load.run(scale.operations, paying, watched[3].id, halfway))
        await until(lambda: halfway.is_set() or traffic.done(), 120, "a third of the load")
        if traffic.done():
            await traffic  # its error, if any
        sends = asyncio.gather(*(load.email_link(a.id) for a in tenant.accounts[4:]))
        struck = time.monotonic()
        await fault(scenario)
        await _probe(scenario, tenant.id)
        row.recovery = time.monotonic() - struck
        await traffic
        await sends
        loaded = time.monotonic()
        await _settle(scenario, tenant.id, baseline, scale.settle_within)
        scenario.extra["settled in"] = round(time.monotonic() - loaded, 1)
        await _count(row, scenario, tenant.id, baseline, before)
    finally:
        for watcher in watchers:
            await watcher.stop()
        await load.close()
    row.figures = scenario.extra
    ROWS.append(row)
    return row


def _expected(rows: list[Any], channels: list[str]) -> set[tuple[str, str]]:
    return {(c, str(r["event_id"])) for r in rows for c in r["channels"] if c in channels}


def _hook_ids(rows: list[Any]) -> set[str]:
    """The webhooks due: a payment as staff see it (not the debtor page's own view of it,
    on pay:... channels only, which is not sent)."""
    return {
        "msg_" + r["event_id"].hex
        for r in rows
        if r["type"] == "payment.received" and any(not c.startswith("pay:") for c in r["channels"])
    }


def _emailed(stack: Stack, to: set[str]) -> Counter[int]:
    """The message id of each e-mail the sink received for the scenario's debtors."""
    sent: Counter[int] = Counter()
    for message in list(stack.smtp.messages):
        if message["To"] not in to:
            continue
        found = MESSAGE_ID.search(message["Message-ID"] or "")
        if found:
            sent[int(found[1])] += 1
    return sent


async def _settle(scenario: Scenario, tenant_id: int, baseline: int, within: float) -> None:
    """Wait until the ledger balances, or the deadline (then the counts tell what is
    missing)."""
    stack, load = scenario.stack, scenario.load

    async def balanced() -> bool:
        rows = await _outbox(stack, tenant_id, baseline)
        if any(r["published_at"] is None for r in rows):
            return False
        if not all(w.has(_expected(rows, w.channels)) for w in scenario.watchers):
            return False
        if not _hook_ids(rows) <= stack.hooks.ids.keys():
            return False
        return set(load.emails) <= set(_emailed(stack, load.addresses))

    # Past the deadline the counts below tell what is missing (and the test fails on them).
    with contextlib.suppress(AssertionError):
        await until(balanced, within, "the ledger balanced", every=0.25)


async def _count(
    row: Row,
    scenario: Scenario,
    tenant_id: int,
    baseline: int,
    before: dict[int, Decimal],
) -> None:
    stack, load = scenario.stack, scenario.load
    rows = await _outbox(stack, tenant_id, baseline)
    row.committed = len(
        {r["event_id"] for r in rows if set(r["channels"]) & set(scenario.channels)}
    )
    for watcher in scenario.watchers:
        expected = _expected(rows, watcher.channels)
        got = watcher.frames.keys() & expected
        row.delivered += len(got)
        row.lost += len(expected - got)
        row.duplicates += sum(watcher.frames.values()) - len(watcher.frames)
        row.not_recovered += watcher.not_recovered
    row.failed_tries = load.failures

    assert stack.db is not None
    async with stack.db.tenant(tenant_id) as conn:
        for account_id, amounts in load.paid.items():
            count, total = await conn.fetchrow(
                "SELECT count(*), coalesce(sum(amount), 0) FROM payments WHERE account_id = $1",
                account_id,
            )
            row.payments += count
            row.doubled_payments += max(0, count - len(amounts))
            if count < len(amounts) or total != sum(amounts):
                row.notes.append(f"account {account_id}: {count} payments, {total}")
            balance = await load.balance(account_id)
            if balance != before[account_id] - sum(amounts):
                row.notes.append(f"account {account_id}: balance {balance}")
        messages = await conn.fetchval("SELECT count(*) FROM messages")
        webhooks = await conn.fetch(
            "SELECT status, last_response, count(*) FROM webhook_deliveries GROUP BY 1, 2"
        )
    if len(set(load.payment_ids)) != len(load.payment_ids):
        row.notes.append("one payment id answered for two keys")
    if messages != len(load.emails):
        row.notes.append(f"{messages} messages for {len(load.emails)} links sent")

    hooks = _hook_ids(rows)
    emailed = _emailed(stack, load.addresses)
    row.effects = len(hooks) + len(load.emails)
    row.missing_effects = len(hooks - stack.hooks.ids.keys()) + len(set(load.emails) - set(emailed))
    row.resent = sum(stack.hooks.ids[h] - 1 for h in hooks) + sum(emailed.values()) - len(emailed)
    if row.missing_effects:
        row.notes.append(f"webhook deliveries: {[tuple(w) for w in webhooks]}")
    # A copy under the same Message-ID is a resend (above); a message no link made is not.
    row.doubled_effects = len(set(emailed) - set(load.emails))
    if row.doubled_effects:
        row.notes.append(f"e-mails of messages no link made: {emailed}, {load.emails}")


def table(rows: list[Row]) -> str:
    head = (
        "scenario",
        "committed",
        "delivered",
        "lost",
        "dups removed",
        "payments",
        "doubled",
        "effects",
        "missing",
        "effects doubled",
        "resent (same id)",
        "recovery s",
    )
    lines = [
        (
            r.scenario,
            r.committed,
            r.delivered,
            r.lost,
            r.duplicates,
            r.payments,
            r.doubled_payments,
            r.effects,
            r.missing_effects,
            r.doubled_effects,
            r.resent,
            f"{r.recovery:.1f}",
        )
        for r in rows
    ]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(v) for v in line) + " |" for line in lines]
    out += [
        f"{r.scenario}: " + ", ".join(f"{k} {v}" for k, v in r.figures.items())
        for r in rows
        if r.figures
    ]
    return "\n".join(out)
