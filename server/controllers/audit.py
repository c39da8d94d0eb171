"""The audit log, for admins."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import Parameter

from domain.audit.service import AuditEntry, AuditService
from domain.pagination import DEFAULT_LIMIT, Page
from server.auth.guards import ADMINS, allow
from server.controllers.deps import service


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    guards = allow(*ADMINS)
    dependencies = {"audit": service(AuditService)}

    @get("/", summary="Who changed what, newest first")
    async def list_entries(
        self,
        audit: AuditService,
        entity_type: str | None = None,
        entity_id: int | None = None,
        cursor: str | None = None,
        limit: int = Parameter(default=DEFAULT_LIMIT, ge=1, le=200),
    ) -> Page[AuditEntry]:
        return await audit.list(
            entity_type=entity_type, entity_id=entity_id, cursor=cursor, limit=limit
        )
