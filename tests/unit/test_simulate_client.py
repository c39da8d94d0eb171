"""The simulator's browser (simulate.client) when its server restarts and when its access
token lapses under several requests at once."""

from __future__ import annotations

import asyncio
import json

import httpx
from websockets.exceptions import ConnectionClosedError

from simulate.client import Screen, Session
from simulate.metrics import Metrics


class ClosedSocket:
    """A socket whose server was killed: every send raises, as websockets' does."""

    async def send(self, text: str) -> None:
        raise ConnectionClosedError(None, None)


class OpenSocket:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


async def test_subscribing_on_a_socket_closed_under_it_does_not_end_the_caller() -> None:
    screen = Screen("http://127.0.0.1:1", Metrics(), lambda: None, asyncio.Event())
    screen.socket = ClosedSocket()  # type: ignore[assignment]

    await screen.subscribe("account:7", lambda frame: None)

    # Kept, so that the reconnect subscribes to it again, with its position.
    assert list(screen.handlers) == ["account:7"]
    screen.positions["account:7"] = "12-0"
    reopened = OpenSocket()
    screen.socket = reopened  # type: ignore[assignment]
    for channel in screen.handlers:
        await screen._subscribe(channel)
    assert reopened.sent == [{"op": "subscribe", "channel": "account:7", "since": "12-0"}]


async def test_requests_that_find_the_access_token_expired_refresh_it_once() -> None:
    """A refresh token works once: two of one user's requests refreshing with it at the same
    time would end the sign-in (the server takes the second for a stolen token)."""
    refreshed: list[str] = []
    seen: list[str] = []

    async def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            presented = json.loads(request.content)["refresh_token"]
            refreshed.append(presented)
            await asyncio.sleep(0.05)  # both requests are waiting by now
            if presented != "refresh-1":
                return httpx.Response(401, json={"detail": "already used"})
            return httpx.Response(
                200,
                json={"access_token": "access-2", "refresh_token": "refresh-2", "expires_in": 900},
            )
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"ok": True})

    http = httpx.AsyncClient(base_url="http://recoup", transport=httpx.MockTransport(server))
    metrics = Metrics()
    session = Session(http, metrics, "agent@demo.test", "pw")
    session._keep({"access_token": "access-1", "refresh_token": "refresh-1", "expires_in": 60})
    session.expires_at = 0.0  # lapsed

    answers = await asyncio.gather(session.call("GET", "/a"), session.call("GET", "/b"))

    assert answers == [(200, {"ok": True}), (200, {"ok": True})]
    assert refreshed == ["refresh-1"]
    assert seen == ["Bearer access-2", "Bearer access-2"]
    assert metrics.error_count == 0
    await http.aclose()
