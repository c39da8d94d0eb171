"""The supervisor's figures over REST."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from domain.stats.schemas import Realtime
from domain.stats.service import StatsService
from server.auth.guards import MANAGERS, allow
from server.controllers.deps import service
from server.controllers.params import QueryId


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
