from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Scope = Literal[
    "accounts:read",
    "accounts:write",
    "debtors:read",
    "debtors:write",
    "interactions:read",
    "interactions:write",
    "payments:read",
    "payments:write",
    "promises:read",
    "promises:write",
    "tasks:read",
    "tasks:write",
    "webhooks:manage",
]
SCOPES: frozenset[str] = frozenset(Scope.__args__)  # type: ignore[attr-defined]


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
    scopes: list[str]
    created_by: int | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1)]


class ApiKeyCreated(msgspec.Struct, kw_only=True):
    """The only time the key itself is shown."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    key: str
