"""Polling SFTP sources: each new file downloaded, imported once, then moved aside.

For each file of the source's folder whose name matches its pattern:

1. it is downloaded into the imports folder (streamed to disk by the SFTP client, never
   whole in memory) and its SHA-256 computed there;
2. in one transaction, the file is claimed in ``sftp_files`` (unique by source, name and
   checksum) and its import recorded with the source's mapping; a file claimed before
   is not imported again (its download is deleted);
3. after the commit, the import's job is kicked (again, harmlessly, for a file claimed
   by a poll that died before its import ended);
4. the file is moved to the processed folder (under its name, or with the start of its
   checksum added when the processed folder has a file of that name already).

A poll that dies anywhere leaves either nothing (before 2's commit) or a claimed file that
the next poll finds by name and checksum and only moves: no file is imported twice. The
same name with other content is another file.

A source that cannot be reached, refuses the key, or has no such folder ends its poll with
``last_status`` failed and a sentence in ``last_error``; nothing is raised to the job.
"""

from __future__ import annotations

import asyncio
import fnmatch
import posixpath
import stat
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import structlog

from domain.actor import system_actor
from domain.db import Database
from domain.errors import InvalidInput
from domain.imports import sftp_queries
from domain.imports.reader import checksum
from domain.imports.service import ImportService
from domain.webhooks.signing import SecretBox
from domain.webhooks.urls import UrlPolicy, refusal, resolve

log = structlog.get_logger("recoup.imports")

Kick = Callable[[int, int], Awaitable[object]]


@dataclass(frozen=True)
class PollOptions:
    """Where downloads go, whether loopback hosts are allowed (development and tests; as
    for webhooks, only public addresses otherwise), and how long a server may take."""

    imports_folder: Path
    allow_local: bool = False
    timeout: float = 20.0


class PollFailed(Exception):
    """Why a poll ended early, in words for the source's status."""


@dataclass
class PollResult:
    status: str
    error: str | None
    imported: list[int]


async def poll_all(db: Database, box: SecretBox, options: PollOptions, kick: Kick) -> int:
    """Every tenant's enabled sources, one after another; how many files were imported."""
    async with db.system() as conn:
        sources = await sftp_queries.enabled_sources(conn)
    imported = 0
    for source in sources:
        result = await poll_source(db, box, options, source["tenant_id"], source["id"], kick)
        imported += len(result.imported)
    return imported


async def poll_source(
    db: Database, box: SecretBox, options: PollOptions, tenant_id: int, source_id: int, kick: Kick
) -> PollResult:
    async with db.tenant(tenant_id) as conn:
        source = await sftp_queries.get_source(conn, source_id, with_key=True)
    if source is None:
        return PollResult("failed", "the source is gone", [])
    poll = _Poll(db, options, tenant_id, source, kick)
    try:
        await poll.run(box)
        result = PollResult("ok", None, poll.imported)
    except PollFailed as exc:
        result = PollResult("failed", str(exc), poll.imported)
        log.warning("sftp poll failed", source_id=source_id, error=str(exc))
    async with db.tenant(tenant_id) as conn:
        await sftp_queries.set_poll_result(
            conn, source_id, result.status, result.error, len(result.imported)
        )
    if result.imported:
        log.info("sftp files taken", source_id=source_id, imports=result.imported)
    return result


class _Poll:
    def __init__(self, db: Database, options: PollOptions, tenant_id: int, source, kick: Kick):
        self.db = db
        self.options = options
        self.tenant_id = tenant_id
        self.source = source
        self.kick = kick
        self.imported: list[int] = []
        self.where = f"{source['host']}:{source['port']}"

    async def run(self, box: SecretBox) -> None:
        source = self.source
        try:
            key = asyncssh.import_private_key(box.open(source["private_key_enc"]))
        except (ValueError, asyncssh.KeyImportError):
            raise PollFailed(
                "the private key cannot be read (the server's secret key changed?): save the "
                "key again"
            ) from None
        address = await self._address()
        known_hosts = None
        if source["host_key"]:
            known_hosts = ([asyncssh.import_public_key(source["host_key"])], [], [])
        try:
            async with (
                asyncssh.connect(
                    address,
                    source["port"],
                    username=source["username"],
                    client_keys=[key],
                    known_hosts=known_hosts,
                    agent_path=None,
                    config=None,
                    preferred_auth="publickey",
                    connect_timeout=self.options.timeout,
                    login_timeout=self.options.timeout,
                    # A server that stops answering mid-transfer ends the poll, not hangs it.
                    keepalive_interval=self.options.timeout,
                    keepalive_count_max=3,
                ) as ssh,
                ssh.start_sftp_client() as sftp,
            ):
                await self._files(sftp)
        except PollFailed:
            raise
        except InvalidInput as exc:
            raise PollFailed(f"the file cannot be imported: {exc.detail}") from None
        except asyncssh.PermissionDenied:
            raise PollFailed(
                f"{self.where} refused the user {source['username']!r} with this key"
            ) from None
        except asyncssh.HostKeyNotVerifiable:
            raise PollFailed(
                f"{self.where} did not show the host key saved for this source"
            ) from None
        except asyncssh.SFTPError as exc:
            raise PollFailed(f"SFTP error on {self.where}: {exc.reason}") from None
        except asyncssh.DisconnectError as exc:
            raise PollFailed(f"{self.where} closed the connection: {exc.reason}") from None
        except TimeoutError:
            raise PollFailed(f"{self.where} did not answer in time") from None
        except OSError as exc:
            raise PollFailed(f"cannot reach {self.where}: {exc.strerror or exc}") from None

    async def _address(self) -> str:
        host = self.source["host"]
        try:
            addresses = await resolve(host, self.source["port"])
        except InvalidInput:
            raise PollFailed(f"{host} does not resolve") from None
        refused = refusal(host, addresses, UrlPolicy(allow_local=self.options.allow_local))
        if refused is not None:
            raise PollFailed(refused.replace("webhooks", "SFTP sources"))
        # Connect to the address checked, not to a name that could resolve anew.
        return str(addresses[0])

    async def _files(self, sftp: asyncssh.SFTPClient) -> None:
        folder = self.source["folder"]
        pattern = self.source["pattern"]
        entries = await sftp.readdir(folder)
        names = sorted(
            e.filename
            for e in entries
            if e.attrs.permissions is not None
            and stat.S_ISREG(e.attrs.permissions)
            and fnmatch.fnmatchcase(e.filename, pattern)
        )
        if names:
            await sftp.makedirs(self.source["processed_folder"], exist_ok=True)
        for name in names:
            await self._take(sftp, name)

    async def _take(self, sftp: asyncssh.SFTPClient, name: str) -> None:
        source = self.source
        remote = posixpath.join(source["folder"], name)
        target_dir = self.options.imports_folder / str(int(self.tenant_id))
        target_dir.mkdir(parents=True, exist_ok=True)
        local = target_dir / f"{uuid.uuid4().hex}.csv"
        try:
            await sftp.get(remote, str(local))
            size = local.stat().st_size
            digest = await asyncio.to_thread(checksum, local)
            import_id, run, new = await self._claim(name, digest, size, local)
        except BaseException:
            local.unlink(missing_ok=True)
            raise
        if not new:
            await asyncio.to_thread(local.unlink, missing_ok=True)
        if import_id is not None and run:
            await self.kick(self.tenant_id, import_id)
        await self._move(sftp, remote, name, digest)

    async def _claim(
        self, name: str, digest: str, size: int, local: Path
    ) -> tuple[int | None, bool, bool]:
        """The file's import, whether it is to be run, and whether the file is new (and
        recorded now, with its import)."""
        source = self.source
        async with self.db.tenant(self.tenant_id) as conn:
            file_id = await sftp_queries.claim_file(
                conn, self.tenant_id, source["id"], name, digest, size
            )
            if file_id is None:
                taken = await sftp_queries.taken_file(conn, source["id"], name, digest)
                self.file_id = taken["id"]
                return taken["import_id"], taken["status"] in ("pending", "running"), False
            created = await ImportService(conn, system_actor(self.tenant_id)).create(
                path=local,
                file_name=name,
                size_bytes=size,
                checksum=digest,
                preset_id=source["mapping_id"],
            )
            await sftp_queries.set_file_import(conn, file_id, created.id)
        self.file_id = file_id
        self.imported.append(created.id)
        return created.id, True, True

    async def _move(self, sftp: asyncssh.SFTPClient, remote: str, name: str, digest: str) -> None:
        processed = self.source["processed_folder"]
        target = posixpath.join(processed, name)
        if await sftp.exists(target):
            stem, ext = posixpath.splitext(name)
            target = posixpath.join(processed, f"{stem}.{digest[:12]}{ext}")
        try:
            await sftp.rename(remote, target)
        except asyncssh.SFTPNoSuchFile:
            if await sftp.exists(remote):
                raise
            # Gone already: another poll of the same source moved it.
        async with self.db.tenant(self.tenant_id) as conn:
            await sftp_queries.set_file_moved(conn, self.file_id)
