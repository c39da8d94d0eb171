"""A collector working their queue, call by call, as the queue screen lets them.

Every few seconds (the pace, jittered) the collector does one thing: takes the next task
(``POST /tasks/next``) or opens one given to them, logs a call with a believable outcome,
takes a promise or a payment or makes a payment link for the debtor, completes the task,
and now and then steps away and comes back. What the screen would show arrives on their
socket (``agent:{id}``, and ``account:{id}`` while an account is open).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from simulate.client import Screen, Session
from simulate.metrics import RACES, Metrics

if TYPE_CHECKING:
    from simulate.debtor import LinkBox

# How a call goes, by share: most calls reach nobody.
DISPOSITIONS: list[tuple[str, float]] = [
    ("no_answer", 0.34),
    ("left_message", 0.20),
    ("right_party_contact", 0.24),
    ("promise", 0.08),
    ("callback_requested", 0.06),
    ("wrong_number", 0.04),
    ("refusal", 0.03),
    ("dispute", 0.01),
]
# The task's outcome after a call that went this way (right-party contacts go on talking).
OUTCOME = {
    "no_answer": "no_answer",
    "left_message": "left_message",
    "callback_requested": "callback",
    "wrong_number": "wrong_number",
    "refusal": "refused",
    "dispute": "dispute",
}
# What a collector does after reaching the debtor.
AFTER_CONTACT: list[tuple[str, float]] = [
    ("promise", 0.40),
    ("pay", 0.25),
    ("link", 0.20),
    ("complete", 0.15),
]
HELD = frozenset({"assigned", "in_progress"})
# Where the day starts first (UTC+14): its date is today or later in every tenant's zone, so
# a promise "due today" by it is never in a tenant's past.
FIRST_TIME_ZONE = dt.timezone(dt.timedelta(hours=14))
NOTES = {
    "no_answer": "Rang out, no voicemail.",
    "left_message": "Left a message asking for a call back.",
    "right_party_contact": "Spoke to the debtor about the balance.",
    "promise": "Debtor agreed to pay.",
    "callback_requested": "Asked to be called back later.",
    "wrong_number": "Number does not belong to the debtor.",
    "refusal": "Debtor refused to pay.",
    "dispute": "Debtor disputes the debt.",
}


def pick(rng: random.Random, choices: list[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def portion(balance: str, low: float, high: float, rng: random.Random) -> Decimal | None:
    """A share of ``balance`` between ``low`` and ``high``, in the balance's own minor unit;
    None when the balance is too small to split."""
    whole = Decimal(balance)
    unit = Decimal(1).scaleb(whole.as_tuple().exponent)  # type: ignore[arg-type]
    amount = (whole * Decimal(str(round(rng.uniform(low, high), 4)))).quantize(unit, ROUND_DOWN)
    if whole < 10 or amount <= 0:
        return None
    return min(amount, whole)


class Collector:
    def __init__(
        self,
        session: Session,
        screen: Screen,
        metrics: Metrics,
        links: LinkBox,
        *,
        pace: float,
        stop: asyncio.Event,
        rng: random.Random,
    ) -> None:
        self.session = session
        self.screen = screen
        self.metrics = metrics
        self.links = links
        self.pace = pace
        self.stop = stop
        self.rng = rng
        self.me = int(session.user["id"])
        self.held: dict[int, dict[str, Any]] = {}
        self.task: dict[str, Any] | None = None
        self.account: dict[str, Any] | None = None
        self.stage = "call"
        self.outcome = "done"
        self.no_call: str | None = None
        self.away_until: float | None = None
        self.leaving: set[asyncio.Task[None]] = set()

    # Setup, as the queue screen loads
    async def start(self) -> None:
        await self.screen.open()
        # As the queue screen does, by the agent's own id: frames name the channel that way.
        await self.screen.subscribe(f"agent:{self.me}", self._on_agent)
        await self._set_status("available")
        await self._load_mine()

    async def _load_mine(self) -> None:
        status, mine = await self.session.call("GET", "/tasks/mine", params={"limit": 1000})
        if status == 200:
            self.held = {task["id"]: task for task in mine["items"]}

    def _on_agent(self, frame: dict[str, Any]) -> None:
        task = (frame.get("data") or {}).get("task")
        if not task or not frame.get("type", "").startswith("task."):
            return
        if task.get("assignee_id") == self.me and task.get("status") in HELD:
            self.held[task["id"]] = task
            return
        self.held.pop(task["id"], None)
        if self.task is not None and self.task["id"] == task["id"] and self.stage != "done":
            # Taken away (reassigned, timed out) while on screen: the panel closes.
            self.metrics.effect("tasks taken away")
            self._leave()

    def _on_account(self, frame: dict[str, Any]) -> None:
        data = frame.get("data") or {}
        changed = data.get("account") if "account" in data else None
        if frame.get("type") == "account.updated":
            changed = data
        if changed and self.account and changed.get("id") == self.account["id"]:
            self.account = {**self.account, **changed}

    # The loop
    async def run(self) -> None:
        while not self.stop.is_set():
            wait = self.pace * self.rng.uniform(0.5, 1.5)
            try:
                await asyncio.wait_for(self.stop.wait(), wait)
                return
            except TimeoutError:
                pass
            await self.step()

    async def step(self) -> None:
        if self.away_until is not None:
            if time.monotonic() >= self.away_until:
                self.away_until = None
                await self._set_status("available")
                self.metrics.action("back")
            return
        if self.task is None:
            await self._take()
        elif self.stage == "call":
            await self._call()
        elif self.stage == "promise":
            await self._promise()
        elif self.stage == "pay":
            await self._pay()
        elif self.stage == "link":
            await self._link()
        else:
            await self._complete()

    async def _set_status(self, status: str) -> None:
        started = time.perf_counter()
        code, _ = await self.session.call("PATCH", "/users/me", json={"status": status})
        if code == 200:
            self.metrics.expect((f"agent.status:{status}", self.me), started)

    async def _go_away(self, paces: tuple[int, int]) -> None:
        await self._set_status("away")
        self.away_until = time.monotonic() + self.pace * self.rng.randint(*paces)
        self.metrics.action("away")

    async def _take(self) -> None:
        waiting = [t for t in self.held.values() if t["status"] in HELD]
        if waiting:
            task = min(waiting, key=lambda t: (-t["priority"], t["created_at"]))
            if task["status"] == "assigned":
                status, started = await self.session.call(
                    "POST", f"/tasks/{task['id']}/start", name="POST /tasks/{id}/start"
                )
                if status != 200:
                    self.held.pop(task["id"], None)
                    return
                task = started
            await self._open(task)
            self.metrics.action("open")
            return
        started = time.perf_counter()
        status, found = await self.session.call("POST", "/tasks/next")
        self.metrics.action("next")
        if status == 409:
            # At capacity: the list on screen shows the work held, which comes first.
            await self._load_mine()
            return
        if status != 200:
            return
        if not found.get("task"):
            self.metrics.effect("empty pulls")
            if self.rng.random() < 0.3:
                await self._go_away((3, 8))
            return
        task = found["task"]
        if found.get("resumed"):
            # The task already under way, given back: no new assignment, so no event.
            self.held[task["id"]] = task
            await self._open(task)
            return
        self.metrics.expect(("task.assigned", task["id"]), started)
        self.metrics.effect("tasks pulled")
        self.held[task["id"]] = task
        await self._open(task)

    async def _open(self, task: dict[str, Any]) -> None:
        """What the working panel loads for a task: the account and all its panels."""
        self.task = task
        self.stage = "call"
        account_id = task["account_id"]
        base = f"/accounts/{account_id}"
        (status, account), _ = await asyncio.gather(
            self.session.call("GET", base, name="GET /accounts/{id}"),
            self.session.call(
                "GET",
                f"{base}/interactions",
                name="GET /accounts/{id}/interactions",
                params={"limit": 20},
            ),
        )
        if status != 200:
            self._leave()
            return
        self.account = account
        await self.screen.subscribe(f"account:{account_id}", self._on_account)
        _, (status, contact), *_ = await asyncio.gather(
            self.session.call("GET", f"/debtors/{account['debtor_id']}", name="GET /debtors/{id}"),
            self.session.call(
                "GET", f"{base}/contact-status", name="GET /accounts/{id}/contact-status"
            ),
            self.session.call(
                "GET", f"{base}/payments", name="GET /accounts/{id}/payments", params={"limit": 10}
            ),
            self.session.call("GET", f"{base}/promises", name="GET /accounts/{id}/promises"),
            self.session.call(
                "GET", "/tasks", name="GET /tasks", params={"account_id": account_id, "limit": 20}
            ),
        )
        # What the contact panel shows: whether a call is allowed now, and if not, why.
        calls = [c for c in (contact or {}).get("channels", []) if c["channel"] == "call"]
        self.no_call = None
        if status == 200 and calls and not calls[0]["allowed"]:
            reasons = calls[0]["reasons"]
            self.no_call = reasons[0]["message"] if reasons else "not allowed now"

    def _leave(self) -> None:
        if self.task is not None:
            channel = f"account:{self.task['account_id']}"
            leaving = self.screen.forget(channel)
            if leaving is not None:
                self.leaving.add(leaving)
                leaving.add_done_callback(self.leaving.discard)
        self.task = None
        self.account = None
        self.stage = "call"

    def _lost(self, status: int) -> bool:
        """The task went elsewhere between two clicks: the panel closes."""
        if status in RACES and self.task is not None:
            self.held.pop(self.task["id"], None)
            self._leave()
            return True
        return False

    async def _call(self) -> None:
        assert self.task is not None
        if self.no_call is not None:
            await self._note(f"No call: {self.no_call}.")
            return
        disposition = pick(self.rng, DISPOSITIONS)
        started = time.perf_counter()
        status, logged = await self.session.call(
            "POST",
            f"/accounts/{self.task['account_id']}/interactions",
            name="POST /accounts/{id}/interactions",
            json={"channel": "call", "notes": NOTES[disposition], "disposition": disposition},
        )
        self.metrics.action("call")
        if status != 201:
            self._lost(status)
            return
        self.metrics.expect(("interaction.logged", logged["id"]), started)
        self.metrics.effect("calls logged")
        if disposition == "promise":
            self.stage = "promise"
        elif disposition == "right_party_contact":
            self.stage = pick(self.rng, AFTER_CONTACT)
        else:
            self.stage = "complete"
            self.outcome = OUTCOME[disposition]

    async def _note(self, text: str) -> None:
        """The contact rules say no call now: a note on the account, and a call back later."""
        assert self.task is not None
        self.stage, self.outcome = "complete", "callback"
        started = time.perf_counter()
        status, logged = await self.session.call(
            "POST",
            f"/accounts/{self.task['account_id']}/interactions",
            name="POST /accounts/{id}/interactions",
            json={"channel": "note", "notes": text},
        )
        self.metrics.action("note")
        if status != 201:
            self._lost(status)
            return
        self.metrics.expect(("interaction.logged", logged["id"]), started)
        self.metrics.effect("notes logged")

    def _balance(self) -> str:
        return str((self.account or {}).get("balance") or "0")

    async def _promise(self) -> None:
        assert self.task is not None
        self.stage, self.outcome = "complete", "promise"
        amount = portion(self._balance(), 0.25, 1.0, self.rng)
        if amount is None:
            return
        # Due today or within a few days: unpaid, the scheduler finds it broken after that.
        days = self.rng.choice([0, 0, 1, 2, 3, 7])
        due = dt.datetime.now(FIRST_TIME_ZONE).date() + dt.timedelta(days=days)
        started = time.perf_counter()
        status, made = await self.session.call(
            "POST",
            f"/accounts/{self.task['account_id']}/promises",
            name="POST /accounts/{id}/promises",
            json={"amount": str(amount), "due_date": due.isoformat()},
        )
        self.metrics.action("promise")
        if status != 201:
            self._lost(status)
            return
        self.metrics.expect(("promise.made", made[0]["id"]), started)
        self.metrics.effect("promises made")
        # Half the time the debtor asks for a link to pay it with.
        if self.rng.random() < 0.5:
            await self._make_link()

    async def _pay(self) -> None:
        assert self.task is not None
        assert self.account is not None
        self.stage, self.outcome = "complete", "paid"
        whole = self.rng.random() < 0.15
        amount = portion(self._balance(), 1.0 if whole else 0.1, 1.0 if whole else 0.5, self.rng)
        if amount is None:
            return
        started = time.perf_counter()
        status, paid = await self.session.call(
            "POST",
            f"/accounts/{self.task['account_id']}/payments",
            name="POST /accounts/{id}/payments",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={
                "amount": str(amount),
                "currency": self.account["currency"],
                "method": self.rng.choice(["card", "card", "card", "bank_transfer"]),
            },
        )
        self.metrics.action("payment")
        if status != 201:
            self._lost(status)
            return
        self.metrics.expect(("payment.received", paid["id"]), started)
        self.metrics.effect("payments taken")

    async def _link(self) -> None:
        self.stage, self.outcome = "complete", "right_party_contact"
        await self._make_link()
        self.metrics.action("link")

    async def _make_link(self) -> None:
        assert self.task is not None
        status, link = await self.session.call(
            "POST",
            f"/accounts/{self.task['account_id']}/payment-links",
            name="POST /accounts/{id}/payment-links",
            json={},
        )
        if status == 201:
            self.links.put(link["url"])
            self.metrics.effect("payment links made")
        else:
            self._lost(status)

    async def _complete(self) -> None:
        assert self.task is not None
        task_id = self.task["id"]
        self.stage = "done"
        # Completing ends the collector's access to the account (unless they own it): its
        # channel is left first, so that the server's closing of it is no surprise.
        self._leave()
        started = time.perf_counter()
        status, _ = await self.session.call(
            "POST",
            f"/tasks/{task_id}/complete",
            name="POST /tasks/{id}/complete",
            json={"outcome": self.outcome, "notes": ""},
        )
        self.metrics.action("complete")
        self.held.pop(task_id, None)
        if status != 200:
            return
        self.metrics.expect(("task.completed", task_id), started)
        self.metrics.effect("tasks completed")
        if self.rng.random() < 0.06:
            await self._go_away((4, 12))

    async def finish(self) -> None:
        await self.screen.close()
