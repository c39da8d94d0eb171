"""Who is acting: a signed-in user, an integrator's API key, the system, or a debtor's link."""

from __future__ import annotations

from typing import Literal

import msgspec

Role = Literal["admin", "supervisor", "collector", "readonly"]
ActorType = Literal["user", "api_key", "system", "debtor"]

ROLES: tuple[Role, ...] = ("admin", "supervisor", "collector", "readonly")


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: int
    type: ActorType
    id: int | None = None
    role: Role | None = None
    scopes: frozenset[str] = frozenset()
    request_id: str | None = None
    # A debtor's payment link sees exactly one account.
    account_id: int | None = None

    @property
    def is_user(self) -> bool:
        return self.type == "user"

    @property
    def sees_whole_tenant(self) -> bool:
        """Admins, supervisors, read-only users and API keys see every account of the tenant;
        collectors only those they own or have work on."""
        return not (self.type == "user" and self.role == "collector")

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def system_actor(tenant_id: int) -> Actor:
    return Actor(tenant_id=tenant_id, type="system")
