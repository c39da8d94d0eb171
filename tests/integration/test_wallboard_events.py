"""The wallboard's events imply its figures: a reading (GET /api/v1/stats/realtime) with the
wallboard channel's later events applied by the wallboard's rules (frontend/js/screens/
wallboard/store.js, mirrored here) equals a fresh reading from the database."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from domain.clock import utcnow
from domain.promises.service import settle_promises
from domain.stats.queries import RIGHT_PARTY
from tests.factories import SeededTenant
from tests.realtime import frame, open_socket, subscribe

pytestmark = pytest.mark.usefixtures("relay")
API = "/api/v1"


def stamp(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


class Fold:
    """The wallboard's rules for applying an event to a reading."""

    def __init__(self, figures: dict[str, Any]) -> None:
        self.f = copy.deepcopy(figures)
        self.as_of = stamp(figures["as_of"])

    def fresh(self, text: str | None) -> bool:
        at = stamp(text)
        return at is not None and at > self.as_of  # type: ignore[operator]

    def agent(self, agent_id: int | None) -> dict[str, Any] | None:
        return next((a for a in self.f["agents"] if a["id"] == agent_id), None)

    @staticmethod
    def add(entries: list[dict[str, Any]], currency: str, amount: str) -> None:
        entry = next((e for e in entries if e["currency"] == currency), None)
        if entry is None:
            entry = {"currency": currency, "amount": "0", "count": 0}
            entries.append(entry)
        entry["amount"] = str(Decimal(entry["amount"]) + Decimal(amount))
        entry["count"] += 1

    def apply(self, event: dict[str, Any]) -> None:
        kind, data = event["type"], event["data"]
        f = self.f
        if kind == "payment.received":
            payment = data["payment"]
            if payment["status"] == "succeeded" and self.fresh(payment["received_at"]):
                self.add(f["collected"], payment["currency"], payment["amount"])
                if agent := self.agent(payment["created_by"]):
                    self.add(agent["collected_today"], payment["currency"], payment["amount"])
                f["feed"].insert(0, {"type": kind, "amount": payment["amount"]})
        elif kind == "promise.made" and self.fresh(data["promises"][0]["created_at"]):
            f["promises"]["made_today"] += len(data["promises"])
            due = [p for p in data["promises"] if p["due_date"] == f["today"]]
            f["promises"]["due_today"] += len(due)
            total = sum(Decimal(p["amount"]) for p in data["promises"])
            f["feed"].insert(0, {"type": kind, "amount": str(total)})
        elif kind == "promise.broken" and self.fresh(data["promise"]["resolved_at"]):
            f["promises"]["broken_today"] += 1
            f["feed"].insert(0, {"type": kind, "amount": data["promise"]["amount"]})
        elif kind == "interaction.logged" and (data["channel"], data["direction"]) == (
            "call",
            "outbound",
        ):
            if self.fresh(data["created_at"]):
                f["calls"]["attempted_today"] += 1
                f["calls"]["right_party_today"] += data["disposition"] in RIGHT_PARTY
        elif kind == "task.completed" and self.fresh(data["task"]["completed_at"]):
            f["tasks"]["completed_today"] += 1
            if agent := self.agent(data["task"]["assignee_id"]):
                agent["completed_today"] += 1
        elif kind == "agent.status":
            agent = self.agent(data["id"])
            if agent and stamp(data["since"]) > stamp(agent["since"]):  # type: ignore[operator]
                f["agents_by_status"][agent["status"]] -= 1
                f["agents_by_status"][data["status"]] += 1
                agent.update(status=data["status"], since=data["since"])


def implied(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures events speak of, money as Decimal (so "5.5" equals "5.50")."""

    def money(entries: list[dict[str, Any]]) -> dict[str, tuple[Decimal, int]]:
        return {e["currency"]: (Decimal(e["amount"]), e["count"]) for e in entries if e["count"]}

    return {
        "collected": money(figures["collected"]),
        "promises": {k: v for k, v in figures["promises"].items() if k != "kept_rate_7d"},
        "calls": (figures["calls"]["attempted_today"], figures["calls"]["right_party_today"]),
        "completed": figures["tasks"]["completed_today"],
        "agents_by_status": figures["agents_by_status"],
        "agents": {
            a["id"]: (a["status"], a["since"], a["completed_today"], money(a["collected_today"]))
            for a in figures["agents"]
        },
        "feed": [(e["type"], Decimal(e["amount"])) for e in figures["feed"]],
    }


async def drain(
    ws: ClientConnection, quiet: float = 1.0, until: str | None = None
) -> list[dict[str, Any]]:
    """Every event until one of type ``until`` came (within 30 s) and then the channel has
    been quiet for ``quiet`` seconds."""
    got: list[dict[str, Any]] = []
    while True:
        try:
            received = await frame(ws, quiet if until is None else 30)
        except TimeoutError:
            assert until is None, f"no {until} event came"
            return got
        if received["op"] == "event":
            got.append(received)
            if received["type"] == until:
                until = None


async def reading(client: httpx.AsyncClient, tenant: SeededTenant) -> dict[str, Any]:
    response = await client.get(f"{API}/stats/realtime", headers=tenant.supervisor.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_reading_and_the_events_after_it_equal_a_fresh_reading(
    client: httpx.AsyncClient, live_server: str, tenant: SeededTenant
) -> None:
    collector, account = tenant.collector, tenant.accounts[0]
    ws = await open_socket(client, live_server, tenant.supervisor)
    await subscribe(ws, "wallboard")
    before = await reading(client, tenant)
    await drain(ws, 0.3)

    async def post(
        path: str, body: dict[str, Any], who=collector, status=201, **headers: str
    ) -> dict:  # type: ignore[no-untyped-def]
        response = await client.post(f"{API}{path}", json=body, headers={**who.headers, **headers})
        assert response.status_code == status, (path, response.text)
        return response.json()

    # A day on the floor: money, calls, promises, finished work, an agent going away.
    for n, amount in enumerate(("10.00", "5.5", "0.01")):
        await post(
            f"/accounts/{account.id}/payments",
            {"amount": amount, "currency": "USD", "method": "cash"},
            **{"Idempotency-Key": f"fold-{tenant.id}-{n}"},
        )
    # Each on its own account: a conversation starts a quiet period on its account.
    called_accounts = [await tenant.account(owner_id=collector.id) for _ in range(4)]
    for called, (disposition, direction) in zip(
        called_accounts,
        (
            ("right_party_contact", "outbound"),
            ("no_answer", "outbound"),
            ("promise", "outbound"),
            ("right_party_contact", "inbound"),  # not a call made
        ),
        strict=True,
    ):
        await post(
            f"/accounts/{called.id}/interactions",
            {"channel": "call", "direction": direction, "disposition": disposition},
        )
    today = dt.date.fromisoformat(before["today"])
    await post(
        f"/accounts/{account.id}/promises",
        {
            "instalments": [
                {"amount": "200.00", "due_date": (today + dt.timedelta(days=3)).isoformat()},
                {"amount": "300.00", "due_date": (today + dt.timedelta(days=10)).isoformat()},
            ]
        },
    )
    here = await client.patch(
        f"{API}/users/me", json={"status": "available"}, headers=collector.headers
    )
    assert here.status_code == 200, here.text
    task = await post("/tasks", {"account_id": account.id}, who=tenant.supervisor)
    await post(
        f"/tasks/{task['id']}/assign",
        {"assignee_id": collector.id},
        who=tenant.supervisor,
        status=200,
    )
    await post(f"/tasks/{task['id']}/start", {}, status=200)
    await post(f"/tasks/{task['id']}/complete", {"outcome": "paid"}, status=200)
    away = await client.patch(f"{API}/users/me", json={"status": "away"}, headers=collector.headers)
    assert away.status_code == 200, away.text
    # A promise made yesterday and due the day before breaks now.
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            """INSERT INTO promises (tenant_id, account_id, amount, currency, due_date,
              created_by, created_at)
            VALUES ($1, $2, 40, 'USD', $3, $4, now() - interval '30 days')""",
            tenant.id,
            account.id,
            today - dt.timedelta(days=20),
            collector.id,
        )
    async with tenant.db.tenant(tenant.id) as conn:
        assert [p.status for p in await settle_promises(conn, tenant.id, utcnow())] == ["broken"]

    fold = Fold(before)
    for event in await drain(ws, until="promise.broken"):
        fold.apply(event)
    after = await reading(client, tenant)
    assert implied(fold.f) == implied(after)
    # And the day really moved: this is not two empty readings agreeing.
    assert implied(after)["collected"] == {"USD": (Decimal("15.51"), 3)}
    assert implied(after)["calls"] == (3, 2)
    assert after["promises"]["made_today"] == 2
    assert after["promises"]["broken_today"] == 1
    assert after["tasks"]["completed_today"] == 1
    await ws.close()
    await asyncio.sleep(0)
