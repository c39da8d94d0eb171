"""SFTP sources: a tenant's servers that files to import arrive on, as its admins see and
change them.

The private key a source logs in with is sealed (Fernet, under a key derived from the
server's secret key, its own purpose: see ``domain.webhooks.signing``) before it is stored,
and no answer ever carries it, sealed or not: an admin can replace it, never read it back.
The server's own host key, when saved, is checked at every connection.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from typing import Annotated, Any, Literal

import asyncpg
import asyncssh
import msgspec

from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.db import Connection
from domain.errors import Conflict, InvalidInput, NotFound
from domain.imports import queries, sftp_queries
from domain.pagination import Page
from domain.service import Service
from domain.validation import Id
from domain.webhooks.signing import SecretBox
from domain.webhooks.urls import UrlPolicy, refusal, resolve

KEY_PURPOSE = b"recoup sftp source private keys"
# An Ed25519, ECDSA or RSA (up to 4096 bits) key in OpenSSH or PEM form fits.
MAX_KEY_CHARS = 4096

# Names and user names are checked in ``_values`` (Python's and JSON Schema's ``\s`` differ).
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Host = Annotated[
    str, msgspec.Meta(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9.:-]*$")
]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
User = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Folder = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Pattern = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^/]+$")]
PrivateKey = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_KEY_CHARS)]
HostKey = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


def key_box(server_secret: str) -> SecretBox:
    return SecretBox(server_secret, purpose=KEY_PURPOSE)


class SftpSource(msgspec.Struct, kw_only=True):
    """A source as answers show it: never its private key."""

    id: int
    name: str
    host: str
    port: int
    username: str
    host_key: str | None
    folder: str
    pattern: str
    mapping_id: int
    processed_folder: str
    enabled: bool
    last_polled_at: dt.datetime | None
    last_status: Literal["ok", "failed"] | None
    last_error: str | None
    last_files: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SftpSourceCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    host: Host
    username: User
    # An OpenSSH or PEM private key without a passphrase.
    private_key: PrivateKey
    folder: Folder
    processed_folder: Folder
    mapping_id: Id
    port: Port = 22
    # The server's public key ("ssh-ed25519 AAAA..."): when set, any other key is refused.
    host_key: HostKey | None = None
    pattern: Pattern = "*.csv"
    enabled: bool = True


class SftpSourceUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    host: Host | msgspec.UnsetType = msgspec.UNSET
    port: Port | msgspec.UnsetType = msgspec.UNSET
    username: User | msgspec.UnsetType = msgspec.UNSET
    private_key: PrivateKey | msgspec.UnsetType = msgspec.UNSET
    host_key: HostKey | msgspec.UnsetType | None = msgspec.UNSET
    folder: Folder | msgspec.UnsetType = msgspec.UNSET
    processed_folder: Folder | msgspec.UnsetType = msgspec.UNSET
    pattern: Pattern | msgspec.UnsetType = msgspec.UNSET
    mapping_id: Id | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


def to_source(row: asyncpg.Record) -> SftpSource:
    values = dict(row)
    values.pop("private_key_enc", None)
    return SftpSource(**values)


def check_private_key(text: str) -> str:
    try:
        asyncssh.import_private_key(text)
    except (asyncssh.KeyImportError, ValueError):
        raise InvalidInput(
            "not a private key Recoup can use: an OpenSSH or PEM private key without a passphrase",
            field="private_key",
        ) from None
    return text.strip() + "\n"


def check_host_key(text: str | None) -> str | None:
    if text is None:
        return None
    if "PRIVATE KEY" in text:
        # asyncssh would read the public half out of it, and it would be kept and shown.
        raise InvalidInput(
            "that is a private key: give the server's public host key "
            '(such as "ssh-ed25519 AAAA...")',
            field="host_key",
        )
    try:
        key = asyncssh.import_public_key(text.strip())
    except (asyncssh.KeyImportError, ValueError):
        raise InvalidInput(
            'not an SSH public key (such as "ssh-ed25519 AAAA...")', field="host_key"
        ) from None
    return key.export_public_key("openssh").decode().strip()


def _folder(text: str, field: str) -> str:
    if "\x00" in text or text != text.strip():
        raise InvalidInput("not a folder path", field=field)
    return posixpath.normpath(text)


class SftpSourceService(Service):
    """``allow_local``: whether sources may name loopback and private addresses (the
    deployment's ``WEBHOOKS_ALLOW_LOCAL``, as for webhooks)."""

    def __init__(
        self,
        conn: Connection,
        actor: Actor,
        clock: Clock = utcnow,
        *,
        box: SecretBox,
        allow_local: bool = False,
    ) -> None:
        super().__init__(conn, actor, clock)
        self.box = box
        self.allow_local = allow_local

    async def get(self, source_id: int) -> SftpSource:
        row = await sftp_queries.get_source(self.conn, source_id)
        if row is None:
            raise NotFound(f"SFTP source {source_id} not found")
        return to_source(row)

    async def list(self, *, cursor: str | None = None, limit: int = 50) -> Page[SftpSource]:
        rows = await sftp_queries.list_sources(self.conn)
        return self.paged([to_source(r) for r in rows], cursor, limit)

    async def create(self, data: SftpSourceCreate) -> SftpSource:
        values = await self._values(msgspec.structs.asdict(data))
        try:
            row = await sftp_queries.insert_source(self.conn, self.actor.tenant_id, values)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"an SFTP source named {data.name!r} exists", field="name") from None
        created = to_source(row)
        await self._audit("sftp_source.create", None, created)
        return created

    async def update(self, source_id: int, data: SftpSourceUpdate) -> SftpSource:
        before = await self.get(source_id)
        given = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        merged = {**msgspec.structs.asdict(before), **given}
        values = await self._values(merged, only=given.keys())
        try:
            row = await sftp_queries.update_source(self.conn, source_id, values)
        except asyncpg.UniqueViolationError:
            name = merged["name"]
            raise Conflict(f"an SFTP source named {name!r} exists", field="name") from None
        after = to_source(row)
        await self._audit("sftp_source.update", before, after, key_replaced="private_key" in given)
        return after

    async def delete(self, source_id: int) -> None:
        before = await self.get(source_id)
        await sftp_queries.delete_source(self.conn, source_id)
        await self._audit("sftp_source.delete", before, None)

    async def _values(self, data: dict[str, Any], only: Any = None) -> dict[str, Any]:
        """The columns to write: checked, the folders normalised, the private key sealed."""
        if (only is None or "mapping_id" in only) and await queries.get_preset(
            self.conn, data["mapping_id"]
        ) is None:
            raise InvalidInput(f"mapping {data['mapping_id']} not found", field="mapping_id")
        if data["name"] != data["name"].strip():
            raise InvalidInput("the name may not start or end with a space", field="name")
        if any(c.isspace() or c in ":@/" or not c.isprintable() for c in data["username"]):
            raise InvalidInput(
                "a user name has no spaces, control characters, ':', '@' or '/'",
                field="username",
            )
        folder = _folder(data["folder"], "folder")
        processed = _folder(data["processed_folder"], "processed_folder")
        if folder == processed:
            raise InvalidInput(
                "the processed folder must not be the folder files arrive in",
                field="processed_folder",
            )
        if only is None or "host" in only or "port" in only:
            await self._check_host(data["host"], data["port"])
        values = {**data, "folder": folder, "processed_folder": processed}
        values["host_key"] = check_host_key(data.get("host_key"))
        if "private_key" in data:
            values["private_key_enc"] = self.box.seal(check_private_key(data["private_key"]))
        values.pop("private_key", None)
        if only is not None:
            keep = {("private_key_enc" if k == "private_key" else k) for k in only}
            values = {k: v for k, v in values.items() if k in keep}
        return values

    async def _check_host(self, host: str, port: int) -> None:
        """The addresses ``host`` names now must be ones sources may reach, as each poll
        checks again before it connects (a name may resolve anew). A name that does not
        resolve yet is kept: the poll says so, and tries again."""
        try:
            addresses = await resolve(host, port, field="host")
        except InvalidInput:
            return
        refused = refusal(host, addresses, UrlPolicy(allow_local=self.allow_local))
        if refused is not None:
            raise InvalidInput(refused.replace("webhooks", "SFTP sources"), field="host")

    async def _audit(
        self,
        action: str,
        before: SftpSource | None,
        after: SftpSource | None,
        *,
        key_replaced: bool = False,
    ) -> None:
        as_dict: Any = msgspec.to_builtins
        after_dict = as_dict(after) if after else None
        if after_dict is not None and key_replaced:
            after_dict["private_key"] = "replaced"  # that it changed, never what it is
        await self.changes.record(
            action=action,
            entity_type="sftp_source",
            entity_id=(after or before).id,  # type: ignore[union-attr]
            before=as_dict(before) if before else None,
            after=after_dict,
            event_type=None,
        )
