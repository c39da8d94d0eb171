"""Debtors over REST."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from domain.debtors.schemas import Debtor, DebtorCreate, DebtorUpdate
from domain.debtors.service import DebtorService
from domain.pagination import Page
from server.auth.guards import EVERYONE, MANAGERS, WORKERS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId, Search


class DebtorController(Controller):
    path = "/debtors"
    tags = ["debtors"]
    dependencies = {"debtors": service(DebtorService)}

    @get(
        "/",
        opt=allow(*EVERYONE, scope="debtors:read"),
        summary="Search debtors by name, e-mail or reference",
    )
    async def list_debtors(
        self,
        debtors: NamedDependency[DebtorService],
        q: Search = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Debtor]:
        return await debtors.list(q=q, cursor=cursor, limit=limit)

    @post("/", opt=allow(*MANAGERS, scope="debtors:write"), summary="Create a debtor")
    async def create(
        self, debtors: NamedDependency[DebtorService], data: JSONBody[DebtorCreate]
    ) -> Debtor:
        return await debtors.create(data)

    @get("/{debtor_id:int}", opt=allow(*EVERYONE, scope="debtors:read"), summary="One debtor")
    async def get_debtor(
        self, debtors: NamedDependency[DebtorService], debtor_id: PathId
    ) -> Debtor:
        return await debtors.get(debtor_id)

    @patch(
        "/{debtor_id:int}",
        opt=allow(*WORKERS, scope="debtors:write"),
        summary="Change a debtor's contact data or contact choices",
    )
    async def update(
        self,
        debtors: NamedDependency[DebtorService],
        debtor_id: PathId,
        data: JSONBody[DebtorUpdate],
    ) -> Debtor:
        return await debtors.update(debtor_id, data)
