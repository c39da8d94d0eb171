"""Checking access tokens fast: a verified token is remembered until it expires, and its
revocation is looked up in Redis at most every few seconds per token.

A browser sends the same token with every request for up to 15 minutes, so verifying the
signature once and asking Redis once per interval, instead of on every request, saves
most of what authentication costs. Signing out takes effect at once in the process that
handled it and within ``recheck_seconds`` everywhere else.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from domain.auth.tokens import AccessClaims, decode_access_token
from domain.errors import Unauthenticated
from server.auth import revocation

log = structlog.get_logger("recoup.auth")


class AccessTokens:
    def __init__(
        self,
        secret: str,
        redis: aioredis.Redis,
        *,
        recheck_seconds: float = 5.0,
        max_entries: int = 20_000,
    ) -> None:
        self.secret = secret
        self.redis = redis
        self.recheck_seconds = recheck_seconds
        self.max_entries = max_entries
        # token -> (claims, monotonic time of the last revocation check)
        self._verified: OrderedDict[str, tuple[AccessClaims, float]] = OrderedDict()
        self._revoked: set[str] = set()

    async def check(self, token: str) -> AccessClaims:
        now = time.monotonic()
        entry = self._verified.get(token)
        if entry is None:
            claims = decode_access_token(self.secret, token)
            checked = 0.0
        else:
            claims, checked = entry
            if claims.exp <= time.time():
                self._verified.pop(token, None)
                raise Unauthenticated("access token expired; refresh it")
        if claims.jti in self._revoked:
            raise Unauthenticated("this access token was signed out")
        if now - checked >= self.recheck_seconds:
            try:
                revoked = await revocation.is_revoked(self.redis, claims.jti)
            except RedisError as exc:
                # REST keeps working while Redis is away; sign-out takes effect when it is back.
                log.warning("token revocation check skipped", error=str(exc))
                revoked = False
            else:
                checked = now
            if revoked:
                self._forget(token, claims)
                raise Unauthenticated("this access token was signed out")
        self._verified[token] = (claims, checked)
        self._verified.move_to_end(token)
        while len(self._verified) > self.max_entries:
            self._verified.popitem(last=False)
        return claims

    async def revoke(self, token: str) -> None:
        """Sign a token out: everywhere through Redis, here at once."""
        try:
            claims = decode_access_token(self.secret, token)
        except Unauthenticated:
            return  # expired or not ours: nothing to revoke
        self._forget(token, claims)
        await revocation.revoke(self.redis, claims.jti, claims.exp - int(time.time()))

    def _forget(self, token: str, claims: AccessClaims) -> None:
        self._verified.pop(token, None)
        self._revoked.add(claims.jti)
        if len(self._revoked) > self.max_entries:
            self._revoked.clear()  # they expire within the access-token lifetime anyway
