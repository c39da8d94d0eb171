"""A TCP proxy in front of a server (TCP or Unix socket) that a test can cut and restore:
the server "goes down" for whatever connects through the proxy, and no one else."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from urllib.parse import parse_qs, urlsplit


class CuttableProxy:
    def __init__(self, *, unix_path: str | None = None, host: str = "", port: int = 0) -> None:
        self.unix_path = unix_path
        self.target = (host, port)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )

    async def cut(self) -> None:
        """Refuse new connections and break the open ones (as a stopped server does)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def restore(self) -> None:
        await self.start()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if self.unix_path is not None:
                up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._links -= {writer, up_writer}
            for w in (writer, up_writer):
                w.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()


def postgres_proxy(url: str) -> tuple[CuttableProxy, str]:
    """A proxy in front of the PostgreSQL of ``url`` and the URL that goes through it."""
    parts = urlsplit(url)
    host = parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
    if host.startswith("/"):
        proxy = CuttableProxy(unix_path=f"{host}/.s.PGSQL.{parts.port or 5432}")
    else:
        proxy = CuttableProxy(host=host, port=parts.port or 5432)
    user = parts.username or "postgres"
    return proxy, f"postgresql://{user}@127.0.0.1:{proxy.port}{parts.path}"


def redis_proxy(url: str) -> tuple[CuttableProxy, str]:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        db = parse_qs(parts.query).get("db", ["0"])[0]
        proxy = CuttableProxy(unix_path=parts.path)
    else:
        db = parts.path.strip("/") or "0"
        proxy = CuttableProxy(host=parts.hostname or "", port=parts.port or 6379)
    return proxy, f"redis://127.0.0.1:{proxy.port}/{db}"
