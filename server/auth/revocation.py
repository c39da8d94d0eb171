"""Signed-out access tokens, remembered in Redis until they would have expired anyway."""

from __future__ import annotations

import redis.asyncio as aioredis

_KEY = "recoup:revoked-jti:{}"


async def revoke(redis: aioredis.Redis, jti: str, seconds_left: int) -> None:
    if seconds_left > 0:
        await redis.set(_KEY.format(jti), b"1", ex=seconds_left)


async def is_revoked(redis: aioredis.Redis, jti: str) -> bool:
    return bool(await redis.exists(_KEY.format(jti)))
