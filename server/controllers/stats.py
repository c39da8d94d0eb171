"""The supervisor's figures over REST."""

# No ``from __future__ import annotations``: Litestar reads the ``from`` alias at runtime.
import datetime as dt
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from domain.stats.schemas import Cumulative, Realtime
from domain.stats.service import StatsService
from server.auth.guards import MANAGERS, allow
from server.controllers.deps import service
from server.controllers.params import QueryId

From = Annotated[
    dt.datetime | None,
    QueryParameter(
        name="from",
        description="start of the period (included), ISO 8601 with an offset; "
        "15 minutes before `to` by default, at most 30 days ago",
    ),
]
To = Annotated[
    dt.datetime | None,
    QueryParameter(
        description="end of the period (excluded), ISO 8601 with an offset; now by default"
    ),
]


class StatsController(Controller):
    path = "/stats"
    tags = ["stats"]
    dependencies = {"stats": service(StatsService)}

    @get(
        "/realtime",
        # 404: a group or queue that is not the tenant's.
        opt={**allow(*MANAGERS), "problems": (404,)},
        summary="Today's figures: money, promises, calls, work, queues and agents",
    )
    async def realtime(
        self,
        stats: NamedDependency[StatsService],
        group_id: QueryId = None,
        queue_id: QueryId = None,
    ) -> Realtime:
        return await stats.realtime(group_id=group_id, queue_id=queue_id)

    @get(
        "/cumulative",
        # 404: a group or queue that is not the tenant's; 422: a period out of bounds.
        opt={**allow(*MANAGERS), "problems": (404,)},
        summary="A period's figures: money (and per hour), promises, calls, work and agents",
    )
    async def cumulative(
        self,
        stats: NamedDependency[StatsService],
        from_: From = None,
        to: To = None,
        group_id: QueryId = None,
        queue_id: QueryId = None,
    ) -> Cumulative:
        return await stats.cumulative(start=from_, end=to, group_id=group_id, queue_id=queue_id)
