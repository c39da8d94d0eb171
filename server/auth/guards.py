"""Who may call a route: roles for people, scopes for API keys. Every API route declares one."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from domain.actor import Actor, Role
from domain.errors import Forbidden

EVERYONE: tuple[Role, ...] = ("admin", "supervisor", "collector", "readonly")
WORKERS: tuple[Role, ...] = ("admin", "supervisor", "collector")
MANAGERS: tuple[Role, ...] = ("admin", "supervisor")
ADMINS: tuple[Role, ...] = ("admin",)


class Allow:
    """A guard: users with one of ``roles``; API keys holding ``scope`` (none if no scope)."""

    def __init__(self, *roles: Role, scope: str | None = None) -> None:
        self.roles = frozenset(roles)
        self.scope = scope

    # A coroutine, so that Litestar calls it in the loop: a plain function would be sent to
    # a worker thread on every request.
    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        actor: Actor = connection.user
        if actor.type == "api_key":
            if self.scope is None:
                raise Forbidden("API keys cannot use this endpoint; sign in as a user")
            if not actor.has_scope(self.scope):
                raise Forbidden(f"this API key lacks the {self.scope!r} scope", scope=self.scope)
            return
        if actor.role not in self.roles:
            allowed = ", ".join(sorted(self.roles))
            raise Forbidden(f"a {actor.role} may not do this (allowed: {allowed})")

    def __repr__(self) -> str:
        return f"Allow({', '.join(sorted(self.roles))}, scope={self.scope!r})"


def allow(*roles: Role, scope: str | None = None) -> list[Allow]:
    return [Allow(*roles, scope=scope)]
