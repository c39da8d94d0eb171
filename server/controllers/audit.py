"""The audit log, for admins."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from domain.audit.service import AuditEntry, AuditService
from domain.pagination import Page
from server.auth.guards import ADMINS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, QueryId


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    opt = allow(*ADMINS)
    dependencies = {"audit": service(AuditService)}

    @get("/", summary="Who changed what, newest first")
    async def list_entries(
        self,
        audit: NamedDependency[AuditService],
        entity_type: FromQuery[str | None] = None,
        entity_id: QueryId = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[AuditEntry]:
        return await audit.list(
            entity_type=entity_type, entity_id=entity_id, cursor=cursor, limit=limit
        )
