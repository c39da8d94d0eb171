"""Attempts counted in Redis per key (an e-mail, a client address, a payment link), atomically.

The client address is the peer uvicorn reports: forwarded headers are believed only from the
proxies in ``FORWARDED_ALLOW_IPS`` (see ``recoup web``), so a caller cannot pick its own.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import redis.asyncio as aioredis
from litestar import Request

from domain.errors import RateLimited

# INCR, start the window on the first hit, and report the count with the time left.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class WindowCounter:
    """Fixed windows: each key counts its hits until its window ends."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, *, limit: int, window: int, refusal: str) -> None:
        """Count one hit; past ``limit`` in the window, 429 with the seconds left to wait."""
        count, ttl = await self._hit(keys=[key], args=[window])
        if count > limit:
            raise RateLimited(refusal, retry_after=max(int(ttl), 1))


class LoginLimiter:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        per_email: int,
        email_window: int,
        per_ip: int,
        ip_window: int,
    ) -> None:
        self.redis = redis
        self.per_email = per_email
        self.email_window = email_window
        self.per_ip = per_ip
        self.ip_window = ip_window
        self._counter = WindowCounter(redis)

    @staticmethod
    def _email_key(email: str) -> str:
        return "recoup:login:email:" + _digest(email.strip().lower())

    async def attempt(self, email: str, ip: str) -> None:
        """Count one attempt; refuse with 429 and Retry-After when either limit is passed."""
        await self._counter.hit(
            f"recoup:login:ip:{ip}",
            limit=self.per_ip,
            window=self.ip_window,
            refusal="too many sign-in attempts from this address; wait and try again",
        )
        await self._counter.hit(
            self._email_key(email),
            limit=self.per_email,
            window=self.email_window,
            refusal="too many sign-in attempts for this e-mail; wait and try again",
        )

    async def succeeded(self, email: str) -> None:
        """A correct password clears the e-mail's count (the address keeps its own)."""
        await self.redis.delete(self._email_key(email))


PayAction = Literal["checkout", "ticket", "dispute"]


class PayPageLimiter:
    """The debtor's page has no login: what it may start is limited per address and per link."""

    def __init__(
        self, redis: aioredis.Redis, *, limits: dict[PayAction, tuple[int, int]], window: int
    ) -> None:
        """``limits``: per action, (per link, per address) within ``window`` seconds."""
        self.limits = limits
        self.window = window
        self._counter = WindowCounter(redis)

    async def from_address(self, action: PayAction, ip: str) -> None:
        await self._counter.hit(
            f"recoup:pay:{action}:ip:{ip}",
            limit=self.limits[action][1],
            window=self.window,
            refusal="too many requests from this address; wait a few minutes and try again",
        )

    async def on_link(self, action: PayAction, token: str) -> None:
        await self._counter.hit(
            f"recoup:pay:{action}:link:{_digest(token)}",
            limit=self.limits[action][0],
            window=self.window,
            refusal="too many attempts on this payment link; wait a few minutes and try again",
        )
