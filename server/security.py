"""The security headers of every response, and the content policies of the pages we serve.

The middleware at the edge of the app (outside Litestar's router and its exception handler)
gives every HTTP response, errors raised before any handler included, nosniff, DENY framing,
a same-origin referrer and, when users reach us over HTTPS, HSTS. A response that names no
Content-Security-Policy gets ``DEFAULT_CSP``, which lets a document load nothing at all; each
kind of page we serve names the narrow policy it needs below.
"""

from __future__ import annotations

from litestar.datastructures import ResponseHeader

_CSP = "Content-Security-Policy"
# Every policy: never framed, no <base> to redirect relative URLs, no plugins (ASVS V3.4.3).
_EVERY_POLICY = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

# Anything that is not one of our pages: JSON, problem documents, assets, a stray HTML file.
DEFAULT_CSP = f"default-src 'none'; {_EVERY_POLICY}; form-action 'none'"

# The screens and the debtor's page: our own modules and styles, no inline script, sockets
# back to us.
SCREENS_CSP = ResponseHeader(
    name=_CSP,
    value=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' ws: wss:; {_EVERY_POLICY}; form-action 'self'"
    ),
)

# Server-rendered pages (a link's error, the opt-out, the sandbox checkout): no script at all.
PAGES_CSP = ResponseHeader(
    name=_CSP,
    value=(
        "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
        f"{_EVERY_POLICY}; form-action 'self'"
    ),
)

# Swagger UI from the swagger-ui-py wheel: its bundle and our start-up script, the schema
# fetched from us, the icons its stylesheet inlines as data: URLs.
API_DOCS_CSP = ResponseHeader(
    name=_CSP,
    value=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; {_EVERY_POLICY}; form-action 'self'"
    ),
)

HSTS = "max-age=63072000; includeSubDomains"


def security_headers(*, https: bool) -> dict[bytes, bytes]:
    """The headers every response carries unless it names its own (added at the edge, by
    ``server.observability.ObservabilityMiddleware``, to handlers' answers and errors alike)."""
    headers = {
        b"x-content-type-options": b"nosniff",
        b"x-frame-options": b"DENY",
        b"referrer-policy": b"same-origin",
        b"content-security-policy": DEFAULT_CSP.encode(),
    }
    if https:
        headers[b"strict-transport-security"] = HSTS.encode()
    return headers
