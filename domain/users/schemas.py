from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from domain.actor import Role
from domain.validation import Id

Status = Literal["available", "away", "offline"]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
PersonName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Capacity = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
GroupName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class User(msgspec.Struct, kw_only=True):
    """A person who signs in. ``last_login_at``: their last sign-in with a password;
    ``last_seen_at``: when the app was last open for them (one of their sockets, seen at
    connection and about every minute while open; read-only users are not tracked)."""

    id: int
    email: str
    name: str
    role: Role
    group_id: int | None
    status: Status
    capacity: int
    time_zone: str
    active: bool
    last_login_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class AgentStatus(msgspec.Struct, kw_only=True):
    """An agent's availability and how much work they may hold, as every ``agent.status``
    event carries it (a change of either is announced)."""

    id: int
    name: str
    status: Status
    group_id: int | None
    since: dt.datetime
    capacity: int


class Agent(msgspec.Struct, kw_only=True):
    """An agent as a supervisor runs the floor with them: availability, capacity and the
    work they hold now."""

    id: int
    name: str
    role: Role
    group_id: int | None
    status: Status
    since: dt.datetime
    capacity: int
    held: int


class AgentUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a supervisor may change of an agent on their behalf."""

    status: Status | Unset = UNSET
    capacity: Capacity | Unset = UNSET


class UserCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    name: PersonName
    password: Password
    role: Role = "collector"
    group_id: Id | None = None
    capacity: Capacity = 25
    time_zone: str = "UTC"


class UserUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: PersonName | Unset = UNSET
    role: Role | Unset = UNSET
    group_id: Id | Unset | None = UNSET
    capacity: Capacity | Unset = UNSET
    time_zone: str | Unset = UNSET
    active: bool | Unset = UNSET
    status: Status | Unset = UNSET
    password: Password | Unset = UNSET


class ProfileUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What anyone may change about themselves."""

    name: PersonName | Unset = UNSET
    time_zone: str | Unset = UNSET
    status: Status | Unset = UNSET
    password: Password | Unset = UNSET
    current_password: str | Unset = UNSET


class AgentGroup(msgspec.Struct, kw_only=True):
    id: int
    name: str
    description: str
    member_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class AgentGroupCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: GroupName
    description: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class AgentGroupUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: GroupName | Unset = UNSET
    description: Annotated[str, msgspec.Meta(max_length=2000)] | Unset = UNSET
