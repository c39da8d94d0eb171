"""Promises to pay over REST: record one (or a plan of instalments), list an account's."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from domain.actor import Actor
from domain.pagination import Page
from domain.payments.schemas import source_of
from domain.promises.schemas import Promise, PromiseCreate
from domain.promises.service import PromiseService
from server.auth.guards import EVERYONE, WORKERS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId


class PromiseController(Controller):
    path = "/accounts/{account_id:int}/promises"
    tags = ["payments"]
    dependencies = {"promises": service(PromiseService)}

    @post(
        "/",
        opt=allow(*WORKERS, scope="promises:write"),
        summary="Record a promise to pay, or a plan of instalments",
    )
    async def make_promise(
        self,
        promises: NamedDependency[PromiseService],
        actor: NamedDependency[Actor],
        account_id: PathId,
        data: JSONBody[PromiseCreate],
    ) -> list[Promise]:
        return await promises.make(account_id, data, source=source_of(actor))

    @get(
        "/",
        opt=allow(*EVERYONE, scope="promises:read"),
        summary="Promises on an account",
    )
    async def list_promises(
        self,
        promises: NamedDependency[PromiseService],
        account_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Promise]:
        return promises.paged(await promises.list(account_id), cursor, limit)
