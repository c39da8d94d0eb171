from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

# What each API key scope lets a key do; a ``:write`` scope grants its ``:read`` too.
SCOPE_DESCRIPTIONS: dict[str, str] = {
    "accounts:read": "read accounts, the tenant's settings and contact status; "
    "hear accounts on /ws",
    "accounts:write": "create and change accounts",
    "debtors:read": "read debtors",
    "debtors:write": "create and change debtors",
    "interactions:read": "read an account's calls, messages and notes",
    "interactions:write": "log calls, messages and notes",
    "payments:read": "read payments",
    "payments:write": "record, refund and reverse payments; make and send payment links",
    "promises:read": "read promises to pay",
    "promises:write": "record promises to pay",
    "tasks:read": "read tasks, queues and task rules",
    "tasks:write": "create, assign and complete tasks; manage queues and task rules",
    "webhooks:manage": "manage webhook endpoints and their deliveries",
}
SCOPES: frozenset[str] = frozenset(SCOPE_DESCRIPTIONS)
# A scope's name: decoded as any string, so that an unknown one is refused with the list of
# those there are (``ApiKeyService.create``), and documented as the enum it is.
ScopeName = Annotated[
    str,
    msgspec.Meta(
        max_length=100,
        extra_json_schema={
            "enum": sorted(SCOPE_DESCRIPTIONS),
            "description": "An API key scope:\n\n"
            + "\n".join(f"- `{name}`: {text}" for name, text in sorted(SCOPE_DESCRIPTIONS.items())),
            "x-enumDescriptions": dict(sorted(SCOPE_DESCRIPTIONS.items())),
        },
    ),
]


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class RefreshRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refresh_token: str | None = None


class TokenPair(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class ApiKey(msgspec.Struct, kw_only=True):
    id: int
    name: str
    prefix: str
    scopes: list[ScopeName]
    created_by: int | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scopes: Annotated[list[ScopeName], msgspec.Meta(min_length=1, max_length=50)]


class ApiKeyScope(msgspec.Struct, kw_only=True):
    name: ScopeName
    allows: str
    grants: list[ScopeName]  # what a key with it holds: itself, and for ``:write`` the ``:read``


class ApiKeyScopes(msgspec.Struct, kw_only=True):
    """Every scope a key can be given: the list ``POST /api-keys`` checks against."""

    scopes: list[ApiKeyScope]


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    """The only time the key itself is shown."""

    id: int
    name: str
    prefix: str
    scopes: list[ScopeName]
    created_at: dt.datetime
    key: str
