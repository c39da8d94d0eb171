"""Who is calling, and may they call this route: one step before any handler runs.

The caller is a bearer access token (JWT) or an integrator's API key; the route's rule is
the ``Allow`` it declares (``opt=allow(...)``, see ``server.auth.guards``). A route under
the API with no rule is refused: nothing is open by omission. A user's session is then
checked by every transaction the request opens (one statement with BEGIN; see
``domain.db.require_session``), so signing out, deactivation, a new role or a new password
take effect on the very next request. The request's tenant transaction lives inside this
step too (``server.transaction``).

A plain ASGI middleware rather than Litestar's authentication middleware and guards: the
same checks, without a copy of the route handler per guard and per request.
"""

from __future__ import annotations

import structlog
from litestar.types import ASGIApp, Receive, Scope, Send

from domain.actor import Actor
from domain.auth.tokens import API_KEY_PREFIX
from domain.db import end_session_check, require_session
from domain.errors import Forbidden, Unauthenticated
from server.auth.guards import rule_of
from server.observability import log_caller, request_id_of
from server.resources import Resources
from server.transaction import close_transaction_scope, transaction_scope

log = structlog.get_logger("recoup.auth")

_PUBLIC = "exclude_from_auth"


class AccessMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if handler is None or scope["type"] != "http" or handler.opt.get(_PUBLIC):
            await self.app(scope, receive, send)
            return
        rule = rule_of(handler.opt)
        resources = scope["app"].state.resources
        actor, token = await self.authenticate(scope, resources)
        if rule is None:
            raise Forbidden("this endpoint declares no access rule")
        rule.check(actor)
        scope["user"] = actor
        scope["auth"] = token
        checked = require_session(actor)
        extent = transaction_scope(resources.db, actor)
        try:
            await self.app(scope, receive, send)
        finally:
            end_session_check(checked)
            await close_transaction_scope(extent)

    @staticmethod
    async def authenticate(scope: Scope, resources: Resources) -> tuple[Actor, str]:
        header = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if not header:
            raise Unauthenticated("sign in, or send Authorization: Bearer <token or API key>")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the Authorization header must be 'Bearer <token or API key>'")
        request_id = request_id_of(scope)
        if token.startswith(API_KEY_PREFIX):
            actor = await resources.auth.authenticate_api_key(token, request_id=request_id)
        else:
            actor = resources.access_tokens.actor(token, request_id=request_id)
        log_caller(actor.tenant_id, f"{actor.type}:{actor.id}")
        return actor, token
