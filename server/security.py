"""The security headers of every response, and the content policies of the pages we serve.

One middleware at the edge of the app (outside Litestar's router and its exception handler)
gives every HTTP response, errors raised before any handler included, nosniff, DENY framing,
a same-origin referrer and, when users reach us over HTTPS, HSTS. A response that names no
Content-Security-Policy gets ``DEFAULT_CSP``, which lets a document load nothing at all; each
kind of page we serve names the narrow policy it needs below.
"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader
from litestar.types import ASGIApp, Message, Receive, Scope, Send

_CSP = "Content-Security-Policy"
_NOT_FRAMED = "frame-ancestors 'none'; base-uri 'none'"

# Anything that is not one of our pages: JSON, problem documents, assets, a stray HTML file.
DEFAULT_CSP = f"default-src 'none'; {_NOT_FRAMED}; form-action 'none'"

# The screens and the debtor's page: our own modules and styles, no inline script, sockets
# back to us.
SCREENS_CSP = ResponseHeader(
    name=_CSP,
    value=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' ws: wss:; {_NOT_FRAMED}; form-action 'self'"
    ),
)

# Server-rendered pages (a link's error, the opt-out, the sandbox checkout): no script at all.
PAGES_CSP = ResponseHeader(
    name=_CSP,
    value=(
        "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
        f"{_NOT_FRAMED}; form-action 'self'"
    ),
)

# Swagger UI from the swagger-ui-py wheel: its bundle and our start-up script, the schema
# fetched from us, the icons its stylesheet inlines as data: URLs.
API_DOCS_CSP = ResponseHeader(
    name=_CSP,
    value=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; {_NOT_FRAMED}; form-action 'self'"
    ),
)

HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeadersMiddleware:
    """Adds the headers every response needs to whatever answers (a handler or an error)."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        headers = {
            b"x-content-type-options": b"nosniff",
            b"x-frame-options": b"DENY",
            b"referrer-policy": b"same-origin",
            b"content-security-policy": DEFAULT_CSP.encode(),
        }
        if https:
            headers[b"strict-transport-security"] = HSTS.encode()
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(
                    (name, value) for name, value in self.headers.items() if name not in present
                )
                message["headers"] = headers  # type: ignore[typeddict-unknown-key]
            await send(message)

        await self.app(scope, receive, send_with_headers)
