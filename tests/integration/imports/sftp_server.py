"""A real SFTP server on loopback for the tests (asyncssh serves one): a folder as its root,
one user whose key is the test's, and a host key of its own."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncssh

USER = "debtflow"


def new_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


def private_text(key: asyncssh.SSHKey) -> str:
    return key.export_private_key().decode()


def public_text(key: asyncssh.SSHKey) -> str:
    return key.export_public_key().decode().strip()


@dataclass
class SftpServer:
    root: Path
    port: int
    client_key: asyncssh.SSHKey
    host_key: asyncssh.SSHKey


@asynccontextmanager
async def sftp_server(root: Path) -> AsyncIterator[SftpServer]:
    client_key = new_key()
    host_key = new_key()
    (root / "in").mkdir(parents=True, exist_ok=True)
    chroot = str(root)
    server = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[host_key],
        authorized_client_keys=asyncssh.import_authorized_keys(public_text(client_key) + "\n"),
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=chroot),
        allow_scp=False,
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield SftpServer(root=root, port=port, client_key=client_key, host_key=host_key)
    finally:
        server.close()
        await server.wait_closed()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
