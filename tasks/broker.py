"""The one broker and the one scheduler.

Jobs are delivered at least once (Redis streams, acknowledged after the job, claimed
back within seconds from a consumer that died: ``tasks.stream``), so every job is
idempotent. Workers open their
database pools on start-up; the web process only kicks jobs, through a broker of its
own made by ``make_broker`` from its settings.
"""

from __future__ import annotations

import os

from taskiq import TaskiqEvents, TaskiqScheduler, TaskiqState
from taskiq.schedule_sources import LabelScheduleSource

from channels.redis_backend import RedisBackend
from config.settings import get_settings
from domain.db import Database, quiet_pool_retries
from tasks.stream import JobStream


def make_broker(url: str, queue: str = "recoup:jobs", *, wait_for_redis: bool = False) -> JobStream:
    return JobStream(
        url,
        queue,
        consumer_group_name="recoup-workers",
        # A new group starts from the beginning, so jobs kicked before any worker ran are kept.
        consumer_id="0",
        maxlen=100_000,
        # A job whose worker died runs again within seconds, on a timer (tasks.stream).
        wait_for_redis=wait_for_redis,
    )


def _redis_url() -> str:
    # `recoup worker` and `recoup scheduler` always set REDIS_URL; elsewhere this module is
    # imported only to name the jobs, and this broker never connects.
    return os.environ.get("REDIS_URL") or get_settings().redis_url or "redis://127.0.0.1:6379/0"


def _queue() -> str:
    # As the settings read it (JOBS_QUEUE), without making every importer read them all.
    return os.environ.get("JOBS_QUEUE", "").strip() or "recoup:jobs"


# The workers' and the scheduler's: they wait for Redis rather than exit without it.
broker = make_broker(_redis_url(), _queue(), wait_for_redis=True)
scheduler = TaskiqScheduler(broker=broker, sources=[LabelScheduleSource(broker)])


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def open_resources(state: TaskiqState) -> None:
    settings = get_settings()
    quiet_pool_retries()
    state.db = await Database.from_settings(
        settings, application_name="recoup-worker", min_size=1
    ).open()
    # For what jobs publish straight to the channels (the wallboard's snapshots).
    state.channels = RedisBackend(_redis_url(), history_size=settings.channel_history)


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def close_resources(state: TaskiqState) -> None:
    webhooks = getattr(state, "webhooks", None)
    if webhooks is not None:
        await webhooks.close()
    channels = getattr(state, "channels", None)
    if channels is not None:
        await channels.stop()
    db = getattr(state, "db", None)
    if db is not None:
        await db.close()
