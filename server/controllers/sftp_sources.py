"""SFTP sources over REST: the servers a tenant's files to import arrive on. Admins only;
every change audited; a source's private key is taken, sealed, and never answered."""

# No ``from __future__ import annotations``: Litestar reads these annotations at runtime.
from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from domain.imports.sftp import (
    SftpSource,
    SftpSourceCreate,
    SftpSourceService,
    SftpSourceUpdate,
    key_box,
)
from domain.pagination import Page
from domain.webhooks.signing import SecretBox
from server.auth.guards import ADMINS, allow
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId
from server.transaction import request_transaction

_BOXES: dict[str, SecretBox] = {}


async def provide_sources(request: Request[Any, Any, Any]) -> SftpSourceService:
    settings = request.app.state.resources.settings
    secret = settings.secret_key
    box = _BOXES.get(secret)
    if box is None:
        box = _BOXES[secret] = key_box(secret)
    transaction = request_transaction()
    return SftpSourceService(
        await transaction.connection(),
        transaction.actor,
        box=box,
        allow_local=settings.webhooks_allow_local,
    )


class SftpSourceController(Controller):
    path = "/sftp-sources"
    tags = ["imports"]
    opt = allow(*ADMINS)
    dependencies = {"sources": Provide(provide_sources)}

    @get("/", summary="The tenant's SFTP sources (never their private keys), with their last poll")
    async def list_sources(
        self,
        sources: NamedDependency[SftpSourceService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[SftpSource]:
        return await sources.list(cursor=cursor, limit=limit)

    @post(
        "/",
        summary="Add an SFTP source, polled every 5 minutes while enabled",
        description=(
            "`private_key`: an OpenSSH or PEM private key without a passphrase, stored "
            "encrypted and never returned (422 if it cannot be read). `host_key`: the "
            "server's public key; when set, a server showing another is refused. "
            "`mapping_id`: one of the tenant's saved mappings (422 if not). 409 if the name "
            "is taken."
        ),
    )
    async def create(
        self, sources: NamedDependency[SftpSourceService], data: JSONBody[SftpSourceCreate]
    ) -> SftpSource:
        return await sources.create(data)

    @get("/{source_id:int}", summary="One SFTP source and its last poll")
    async def get_source(
        self, sources: NamedDependency[SftpSourceService], source_id: PathId
    ) -> SftpSource:
        return await sources.get(source_id)

    @patch(
        "/{source_id:int}",
        summary="Change, enable or disable an SFTP source (a new private_key replaces the old)",
    )
    async def update(
        self,
        sources: NamedDependency[SftpSourceService],
        source_id: PathId,
        data: JSONBody[SftpSourceUpdate],
    ) -> SftpSource:
        return await sources.update(source_id, data)

    @delete("/{source_id:int}", status_code=204, summary="Remove an SFTP source")
    async def remove(self, sources: NamedDependency[SftpSourceService], source_id: PathId) -> None:
        await sources.delete(source_id)
