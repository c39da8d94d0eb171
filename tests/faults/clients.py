"""The clients of the fault scenarios, through the public API and sockets only.

``Watcher`` is a screen's socket: it subscribes to its channels, keeps the last position of
each, and when the socket closes (a web process killed, the network dropped) comes back on
either web process and subscribes again with ``since``. ``Load`` drives payments (each
under its own Idempotency-Key, retried with it until answered), notes, status changes and
payment links sent by e-mail, retrying every request through the fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections import Counter
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from bench.wsclient import open_client
from tests.factories import SeededTenant, SeededUser

API = "/api/v1"
RETRY = 0.2  # between the tries of a request that met the fault
GIVE_UP = 90.0  # a request not answered by then: the stack did not recover


class Watcher:
    def __init__(self, urls: list[str], user: SeededUser, channels: list[str], n: int) -> None:
        self.urls = urls
        self.user = user
        self.channels = channels
        self.turn = n  # which web process to try first
        self.frames: Counter[tuple[str, str]] = Counter()  # (channel, event id) -> frames
        self.positions: dict[str, str] = {}
        self.subscribed: set[str] = set()
        self.resumed = 0  # subscriptions answered recovered:true after coming back
        self.not_recovered = 0  # recovered:false: history had lost what this one missed
        self.socket: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None
        self.stopping = False

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    @property
    def ready(self) -> bool:
        return self.subscribed == set(self.channels)

    def has(self, expected: set[tuple[str, str]]) -> bool:
        return expected <= self.frames.keys()

    async def _ticket(self, http: httpx.AsyncClient, url: str) -> str | None:
        try:
            answer = await http.post(f"{url}{API}/realtime/ticket", headers=self.user.headers)
        except httpx.TransportError:
            return None
        return answer.json()["ticket"] if answer.status_code == 200 else None

    async def _run(self) -> None:
        # A client of its own: one shared by thousands of sockets spends its time managing
        # its pool's waiters.
        async with httpx.AsyncClient(timeout=15) as http:
            await self._keep(http)

    async def _keep(self, http: httpx.AsyncClient) -> None:
        while not self.stopping:
            url = self.urls[self.turn % len(self.urls)]
            self.turn += 1
            ticket = await self._ticket(http, url)
            if ticket is None:
                await asyncio.sleep(RETRY)
                continue
            ws_url = url.replace("http://", "ws://") + f"/ws?ticket={ticket}"
            try:
                async with connect(ws_url, open_timeout=15, compression=None) as ws:
                    self.socket = ws
                    for channel in self.channels:
                        await self._subscribe(channel)
                    async for raw in ws:
                        await self._receive(json.loads(raw))
            except (WebSocketException, OSError, TimeoutError):
                pass
            finally:
                self.socket = None
                self.subscribed.clear()
            if not self.stopping:
                await asyncio.sleep(RETRY)

    async def _subscribe(self, channel: str) -> None:
        frame = {"op": "subscribe", "channel": channel}
        if channel in self.positions:
            frame["since"] = self.positions[channel]
        if self.socket is not None:
            await self.socket.send(json.dumps(frame))

    async def _receive(self, frame: dict[str, Any]) -> None:
        if self._note(frame):
            await self._again(frame.get("channel", ""))

    def _note(self, frame: dict[str, Any]) -> bool:
        """Book a frame; True when the server asks for the subscription again later."""
        op, channel = frame.get("op"), frame.get("channel", "")
        if op == "event":
            self.frames[(channel, frame["id"])] += 1
            self.positions[channel] = frame["pos"]
        elif op == "subscribed":
            if channel in self.positions:  # coming back (or told mid-stream to reload)
                if frame["recovered"]:
                    self.resumed += 1
                else:
                    self.not_recovered += 1
            self.positions[channel] = frame["pos"]
            self.subscribed.add(channel)
        return op == "error" and frame.get("code") == "unavailable"

    async def _again(self, channel: str) -> None:
        await asyncio.sleep(RETRY)
        await self._subscribe(channel)

    def drop(self) -> None:
        """Lose the connection at once, as a network that goes away does."""
        if self.socket is not None:
            self.socket.transport.abort()

    async def stop(self) -> None:
        self.stopping = True
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


class LeanWatcher(Watcher):
    """A Watcher on raw HTTP/1.1 for its tickets and the minimal WebSocket client of
    ``bench/wsclient.py``, for the scenario of thousands of sockets: with httpx and
    ``websockets`` in this one process, the reconnect storm measured this process (about
    4 ms of its CPU a socket) rather than the servers."""

    def __init__(self, urls: list[str], user: SeededUser, channels: list[str], n: int) -> None:
        super().__init__(urls, user, channels, n)
        self._retries: set[asyncio.Future[None]] = set()

    async def _run(self) -> None:
        while not self.stopping:
            url = self.urls[self.turn % len(self.urls)]
            self.turn += 1
            parts = urlsplit(url)
            host, port = parts.hostname or "127.0.0.1", parts.port or 80
            ticket = await self._raw_ticket(host, port)
            if ticket is None:
                await asyncio.sleep(RETRY)
                continue
            try:
                client = await asyncio.wait_for(
                    open_client(host, port, f"/ws?ticket={ticket}", self._on_text), 15
                )
            except (OSError, TimeoutError):
                await asyncio.sleep(RETRY)
                continue
            self.socket = client  # type: ignore[assignment]
            for channel in self.channels:
                await self._subscribe(channel)
            await client.closed
            self.socket = None
            self.subscribed.clear()
            if not self.stopping:
                await asyncio.sleep(RETRY)

    async def _raw_ticket(self, host: str, port: int) -> str | None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            return None
        try:
            writer.write(
                f"POST {API}/realtime/ticket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Authorization: {self.user.headers['Authorization']}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            response = await asyncio.wait_for(reader.read(), 15)
        except (OSError, TimeoutError):
            return None
        finally:
            writer.transport.abort()
        head, _, body = response.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return None
        return json.loads(body)["ticket"]

    async def _subscribe(self, channel: str) -> None:
        frame = {"op": "subscribe", "channel": channel}
        if channel in self.positions:
            frame["since"] = self.positions[channel]
        socket: Any = self.socket
        if socket is not None:
            socket.send_text(json.dumps(frame))

    def _on_text(self, payload: bytes) -> None:
        frame = json.loads(payload)
        if self._note(frame):
            task = asyncio.ensure_future(self._again(frame.get("channel", "")))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    def drop(self) -> None:
        socket: Any = self.socket
        if socket is not None and socket.transport is not None:
            socket.transport.abort()

    async def stop(self) -> None:
        self.drop()
        await super().stop()


class Load:
    """Requests against the tenant's accounts, spread over both web processes, each retried
    through the fault until the API answers it."""

    def __init__(self, urls: list[str], tenant: SeededTenant) -> None:
        self.urls = urls
        self.tenant = tenant
        self.http = httpx.AsyncClient(timeout=15)
        self.turn = itertools.count()
        self.paid: dict[int, list[Decimal]] = {}  # account id -> each payment's amount
        self.payment_ids: list[int] = []
        self.emails: list[int] = []  # the message id of each link sent by e-mail
        self.addresses: set[str] = set()  # and where it went
        self.failures = 0  # tries that met the fault
        self.done = 0
        self._disputed: set[int] = set()

    async def close(self) -> None:
        await self.http.aclose()

    async def request(self, method: str, path: str, user: SeededUser, **options: Any):  # type: ignore[no-untyped-def]
        """Try until answered with anything but a transport error or a 5xx (a 503 during an
        outage, a 500 that must not happen is counted as a failure too)."""
        headers = {**user.headers, **options.pop("headers", {})}
        deadline = time.monotonic() + GIVE_UP
        while True:
            url = self.urls[next(self.turn) % len(self.urls)]
            try:
                answer = await self.http.request(method, url + path, headers=headers, **options)
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code < 500:
                return answer
            self.failures += 1
            if time.monotonic() > deadline:
                last = answer.text[:500] if answer is not None else "no connection"
                raise AssertionError(f"{method} {path}: not answered in {GIVE_UP:g} s: {last}")
            await asyncio.sleep(RETRY)

    async def pay(self, account_id: int, n: int) -> None:
        amount = Decimal("0.01") * (n % 97 + 1)
        key = {"Idempotency-Key": f"fault-{uuid.uuid4()}"}
        body = {"amount": str(amount), "currency": "USD", "method": "card"}
        while True:
            answer = await self.request(
                "POST",
                f"{API}/accounts/{account_id}/payments",
                self.tenant.admin,
                json=body,
                headers=key,
            )
            if answer.status_code != 409:  # 409: the same key still in flight
                break
            await asyncio.sleep(RETRY)
        assert answer.status_code == 201, answer.text
        self.paid.setdefault(account_id, []).append(amount)
        self.payment_ids.append(answer.json()["id"])

    async def note(self, account_id: int, n: int) -> None:
        answer = await self.request(
            "POST",
            f"{API}/accounts/{account_id}/interactions",
            self.tenant.admin,
            json={"channel": "note", "notes": f"fault note {n}"},
        )
        assert answer.status_code == 201, answer.text

    async def flip_status(self, account_id: int) -> None:
        """Dispute the account, or resolve its dispute: a retry of a change that committed
        before the fault cut its answer is refused as a change from the wrong status."""
        change = "active" if account_id in self._disputed else "disputed"
        reason = "not_mine" if change == "disputed" else "resolved on the phone"
        answer = await self.request(
            "POST",
            f"{API}/accounts/{account_id}/status-changes",
            self.tenant.supervisor,
            json={"status": change, "reason": reason},
        )
        if answer.status_code != 200:
            state = await self.request("GET", f"{API}/accounts/{account_id}", self.tenant.admin)
            assert state.json()["status"] == change, answer.text
        self._disputed ^= {account_id}

    async def email_link(self, account_id: int) -> None:
        key = {"Idempotency-Key": f"fault-{uuid.uuid4()}"}
        while True:
            answer = await self.request(
                "POST",
                f"{API}/accounts/{account_id}/payment-links/send",
                self.tenant.admin,
                json={"channel": "email"},
                headers=key,
            )
            if answer.status_code != 409:
                break
            await asyncio.sleep(RETRY)
        assert answer.status_code == 201, answer.text
        assert answer.json()["outcome"] == "sending", answer.text
        self.emails.append(answer.json()["message_id"])
        self.addresses.add(answer.json()["to"])

    async def balance(self, account_id: int) -> Decimal:
        answer = await self.request("GET", f"{API}/accounts/{account_id}", self.tenant.admin)
        return Decimal(answer.json()["balance"])

    async def add_webhook(self, url: str) -> None:
        answer = await self.request(
            "POST",
            f"{API}/webhook-endpoints",
            self.tenant.admin,
            json={"url": url, "event_types": ["payment.received"]},
        )
        assert answer.status_code == 201, answer.text

    async def run(
        self, operations: int, accounts: list[int], status_account: int, halfway: asyncio.Event
    ) -> None:
        """``operations`` requests, a few at a time; ``halfway`` is set a third of the way
        in (when the fault goes in)."""

        async def one(n: int) -> None:
            account = accounts[n % len(accounts)]
            kind = n % 4
            if kind in (0, 2):
                await self.pay(account, n)
            elif kind == 1:
                await self.note(account, n)
            else:
                await self.flip_status(status_account)
            self.done += 1
            if self.done >= operations // 3:
                halfway.set()

        lanes = 4
        status_lock = asyncio.Lock()

        async def lane(k: int) -> None:
            for n in range(k, operations, lanes):
                if n % 4 == 3:
                    async with status_lock:  # one status change at a time
                        await one(n)
                else:
                    await one(n)

        await asyncio.gather(*(lane(k) for k in range(lanes)))
