"""The one broker and the one scheduler.

Jobs are delivered at least once (Redis streams, acknowledged after the job, claimed
back from a consumer that died), so every job is idempotent. Workers open their
database pools on start-up; the web process only kicks jobs, through a broker of its
own made by ``make_broker`` from its settings.
"""

from __future__ import annotations

import os

from taskiq import TaskiqEvents, TaskiqScheduler, TaskiqState
from taskiq.schedule_sources import LabelScheduleSource
from taskiq_redis import RedisStreamBroker

from channels.redis_backend import RedisBackend
from config.settings import get_settings
from domain.db import Database


def make_broker(url: str, queue: str = "recoup:jobs") -> RedisStreamBroker:
    return RedisStreamBroker(
        url=url,
        queue_name=queue,
        consumer_group_name="recoup-workers",
        # A new group starts from the beginning, so jobs kicked before any worker ran are kept.
        consumer_id="0",
        maxlen=100_000,
        # A job unacknowledged this long (its worker died) goes to another worker, at its next
        # fetch that brings a job. Jobs that must recover sooner keep their own, shorter
        # lease (webhook deliveries: WEBHOOKS_LEASE_SECONDS) and a scheduled job that takes
        # over what a dead worker held.
        idle_timeout=5 * 60 * 1000,
        # The lock around that claim expires: a worker killed while holding it must not stop
        # every other worker from claiming ever after.
        unacknowledged_lock_timeout=10,
    )


def _redis_url() -> str:
    # `recoup worker` and `recoup scheduler` always set REDIS_URL; elsewhere this module is
    # imported only to name the jobs, and this broker never connects.
    return os.environ.get("REDIS_URL") or get_settings().redis_url or "redis://127.0.0.1:6379/0"


def _queue() -> str:
    # As the settings read it (JOBS_QUEUE), without making every importer read them all.
    return os.environ.get("JOBS_QUEUE", "").strip() or "recoup:jobs"


broker = make_broker(_redis_url(), _queue())
scheduler = TaskiqScheduler(broker=broker, sources=[LabelScheduleSource(broker)])


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def open_resources(state: TaskiqState) -> None:
    settings = get_settings()
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
