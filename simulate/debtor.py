"""Debtors paying through the links collectors made for them, as the payment page does:
the account's figures, the page's own live channel (``pay``), a checkout with the sandbox
provider, "Pay" on its page (now and then "Decline"), and the confirmation arriving on
the page's socket once the provider's webhook has settled the payment."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from simulate.client import Session
from simulate.collector import portion
from simulate.metrics import THROTTLED, Metrics

# How long a debtor watches the page for the confirmation before leaving it.
CONFIRMATION_WAIT = 30.0
DECLINE_SHARE = 0.1


class LinkBox:
    """Links sent to debtors and not yet used (the newest few hundred)."""

    def __init__(self, rng: random.Random, size: int = 500) -> None:
        self.rng = rng
        self.links: collections.deque[str] = collections.deque(maxlen=size)

    def put(self, url: str) -> None:
        self.links.append(url.rsplit("/pay/", 1)[-1])

    def take(self) -> str | None:
        if not self.links:
            return None
        index = self.rng.randrange(len(self.links))
        token = self.links[index]
        del self.links[index]
        return token

    def __len__(self) -> int:
        return len(self.links)


class Debtors:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        metrics: Metrics,
        links: LinkBox,
        staff: Session,
        *,
        per_minute: float,
        stop: asyncio.Event,
        rng: random.Random,
    ) -> None:
        self.http = http
        self.ws_url = base_url.replace("http://", "ws://").replace("https://", "wss://")
        self.metrics = metrics
        self.links = links
        self.staff = staff
        self.per_minute = per_minute
        self.stop = stop
        self.rng = rng
        self.visits: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        if self.per_minute <= 0:
            return
        while not self.stop.is_set():
            # Arrivals at random (a Poisson process at the chosen rate).
            try:
                await asyncio.wait_for(
                    self.stop.wait(), self.rng.expovariate(self.per_minute / 60.0)
                )
                return
            except TimeoutError:
                pass
            token = self.links.take() or await self._link_for_a_promise()
            if token is None:
                continue
            visit = asyncio.create_task(self.visit(token))
            self.visits.add(visit)
            visit.add_done_callback(self.visits.discard)

    async def _link_for_a_promise(self) -> str | None:
        """No link waiting: a supervisor sends one to a debtor who promised to pay."""
        status, page = await self.staff.call(
            "GET", "/accounts", params={"status": "promised", "limit": 50}
        )
        if status != 200 or not page["items"]:
            return None
        account = self.rng.choice(page["items"])
        status, link = await self.staff.call(
            "POST",
            f"/accounts/{account['id']}/payment-links",
            name="POST /accounts/{id}/payment-links",
            json={},
        )
        if status != 201:
            return None
        self.metrics.effect("payment links made")
        self.links.put(link["url"])
        return self.links.take()

    async def _page(
        self, method: str, path: str, name: str, **kwargs: Any
    ) -> tuple[int, httpx.Response | None]:
        started = time.perf_counter()
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.metrics.error(f"{name}: {type(exc).__name__} {exc}")
            return 0, None
        status = response.status_code
        self.metrics.call(name, time.perf_counter() - started, status)
        if status >= 400 and status not in (THROTTLED, 410):
            self.metrics.error(f"{name}: {status} {response.text[:200]}")
        return status, response

    async def visit(self, token: str) -> None:
        base = f"/pay/{token}"
        status, response = await self._page("GET", f"{base}/summary", "GET /pay/{token}/summary")
        if status == 410:
            self.metrics.effect("links gone")
            return
        if status != 200 or response is None:
            return
        account = response.json()
        if Decimal(account["balance"]) <= 0:
            self.metrics.effect("links already paid")
            return
        amount = self._amount(account)
        if amount is None:
            return
        status, response = await self._page("POST", f"{base}/ticket", "POST /pay/{token}/ticket")
        if status != 200 or response is None:
            return
        socket = await connect(f"{self.ws_url}{response.json()['url']}", compression=None)
        try:
            await socket.send(json.dumps({"op": "subscribe", "channel": "pay"}))
            await socket.recv()  # subscribed
            await self._pay(base, amount, socket)
        except (WebSocketException, OSError) as exc:
            self.metrics.error(f"payment page socket: {type(exc).__name__} {exc}")
        finally:
            with contextlib.suppress(WebSocketException, OSError, TimeoutError):
                await asyncio.wait_for(socket.close(), 2.0)
        self.metrics.action("debtor visit")

    def _amount(self, account: dict[str, Any]) -> Decimal | None:
        """What this debtor pays: what they promised, the lot, or a part, of what no
        checkout under way holds (one left unfinished by an earlier visit, say)."""
        owed = Decimal(account["balance"]) - Decimal(account.get("under_way") or 0)
        if owed <= 0:
            return None
        promised = [p for p in account.get("promises", []) if p.get("status") == "pending"]
        if promised and self.rng.random() < 0.7:
            return min(Decimal(promised[0]["amount"]), owed)
        if self.rng.random() < 0.4:
            return owed
        return portion(str(owed), 0.2, 0.6, self.rng)

    async def _pay(self, base: str, amount: Decimal, socket: Any) -> None:
        status, response = await self._page(
            "POST",
            f"{base}/checkout",
            "POST /pay/{token}/checkout",
            json={"amount": str(amount)},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if status == THROTTLED or response is None or status != 200:
            return
        checkout = response.json()
        page = checkout["checkout_url"]
        await self._page("GET", page, "GET /sandbox/checkout/{id}")
        outcome = "decline" if self.rng.random() < DECLINE_SHARE else "pay"
        started = time.perf_counter()
        status, _ = await self._page(
            "POST", page, "POST /sandbox/checkout/{id}", data={"outcome": outcome}
        )
        if status != 303:
            return
        if outcome == "pay":
            self.metrics.expect(("payment.received", checkout["payment_id"]), started)
        wanted = "payment.received" if outcome == "pay" else "payment.failed"
        deadline = time.monotonic() + CONFIRMATION_WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = json.loads(await asyncio.wait_for(socket.recv(), left))
            except TimeoutError:
                break
            if frame.get("op") == "event":
                self.metrics.heard["pay"] += 1
            payment = (frame.get("data") or {}).get("payment") or {}
            if frame.get("type") == wanted and payment.get("id") == checkout["payment_id"]:
                self.metrics.effect(
                    "debtor payments" if outcome == "pay" else "debtor cards declined"
                )
                return
        self.metrics.error(f"payment {checkout['payment_id']}: no {wanted} on the payment page")

    async def finish(self, grace: float) -> None:
        """Let visits under way end within ``grace`` seconds; abandon the rest."""
        if not self.visits:
            return
        _, pending = await asyncio.wait(set(self.visits), timeout=grace)
        for visit in pending:
            visit.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
