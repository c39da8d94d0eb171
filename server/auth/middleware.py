"""Who is calling: a bearer access token (JWT) or an integrator's API key.

A user's session is checked by every transaction the request opens (one statement with
BEGIN; see ``domain.db.require_session``), so signing out, deactivation, a new role or a
new password take effect on the very next request.
"""

from __future__ import annotations

import structlog
from litestar.connection import ASGIConnection
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from litestar.types import Receive, Scope, Send

from domain.actor import Actor
from domain.auth.tokens import API_KEY_PREFIX
from domain.db import require_session, session_scope
from domain.errors import Unauthenticated
from server.observability import request_id_of

log = structlog.get_logger("recoup.auth")


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with session_scope():
            await super().__call__(scope, receive, send)

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if not header:
            raise Unauthenticated("sign in, or send Authorization: Bearer <token or API key>")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the Authorization header must be 'Bearer <token or API key>'")
        resources = connection.app.state.resources
        request_id = request_id_of(connection.scope)
        if token.startswith(API_KEY_PREFIX):
            actor = await resources.auth.authenticate_api_key(token, request_id=request_id)
        else:
            claims = resources.access_tokens.check(token)
            actor = Actor(
                tenant_id=claims.tid,
                type="user",
                id=claims.user_id,
                role=claims.role,
                request_id=request_id,
                session=claims.session(),
            )
            require_session(actor)
        structlog.contextvars.bind_contextvars(
            tenant_id=actor.tenant_id, actor=f"{actor.type}:{actor.id}"
        )
        return AuthenticationResult(user=actor, auth=token)
