"""API keys for integrators: created and revoked by admins, shown once."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from domain.auth.schemas import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyScopes
from domain.auth.service import ApiKeyService
from domain.pagination import Page
from server.auth.guards import ADMINS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api keys"]
    opt = allow(*ADMINS)
    dependencies = {"keys": service(ApiKeyService)}

    @get("/", summary="List API keys (never the keys themselves)")
    async def list_keys(
        self,
        keys: NamedDependency[ApiKeyService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[ApiKey]:
        return keys.paged(await keys.list(), cursor, limit)

    @get("/scopes", summary="The scopes a key can be given, with what each allows")
    async def scopes(self) -> ApiKeyScopes:
        return ApiKeyService.scopes()

    @post("/", summary="Create an API key; the response is the only time the key is shown")
    async def create(
        self, keys: NamedDependency[ApiKeyService], data: JSONBody[ApiKeyCreate]
    ) -> ApiKeyCreated:
        return await keys.create(data)

    @get("/{key_id:int}", summary="One API key")
    async def get_key(self, keys: NamedDependency[ApiKeyService], key_id: PathId) -> ApiKey:
        return await keys.get(key_id)

    @delete("/{key_id:int}", status_code=200, summary="Revoke an API key")
    async def revoke(self, keys: NamedDependency[ApiKeyService], key_id: PathId) -> ApiKey:
        return await keys.revoke(key_id)
