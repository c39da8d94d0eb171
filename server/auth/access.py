"""Checking access tokens fast: a verified token is remembered until it expires.

A browser sends the same token with every request for up to 15 minutes, so verifying the
signature once instead of on every request saves most of what authentication costs.
Whether the token's session still stands (signed out, deactivated, role or password
changed) is not cached: every transaction of the request checks it in the database, in
the statement that opens the transaction (``domain.db.require_session``).
"""

from __future__ import annotations

import time
from collections import OrderedDict

import msgspec

from domain.actor import Actor
from domain.auth.tokens import AccessClaims, decode_access_token
from domain.errors import Unauthenticated


class AccessTokens:
    def __init__(self, secret: str, *, max_entries: int = 20_000) -> None:
        self.secret = secret
        self.max_entries = max_entries
        self._verified: OrderedDict[str, tuple[AccessClaims, Actor]] = OrderedDict()

    def check(self, token: str) -> AccessClaims:
        return self._check(token)[0]

    def actor(self, token: str, *, request_id: str | None) -> Actor:
        """The user ``token`` names, acting in the request ``request_id``."""
        return msgspec.structs.replace(self._check(token)[1], request_id=request_id)

    def _check(self, token: str) -> tuple[AccessClaims, Actor]:
        verified = self._verified.get(token)
        if verified is None:
            claims = decode_access_token(self.secret, token)
            actor = Actor(
                tenant_id=claims.tid,
                type="user",
                id=claims.user_id,
                role=claims.role,
                session=claims.session(),
            )
            verified = self._verified[token] = (claims, actor)
            while len(self._verified) > self.max_entries:
                self._verified.popitem(last=False)
        elif verified[0].exp <= time.time():
            self._verified.pop(token, None)
            raise Unauthenticated("access token expired; refresh it")
        return verified
