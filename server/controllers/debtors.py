"""Debtors over REST."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import Parameter

from domain.debtors.schemas import Debtor, DebtorCreate, DebtorUpdate
from domain.debtors.service import DebtorService
from domain.pagination import DEFAULT_LIMIT, Page
from server.auth.guards import EVERYONE, MANAGERS, WORKERS, allow
from server.controllers.deps import service


class DebtorController(Controller):
    path = "/debtors"
    tags = ["debtors"]
    dependencies = {"debtors": service(DebtorService)}

    @get("/", guards=allow(*EVERYONE, scope="debtors:read"), summary="Search debtors")
    async def list_debtors(
        self,
        debtors: DebtorService,
        q: str | None = Parameter(
            default=None, max_length=200, description="name, e-mail or reference, by prefix"
        ),
        cursor: str | None = None,
        limit: int = Parameter(default=DEFAULT_LIMIT, ge=1, le=200),
    ) -> Page[Debtor]:
        return await debtors.list(q=q, cursor=cursor, limit=limit)

    @post("/", guards=allow(*MANAGERS, scope="debtors:write"), summary="Create a debtor")
    async def create(self, debtors: DebtorService, data: DebtorCreate) -> Debtor:
        return await debtors.create(data)

    @get("/{debtor_id:int}", guards=allow(*EVERYONE, scope="debtors:read"), summary="One debtor")
    async def get_debtor(self, debtors: DebtorService, debtor_id: int) -> Debtor:
        return await debtors.get(debtor_id)

    @patch(
        "/{debtor_id:int}",
        guards=allow(*WORKERS, scope="debtors:write"),
        summary="Change a debtor's contact data or contact choices",
    )
    async def update(self, debtors: DebtorService, debtor_id: int, data: DebtorUpdate) -> Debtor:
        return await debtors.update(debtor_id, data)
