"""What a web process holds open: the database pools, Redis, and the services built on them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from taskiq import AsyncBroker
from taskiq.decor import AsyncTaskiqDecoratedTask

from channels.backend import Backend
from channels.redis_backend import RedisBackend, connect_redis
from config.settings import Settings
from domain.auth.service import AuthService
from domain.db import Database, quiet_pool_retries
from server.access_watch import AccessWatch
from server.auth.access import AccessTokens
from server.auth.ratelimit import LoginLimiter, PayPageLimiter
from server.outage import DATABASE, REDIS, Outages
from server.presence import Presence
from server.pull_gate import PullGate


@dataclass
class Resources:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    auth: AuthService
    limiter: LoginLimiter
    pay_limiter: PayPageLimiter
    access_tokens: AccessTokens
    channels: Backend
    jobs: AsyncBroker
    presence: Presence = field(init=False)
    access_watch: AccessWatch = field(init=False)
    pull_gate: PullGate = field(init=False)
    outages: Outages = field(init=False)

    @classmethod
    async def open(cls, settings: Settings, *, application_name: str = "recoup-web") -> Resources:
        if settings.database_url is None or settings.redis_url is None:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be resolved before opening")
        quiet_pool_retries()
        db = await Database.from_settings(
            settings, application_name=application_name, min_size=settings.db_pool_min
        ).open()
        redis = connect_redis(settings.redis_url)
        channels = RedisBackend(settings.redis_url, history_size=settings.channel_history)
        await channels.start()
        from tasks.broker import make_broker

        jobs = make_broker(settings.redis_url, settings.jobs_queue)
        await jobs.startup()
        resources = cls(
            settings=settings,
            channels=channels,
            jobs=jobs,
            db=db,
            redis=redis,
            auth=AuthService(
                db,
                secret=settings.secret_key,
                access_ttl=settings.access_token_ttl,
                refresh_ttl=settings.refresh_token_ttl,
                max_age=settings.session_max_age,
            ),
            access_tokens=AccessTokens(settings.secret_key),
            limiter=LoginLimiter(
                redis,
                per_email=settings.login_limit_per_email,
                email_window=settings.login_limit_per_email_window,
                per_ip=settings.login_limit_per_ip,
                ip_window=settings.login_limit_per_ip_window,
            ),
            pay_limiter=PayPageLimiter(
                redis,
                limits={
                    "checkout": (
                        settings.pay_checkout_limit_per_link,
                        settings.pay_checkout_limit_per_ip,
                    ),
                    "ticket": (
                        settings.pay_ticket_limit_per_link,
                        settings.pay_ticket_limit_per_ip,
                    ),
                    "dispute": (
                        settings.pay_dispute_limit_per_link,
                        settings.pay_dispute_limit_per_ip,
                    ),
                },
                window=settings.pay_limit_window,
            ),
        )
        resources.pull_gate = PullGate(settings.pull_concurrency)
        resources.outages = Outages({DATABASE: db.ping, REDIS: redis.ping})
        resources.presence = Presence(db)
        resources.presence.outages = resources.outages
        resources.presence.start()
        resources.access_watch = AccessWatch(db, channels)
        resources.access_watch.outages = resources.outages
        resources.access_watch.start()
        return resources

    async def kick(self, task: AsyncTaskiqDecoratedTask[..., Any], *args: Any) -> None:
        """Hand a job to the workers."""
        await task.kicker().with_broker(self.jobs).kiq(*args)

    async def close(self) -> None:
        await self.outages.close()
        await self.access_watch.close()
        await self.presence.close()
        await self.jobs.shutdown()
        await self.channels.stop()
        await self.redis.aclose()
        await self.db.close()
