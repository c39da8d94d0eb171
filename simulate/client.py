"""A signed-in user as the browser is one: REST calls with an access token refreshed before
it lapses (and once more on a 401), and one WebSocket whose channels resume from their last
position when it has to reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from simulate.metrics import RACES, THROTTLED, Metrics

API = "/api/v1"
Handler = Callable[[dict[str, Any]], None]


class SignInRefused(Exception):
    """The e-mail and password were not accepted (401), or sign-in stayed refused."""


def retry_after(response: httpx.Response, default: float = 5.0) -> float:
    try:
        return max(float(response.headers.get("retry-after", default)), 0.5)
    except ValueError:
        return default


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail") or body.get("title") or body)[:200]


class Session:
    """One user's sign-in: every call through ``call`` is timed into ``metrics``."""

    def __init__(
        self, http: httpx.AsyncClient, metrics: Metrics, email: str, password: str
    ) -> None:
        self.http = http
        self.metrics = metrics
        self.email = email
        self.password = password
        self.access: str | None = None
        self.refresh_token: str | None = None
        self.expires_at = 0.0
        self.user: dict[str, Any] = {}
        # One refresh at a time: a refresh token works once, and a second request presenting
        # the same one would be taken for a stolen token and end the sign-in.
        self._refreshing = asyncio.Lock()

    async def sign_in(self, stop: asyncio.Event, *, attempts: int = 20) -> None:
        """Sign in, waiting out rate limits (``Retry-After``) up to ``attempts`` times."""
        for _ in range(attempts):
            started = time.perf_counter()
            response = await self.http.post(
                f"{API}/auth/login", json={"email": self.email, "password": self.password}
            )
            self.metrics.call(
                "POST /auth/login", time.perf_counter() - started, response.status_code
            )
            if response.status_code == 200:
                self._keep(response.json())
                status, me = await self.call("GET", "/users/me")
                if status != 200:
                    raise SignInRefused(f"{self.email}: /users/me answered {status}")
                self.user = me
                return
            if response.status_code != THROTTLED:
                raise SignInRefused(f"{self.email}: {response.status_code} {_detail(response)}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), retry_after(response))
            if stop.is_set():
                raise SignInRefused(f"{self.email}: stopped while waiting to sign in")
        raise SignInRefused(f"{self.email}: sign-in still rate-limited after {attempts} tries")

    def _keep(self, body: dict[str, Any]) -> None:
        self.access = body["access_token"]
        self.refresh_token = body.get("refresh_token", self.refresh_token)
        # As the browser does: refresh a little before the server would refuse the token.
        self.expires_at = time.monotonic() + max(body["expires_in"] - 30, 5)

    async def _refresh(self, stale: str | None) -> bool:
        """A new access token in place of ``stale``, unless another request has already
        replaced it meanwhile."""
        async with self._refreshing:
            if self.access != stale:
                return True
            return await self._rotate()

    async def _rotate(self) -> bool:
        started = time.perf_counter()
        response = await self.http.post(
            f"{API}/auth/refresh", json={"refresh_token": self.refresh_token}
        )
        self.metrics.call("POST /auth/refresh", time.perf_counter() - started, response.status_code)
        if response.status_code != 200:
            self.metrics.error(f"{self.email}: refresh answered {response.status_code}")
            return False
        self._keep(response.json())
        return True

    async def call(
        self,
        method: str,
        path: str,
        *,
        name: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, body); anything but a success, a race or a rate limit is an error.
        A connection that failed is status 0."""
        if time.monotonic() > self.expires_at and self.refresh_token:
            await self._refresh(self.access)
        label = name or f"{method} {path}"
        for attempt in range(2):
            access = self.access
            started = time.perf_counter()
            try:
                response = await self.http.request(
                    method,
                    API + path,
                    json=json,
                    params=params,
                    headers={**(headers or {}), "Authorization": f"Bearer {access}"},
                )
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                # The server closed a kept-alive connection as the request went out on it,
                # before reading it: a browser sends the request again on a new one.
                if attempt == 0:
                    continue
                self.metrics.error(f"{label}: {type(exc).__name__} {exc}")
                return 0, None
            except httpx.HTTPError as exc:
                self.metrics.error(f"{label}: {type(exc).__name__} {exc}")
                return 0, None
            self.metrics.call(label, time.perf_counter() - started, response.status_code)
            if response.status_code == 401 and attempt == 0 and await self._refresh(access):
                continue
            break
        status = response.status_code
        if status < 400:
            return status, response.json() if status != 204 and response.content else None
        if status not in RACES and status != THROTTLED:
            self.metrics.error(f"{label}: {status} {_detail(response)}")
        return status, None

    async def sign_out(self) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self.http.post(
                f"{API}/auth/logout",
                json={"refresh_token": self.refresh_token},
                headers={"Authorization": f"Bearer {self.access}"},
            )


class Screen:
    """One browser tab's socket: subscribe with a handler; reconnects and resumes."""

    def __init__(
        self,
        base_url: str,
        metrics: Metrics,
        ticket: Callable[[], Any],
        stop: asyncio.Event,
    ) -> None:
        self.ws_url = base_url.replace("http://", "ws://").replace("https://", "wss://")
        self.metrics = metrics
        self.ticket = ticket
        self.stop = stop
        self.handlers: dict[str, Handler] = {}
        self.positions: dict[str, str] = {}
        self.socket: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def open(self) -> None:
        await self._connect()
        self.reader = asyncio.create_task(self._read())

    async def _connect(self) -> None:
        ticket = await self.ticket()
        if not ticket:
            raise ConnectionError("no ticket for the socket")
        self.socket = await connect(
            f"{self.ws_url}/ws?ticket={ticket}", compression=None, open_timeout=15
        )
        for channel in self.handlers:
            await self._subscribe(channel)

    async def _subscribe(self, channel: str) -> None:
        frame: dict[str, str] = {"op": "subscribe", "channel": channel}
        if channel in self.positions:
            frame["since"] = self.positions[channel]
        # A socket closed under us (its server restarted) is not the caller's failure: the
        # reader opens a new one and subscribes to every channel handled by then.
        await self._send(frame)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self.handlers[channel] = handler
        await self._subscribe(channel)

    async def _send(self, frame: dict[str, str]) -> None:
        if self.socket is not None:
            with contextlib.suppress(WebSocketException):
                await self.socket.send(json.dumps(frame))

    def forget(self, channel: str) -> asyncio.Task[None] | None:
        """Stop handling ``channel`` at once; the unsubscribe frame follows."""
        if self.handlers.pop(channel, None) is None:
            return None
        self.positions.pop(channel, None)
        return asyncio.create_task(self._send({"op": "unsubscribe", "channel": channel}))

    async def _read(self) -> None:
        backoff = 0.5
        while not self.stop.is_set():
            try:
                assert self.socket is not None
                async for raw in self.socket:
                    self._receive(json.loads(raw))
                    backoff = 0.5
            except (WebSocketException, OSError):
                pass
            if self.stop.is_set():
                return
            # Closed under us (a server restart, a resync): a new ticket, the same channels.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), backoff)
            backoff = min(backoff * 2, 15.0)
            with contextlib.suppress(WebSocketException, OSError, ConnectionError):
                await self._connect()

    def _receive(self, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        channel = frame.get("channel", "")
        if op == "event":
            self.positions[channel] = frame["pos"]
            self.metrics.heard[channel.split(":", 1)[0]] += 1
            handler = self.handlers.get(channel)
            if handler is not None:
                handler(frame)
        elif op == "subscribed":
            self.positions[channel] = frame["pos"]
            self.ready.set()
        elif op == "error":
            code = frame.get("code")
            if channel not in self.handlers and code == "forbidden":
                return  # access to a channel just left ended (a task completed): as expected
            if code == "forbidden" and channel.startswith("account:"):
                # The work on it was taken away meanwhile; the agent channel says so too.
                self.handlers.pop(channel, None)
                self.metrics.races += 1
                self.metrics.race_calls["socket account:{id} forbidden"] += 1
            elif code == "unavailable" and channel in self.handlers:
                asyncio.get_running_loop().call_later(
                    1.0, lambda: asyncio.ensure_future(self._subscribe(channel))
                )
            else:
                self.metrics.error(f"socket {channel}: {frame.get('code')} {frame.get('message')}")

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        if self.socket is not None:
            with contextlib.suppress(WebSocketException, OSError, TimeoutError):
                await asyncio.wait_for(self.socket.close(), 2.0)
