"""The audit log, for admins."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from domain.audit.service import AuditEntry, AuditService
from domain.errors import InvalidInput
from domain.pagination import Page
from server.auth.guards import ADMINS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, QueryId

# An RFC 3339 time with its offset, or empty (not given): Litestar's own datetime would also
# take a bare number as a Unix time.
INSTANT = (
    r"^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
Instant = Annotated[
    str | None,
    QueryParameter(pattern=INSTANT, description="a time with its offset: 2026-11-30T09:00:00Z"),
]
EntityType = Annotated[
    str | None, QueryParameter(max_length=40, description="e.g. account, api_key, user")
]


def instant(text: str | None, name: str) -> dt.datetime | None:
    """The time a query names (its form checked by ``INSTANT``; a day that does not exist
    is refused here)."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a time such as 2026-11-30T09:00:00Z", field=name
        ) from None


class AuditController(Controller):
    path = "/audit"
    tags = ["audit"]
    opt = allow(*ADMINS)
    dependencies = {"audit": service(AuditService)}

    @get(
        "/",
        summary="Who changed what, newest first",
        description=(
            "Filters: who (`actor_type`, with `actor_id` for one user or API key), what "
            "(`entity_type`, with `entity_id` for one entity) and when (`occurred_from` <= "
            "time < `occurred_before`, with their offset). An id without its type, an unknown "
            "actor type, a time without offset or an empty range: 422 naming the parameter."
        ),
    )
    async def list_entries(
        self,
        audit: NamedDependency[AuditService],
        actor_type: FromQuery[str | None] = None,
        actor_id: QueryId = None,
        entity_type: EntityType = None,
        entity_id: QueryId = None,
        occurred_from: Instant = None,
        occurred_before: Instant = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[AuditEntry]:
        return await audit.list(
            actor_type=actor_type,
            actor_id=actor_id,
            entity_type=entity_type,
            entity_id=entity_id,
            occurred_from=instant(occurred_from, "occurred_from"),
            occurred_before=instant(occurred_before, "occurred_before"),
            cursor=cursor,
            limit=limit,
        )
