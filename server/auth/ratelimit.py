"""Login attempts counted in Redis, per e-mail and per client address, atomically."""

from __future__ import annotations

import hashlib

import redis.asyncio as aioredis

from domain.errors import RateLimited

# INCR, start the window on the first hit, and report the count with the time left.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
"""


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
        self._hit = redis.register_script(_HIT)

    @staticmethod
    def _email_key(email: str) -> str:
        return "recoup:login:email:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()

    async def attempt(self, email: str, ip: str) -> None:
        """Count one attempt; refuse with 429 and Retry-After when either limit is passed."""
        ip_count, ip_ttl = await self._hit(keys=[f"recoup:login:ip:{ip}"], args=[self.ip_window])
        if ip_count > self.per_ip:
            raise RateLimited(
                "too many sign-in attempts from this address; wait and try again",
                retry_after=max(int(ip_ttl), 1),
            )
        email_count, email_ttl = await self._hit(
            keys=[self._email_key(email)], args=[self.email_window]
        )
        if email_count > self.per_email:
            raise RateLimited(
                "too many sign-in attempts for this e-mail; wait and try again",
                retry_after=max(int(email_ttl), 1),
            )

    async def succeeded(self, email: str) -> None:
        """A correct password clears the e-mail's count (the address keeps its own)."""
        await self.redis.delete(self._email_key(email))
