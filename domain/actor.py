"""Who is acting: a signed-in user, an integrator's API key, the system, or a debtor's link."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

Role = Literal["admin", "supervisor", "collector", "readonly"]
ActorType = Literal["user", "api_key", "system", "debtor"]

ROLES: tuple[Role, ...] = ("admin", "supervisor", "collector", "readonly")


class Session(msgspec.Struct, frozen=True, kw_only=True):
    """The signed-in session a user acts under, as their access token names it."""

    sign_in: uuid.UUID  # the refresh-token family: revoked by signing out
    version: int  # the user's session version: bumped to end every session at once
    expires_at: int  # when the access token expires (Unix time)


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    tenant_id: int
    type: ActorType
    # A user's, an API key's or (for a debtor) the payment link's id.
    id: int | None = None
    role: Role | None = None
    scopes: frozenset[str] = frozenset()
    request_id: str | None = None
    # A debtor's payment link sees exactly one account.
    account_id: int | None = None
    # A signed-in user's session (None for API keys, debtors and the system).
    session: Session | None = None

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
