"""gzip for answers worth compressing, at the edge, at no cost to the ones that are not.

Litestar's compression allocates a ``GzipFile`` and a buffer for every response to a client
that accepts gzip, then throws both away when the body turns out smaller than the minimum,
which is most API answers (one account is about 500 bytes): about 30 µs each. This one
looks at a response only once its first body part is known, and builds a compressor
(``zlib``, gzip framing) only for a body of at least ``minimum_size`` bytes, of a type
that compresses, to a client that accepts it.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

# What compresses well (with any ``+json`` or ``+xml`` type); images, archives and fonts
# are compressed already.
_COMPRESSIBLE = frozenset({b"application/json", b"application/javascript", b"application/xml"})


def compressible(content_type: bytes) -> bool:
    media = content_type.partition(b";")[0].strip().lower()
    return (
        media.startswith(b"text/") or media in _COMPRESSIBLE or media.endswith((b"+json", b"+xml"))
    )


def accepts_gzip(headers: Any) -> bool:
    """Whether the request's ``Accept-Encoding`` takes gzip: named, or ``*``, with q > 0."""
    gzip = star = None
    for name, value in headers:
        if name != b"accept-encoding":
            continue
        for item in value.lower().split(b","):
            coding, _, params = item.partition(b";")
            coding = coding.strip()
            if coding == b"gzip":
                gzip = _quality(params)
            elif coding == b"*":
                star = _quality(params)
    quality = gzip if gzip is not None else star
    return quality is not None and quality > 0


def _quality(params: bytes) -> float:
    for param in params.split(b";"):
        key, _, value = param.strip().partition(b"=")
        if key.strip() == b"q":
            try:
                return float(value)
            except ValueError:
                return 0.0  # a quality that is not a number: not an acceptance
    return 1.0


def _compressed_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    """The answer's headers for its gzip body: no length yet, and ``Vary`` saying why."""
    kept, vary = [], [b"Accept-Encoding"]
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"vary":
            vary.insert(-1, value)
        elif lowered != b"content-length":
            kept.append((name, value))
    kept += [(b"content-encoding", b"gzip"), (b"vary", b", ".join(vary))]
    return kept


class GzipMiddleware:
    """gzip the answers of at least ``minimum_size`` bytes (or streamed) of a compressible
    type, for clients that accept it; pass every other answer through untouched."""

    def __init__(self, app: ASGIApp, *, minimum_size: int = 1024, level: int = 5) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Returns the app's coroutine with ``send`` wrapped, rather than awaiting it: nothing
        # is left to do after the app, so no frame of this class stays in the chain.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        start: Message | None = None
        compressor: Any = None
        passing = False

        async def send_compressed(message: Message) -> None:
            nonlocal start, compressor, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = message  # held until the first part of the body says what to do
                return
            if message["type"] != "http.response.body" or start is None:
                passing = True
                if start is not None:
                    await send(start)
                await send(message)
                return
            body: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if compressor is None:
                if not self._worth_it(scope, start, body, more):
                    passing = True
                    await send(start)
                    await send(message)
                    return
                compressor = zlib.compressobj(self.level, zlib.DEFLATED, 31)
                headers = _compressed_headers(start.get("headers", ()))
                if not more:
                    compressed = compressor.compress(body) + compressor.flush()
                    headers.append((b"content-length", str(len(compressed)).encode()))
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": compressed})
                    return
                await send({**start, "headers": headers})
            chunk = compressor.compress(body)
            chunk += compressor.flush(zlib.Z_SYNC_FLUSH if more else zlib.Z_FINISH)
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

        return self.app(scope, receive, send_compressed)

    def _worth_it(self, scope: Scope, start: Message, body: bytes, more: bool) -> bool:
        if not more and len(body) < self.minimum_size:
            return False
        worth = False
        for name, value in start.get("headers", ()):
            name = name.lower()
            if name == b"content-encoding":
                return False
            if name == b"content-type":
                worth = compressible(value)
        return worth and accepts_gzip(scope["headers"])
