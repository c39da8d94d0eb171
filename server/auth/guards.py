"""Who may call a route: roles for people, scopes for API keys. Every API route declares
one rule, as ``opt=allow(...)``; ``server.auth.middleware`` applies it to the caller before
any handler runs, and refuses a route that declares none."""

from __future__ import annotations

from typing import Any

from domain.actor import Actor, Role
from domain.errors import Forbidden

EVERYONE: tuple[Role, ...] = ("admin", "supervisor", "collector", "readonly")
WORKERS: tuple[Role, ...] = ("admin", "supervisor", "collector")
MANAGERS: tuple[Role, ...] = ("admin", "supervisor")
ADMINS: tuple[Role, ...] = ("admin",)

# The key of a route's rule in its ``opt``.
RULE = "allow"


class Allow:
    """A route's rule: users with one of ``roles``; API keys holding ``scope`` (none if no
    scope)."""

    __slots__ = ("roles", "scope")

    def __init__(self, *roles: Role, scope: str | None = None) -> None:
        self.roles = frozenset(roles)
        self.scope = scope

    def check(self, actor: Actor) -> None:
        """Raise ``Forbidden`` unless ``actor`` may call the route."""
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


def allow(*roles: Role, scope: str | None = None) -> dict[str, Any]:
    """A route's ``opt`` naming who may call it."""
    return {RULE: Allow(*roles, scope=scope)}


def rule_of(opt: dict[str, Any]) -> Allow | None:
    """The rule a route declares in its ``opt``, if any."""
    rule = opt.get(RULE)
    return rule if isinstance(rule, Allow) else None
