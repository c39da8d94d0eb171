"""``OPTIONS`` answered from the route table: 204 with ``Allow`` naming every method of the path.

Litestar's own answer is built when a path's first handlers are registered and is kept
when more join it, so it left methods out (``/api/v1/accounts`` said ``OPTIONS, POST``);
and it ran the guards of the controller it was first registered with, with no caller to
ask about (a 500). Asking which methods a path has needs no sign-in.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.path import normalize_path


class AnswerOptions:
    """In front of the app's router: ``OPTIONS`` on a known path is answered here."""

    def __init__(self, app: ASGIApp, litestar: Litestar) -> None:
        self.app = app
        self.litestar = litestar
        self._allow: dict[str, bytes] | None = None

    def allow(self) -> dict[str, bytes]:
        """Each path template's ``Allow`` header; read once the routes are all registered."""
        if self._allow is None:
            self._allow = {
                route.path_format: ", ".join(sorted(route.methods | {"OPTIONS"})).encode()
                for route in self.litestar.routes
                if isinstance(route, HTTPRoute)
            }
        return self._allow

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Any other request is handed over as the app's coroutine, not awaited here: no frame
        # of this class stays in the request's chain.
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            return self.app(scope, receive, send)
        allow = self._allow_for(scope["path"])
        if allow is None:  # unknown path: the router's 404
            return self.app(scope, receive, send)
        return self._answer(allow, send)

    @staticmethod
    async def _answer(allow: bytes, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]})
        await send({"type": "http.response.body", "body": b""})

    def _allow_for(self, path: str) -> bytes | None:
        try:
            found: Any = self.litestar.asgi_router.handle_routing(
                path=normalize_path(path), method="OPTIONS"
            )
        except HTTPException:  # not found, or not a path: the router answers
            return None
        return self.allow().get(found[4])  # the route's path template
