"""The webhook benchmark's receiver: a raw asyncio HTTP/1.1 server (uvloop, httptools,
keep-alive) that answers each delivery 200 at once and notes its ``webhook-id``, endpoint and
arrival time; or, for an endpoint made silent, reads the request and never answers.

    python bench/webhook_receiver.py PORT      # bench/webhooks.py starts it on its own CPU
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request

PORT = 18795
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


def serve(port: int) -> None:
    """The receiver: ``POST /e/N`` is endpoint N; ``/control/hang/N`` makes N silent
    (``/control/hang/-`` answers again); ``/control/dump`` hands over what arrived since the
    last dump as JSON ``[[webhook-id, N, unix time], ...]``."""
    import httptools
    import uvloop

    records: list[tuple[str, int, float]] = []
    silent: set[int] = set()

    class Hook(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)
            self.url = b""
            self.webhook_id = b""

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_header(self, name: bytes, value: bytes) -> None:
            if name.lower() == b"webhook-id":
                self.webhook_id = value

        def on_message_complete(self) -> None:
            url, self.url = self.url, b""
            if url.startswith(b"/e/"):
                n = int(url[3:])
                if n in silent:
                    return  # read, never answered: the sender's timeout ends it
                records.append((self.webhook_id.decode(), n, time.time()))
                self.transport.write(OK)  # type: ignore[attr-defined]
                return
            if url == b"/control/dump":
                body = json.dumps(records).encode()
                records.clear()
            elif url.startswith(b"/control/hang/"):
                which = url.rsplit(b"/", 1)[1]
                silent.clear()
                if which != b"-":
                    silent.add(int(which))
                body = b"{}"
            else:
                body = b"[]"
            head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            self.transport.write(head + body)  # type: ignore[attr-defined]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Hook, "127.0.0.1", port, backlog=1024)
        async with server:
            await server.serve_forever()

    uvloop.run(main())


def control(path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/control/{path}", timeout=30) as r:
        return json.loads(r.read())


if __name__ == "__main__":
    serve(int(sys.argv[1]))
