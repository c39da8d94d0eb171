"""The one broker and the one scheduler.

Jobs are delivered at least once (Redis streams, acknowledged after the job, claimed
back from a consumer that died), so every job is idempotent. Workers open their
database pools on start-up; the web process only kicks jobs.
"""

from __future__ import annotations

import os

from taskiq import TaskiqEvents, TaskiqScheduler, TaskiqState
from taskiq.schedule_sources import LabelScheduleSource
from taskiq_redis import RedisStreamBroker

from domain.db import Database
from server.settings import get_settings


def _redis_url() -> str:
    url = get_settings().redis_url or os.environ.get("REDIS_URL")
    if not url:
        raise RuntimeError(
            "REDIS_URL is not set: run the worker through `recoup worker` (which starts the "
            "embedded Redis in development) or set REDIS_URL"
        )
    return url


broker = RedisStreamBroker(
    url=_redis_url(),
    queue_name="recoup:jobs",
    consumer_group_name="recoup-workers",
    # A new group starts from the beginning, so jobs kicked before any worker ran are kept.
    consumer_id="0",
    maxlen=100_000,
    # A job unacknowledged this long (its worker died) goes to another worker.
    idle_timeout=5 * 60 * 1000,
)
scheduler = TaskiqScheduler(broker=broker, sources=[LabelScheduleSource(broker)])


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def open_resources(state: TaskiqState) -> None:
    state.db = await get_settings().database(application_name="recoup-worker", min_size=1).open()


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def close_resources(state: TaskiqState) -> None:
    db: Database | None = getattr(state, "db", None)
    if db is not None:
        await db.close()
