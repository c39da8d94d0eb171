"""gzip at the edge: large compressible answers to clients that take it, nothing else."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from server.compression import GzipMiddleware, accepts_gzip

BIG = json.dumps([{"id": i, "name": "Jane Smith", "status": "open"} for i in range(200)]).encode()


def app_answering(
    body_parts: list[bytes], content_type: bytes = b"application/json", **extra: bytes
) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", content_type)]
        headers += [(k.replace("_", "-").encode(), v) for k, v in extra.items()]
        if len(body_parts) == 1:
            headers.append((b"content-length", str(len(body_parts[0])).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, part in enumerate(body_parts):
            more = i < len(body_parts) - 1
            await send({"type": "http.response.body", "body": part, "more_body": more})

    return app


async def call(app: Any, accept: bytes | None = b"gzip, deflate, br") -> tuple[dict, bytes]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(b"accept-encoding", accept)] if accept is not None else []
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    await GzipMiddleware(app)(scope, None, send)
    start = sent[0]
    assert start["type"] == "http.response.start"
    return {k.decode(): v.decode() for k, v in start["headers"]}, b"".join(
        m.get("body", b"") for m in sent[1:]
    )


async def test_a_large_answer_is_compressed_with_its_length_and_vary() -> None:
    headers, body = await call(app_answering([BIG], vary=b"Origin"))
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Origin, Accept-Encoding"
    assert int(headers["content-length"]) == len(body) < len(BIG)
    assert gzip.decompress(body) == BIG


@pytest.mark.parametrize("size", [1023, 1024])
async def test_the_minimum_size_is_where_compression_starts(size: int) -> None:
    headers, body = await call(app_answering([b"x" * size]))
    if size < 1024:
        assert "content-encoding" not in headers
        assert body == b"x" * size
    else:
        assert headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == b"x" * size


@pytest.mark.parametrize(
    ("accept", "compressed"),
    [
        (b"gzip", True),
        (b"GZIP;q=0.5", True),
        (b"*", True),
        (None, False),
        (b"identity", False),
        (b"br, deflate", False),
        (b"gzip;q=0", False),
        (b"gzip;q=0, *", False),
        (b"gzip;q=nonsense", False),
    ],
)
async def test_only_clients_that_accept_gzip_get_it(accept: bytes | None, compressed: bool) -> None:
    headers, body = await call(app_answering([BIG]), accept)
    assert ("content-encoding" in headers) is compressed
    assert (gzip.decompress(body) if compressed else body) == BIG


async def test_images_and_compressed_answers_pass_untouched() -> None:
    png = b"\x89PNG" + bytes(range(256)) * 20
    headers, body = await call(app_answering([png], b"image/png"))
    assert "content-encoding" not in headers
    assert body == png
    already = gzip.compress(BIG)
    headers, body = await call(app_answering([already], content_encoding=b"gzip"))
    assert body == already


async def test_a_streamed_answer_is_compressed_part_by_part() -> None:
    parts = [BIG[:10], BIG[10:5000], BIG[5000:], b""]
    headers, body = await call(app_answering(parts, b"text/csv; charset=utf-8"))
    assert headers["content-encoding"] == "gzip"
    assert "content-length" not in headers
    assert gzip.decompress(body) == BIG


def test_accept_encoding_parsing() -> None:
    assert accepts_gzip([(b"accept-encoding", b"deflate, gzip;q=1.0")])
    assert not accepts_gzip([(b"accept-encoding", b"gzip;q=0.0")])
    assert not accepts_gzip([(b"user-agent", b"gzip")])


def test_what_counts_as_compressible() -> None:
    from server.compression import compressible

    for yes in (b"text/html; charset=utf-8", b"application/problem+json", b"image/svg+xml"):
        assert compressible(yes)
    for no in (b"image/png", b"application/zip", b"font/woff2", b"application/octet-stream"):
        assert not compressible(no)
