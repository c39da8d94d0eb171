"""Users (the people who sign in) and the agent groups collectors work in."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from channels import names
from domain.auth import queries as auth_queries
from domain.auth.passwords import check_password_strength, hash_password, verify_password
from domain.channel_access import announce_access_change
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.outbox import events
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.service import Service
from domain.users import presence, queries
from domain.users.schemas import (
    UNSET,
    AgentGroup,
    AgentGroupCreate,
    AgentGroupUpdate,
    AgentStatus,
    ProfileUpdate,
    User,
    UserCreate,
    UserUpdate,
)
from domain.validation import check_email, check_time_zone, name_text


def to_user(row: asyncpg.Record) -> User:
    return User(**{name: row[name] for name in User.__struct_fields__})


def to_group(row: asyncpg.Record) -> AgentGroup:
    return AgentGroup(**dict(row))


def _set(changes: dict[str, Any], name: str, value: Any) -> None:
    if value is not UNSET:
        changes[name] = value


class UserService(Service):
    async def get(self, user_id: int) -> User:
        row = await queries.get(self.conn, user_id)
        if row is None:
            raise NotFound(f"user {user_id} not found")
        return to_user(row)

    async def list(
        self,
        *,
        role: str | None = None,
        group_id: int | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[User]:
        check_limit(limit)
        after = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.list_users(
            self.conn, role=role, group_id=group_id, after_id=after, limit=limit + 1
        )
        return page(
            [to_user(r) for r in rows], limit, lambda u: (u.id,), tenant_id=self.actor.tenant_id
        )

    async def create(self, data: UserCreate) -> User:
        email = check_email(data.email)
        await check_password_strength(
            data.password, user_inputs=await self._guessable(email, data.name)
        )
        check_time_zone(data.time_zone)
        await self._check_group(data.group_id)
        if await queries.email_taken(self.conn, email):
            raise Conflict(f"a user with e-mail {email!r} already exists", field="email")
        values = {
            "email": email,
            "name": name_text(data.name),
            "password_hash": await hash_password(data.password),
            "role": data.role,
            "group_id": data.group_id,
            "capacity": data.capacity,
            "time_zone": data.time_zone,
        }
        try:
            row = await queries.insert(self.conn, self.actor.tenant_id, values)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"a user with e-mail {email!r} already exists", field="email") from None
        user = to_user(row)
        await self.changes.record(
            action="user.create",
            entity_type="user",
            entity_id=user.id,
            before=None,
            after=msgspec.to_builtins(user),
            event_type=events.USER_CREATED,
            channels=[names.agent(user.id), names.SETUP],
        )
        return user

    async def update(self, user_id: int, data: UserUpdate) -> User:
        current = await queries.get(self.conn, user_id, for_update=True)
        if current is None:
            raise NotFound(f"user {user_id} not found")
        before = to_user(current)
        changes: dict[str, Any] = {}
        if data.name is not UNSET:
            changes["name"] = name_text(data.name)
        _set(changes, "role", data.role)
        _set(changes, "capacity", data.capacity)
        _set(changes, "active", data.active)
        if data.group_id is not UNSET:
            await self._check_group(data.group_id)
            changes["group_id"] = data.group_id
        if data.time_zone is not UNSET:
            changes["time_zone"] = check_time_zone(data.time_zone)
        if data.password is not UNSET:
            await check_password_strength(
                data.password,
                user_inputs=await self._guessable(before.email, changes.get("name", before.name)),
            )
            changes["password_hash"] = await hash_password(data.password)
        if data.status is not UNSET:
            changes["status"] = data.status
        return await self.apply_changes(before, changes)

    async def update_profile(self, data: ProfileUpdate) -> User:
        """A user changing their own name, time zone, status or password."""
        if self.actor.id is None:
            raise Forbidden("only a signed-in user has a profile")
        current = await queries.get(self.conn, self.actor.id, for_update=True)
        if current is None:
            raise NotFound("your user no longer exists")
        before = to_user(current)
        changes: dict[str, Any] = {}
        if data.name is not UNSET:
            changes["name"] = name_text(data.name)
        if data.time_zone is not UNSET:
            changes["time_zone"] = check_time_zone(data.time_zone)
        _set(changes, "status", data.status)
        if data.password is not UNSET:
            stored = await queries.password_hash(self.conn, before.id)
            given = data.current_password if data.current_password is not UNSET else ""
            if not await verify_password(stored, given):
                raise InvalidInput("current password is wrong", field="current_password")
            await check_password_strength(
                data.password,
                user_inputs=await self._guessable(before.email, changes.get("name", before.name)),
            )
            changes["password_hash"] = await hash_password(data.password)
        return await self.apply_changes(before, changes)

    async def apply_changes(
        self, before: User, changes: dict[str, Any], action: str = "user.update"
    ) -> User:
        """Change the user (``changes`` by column; those equal to what is there are left
        out), audited as ``action`` and announced to whoever shows it."""
        changes = {
            k: v for k, v in changes.items() if k == "password_hash" or getattr(before, k) != v
        }
        if not changes:
            return before
        if (
            before.role == "admin"
            and before.active
            and (changes.get("role", "admin") != "admin" or changes.get("active") is False)
        ):
            await self._keep_an_admin(before.id)
        if "status" in changes:
            changes["status_changed_at"] = self.clock()
        row = await queries.update(self.conn, before.id, changes)
        after = to_user(row)
        if "password_hash" in changes or changes.get("active") is False:
            # A new password or a deactivation ends every session at once.
            await auth_queries.end_sessions(self.conn, after.id, self.clock())
        audit_after = msgspec.to_builtins(after)
        if "password_hash" in changes:
            audit_after["password_changed"] = True
        announced = []
        if set(changes) - {"status", "status_changed_at"}:
            user_data = msgspec.to_builtins(after)
            announced.append((events.USER_UPDATED, [names.agent(after.id), names.SETUP], user_data))
        if {"status", "capacity"} & set(changes):
            status = AgentStatus(
                id=after.id,
                name=after.name,
                status=after.status,
                group_id=after.group_id,
                since=row["status_changed_at"],
                capacity=after.capacity,
            )
            announced.append(presence.status_event(status))
        await self.changes.record_many(
            action=action,
            entity_type="user",
            changes=[(after.id, msgspec.to_builtins(before), audit_after)],
            events=announced,
        )
        if {"role", "active", "password_hash", "group_id"} & set(changes):
            await announce_access_change(self.changes, users=[after.id])
        return after

    async def sign_out_everywhere(self, user_id: int) -> None:
        """End every session of the user: each access token stops working on its next
        request, each sign-in's refresh token is revoked, each open socket is closed."""
        if await queries.get(self.conn, user_id, for_update=True) is None:
            raise NotFound(f"user {user_id} not found")
        await auth_queries.end_sessions(self.conn, user_id, self.clock())
        await self.changes.record(
            action="user.sign_out_everywhere",
            entity_type="user",
            entity_id=user_id,
            before=None,
            after=None,
            event_type=None,
        )
        await announce_access_change(self.changes, users=[user_id])

    async def _guessable(self, email: str, name: str) -> tuple[str, ...]:
        """What a password of this user must not be made of: their e-mail and name and
        their tenant's name and slug (the password policy adds the product's own words)."""
        tenant = await self.tenant()
        return (email, name, tenant.name, tenant.slug)

    async def _keep_an_admin(self, user_id: int) -> None:
        if not await queries.other_active_admins(self.conn, user_id):
            raise Conflict("the tenant must keep at least one active admin", field="role")

    async def _check_group(self, group_id: int | None) -> None:
        if group_id is not None and not await queries.group_exists(self.conn, group_id):
            raise InvalidInput(f"agent group {group_id} not found", field="group_id")


class AgentGroupService(Service):
    async def get(self, group_id: int) -> AgentGroup:
        row = await queries.get_group(self.conn, group_id)
        if row is None:
            raise NotFound(f"agent group {group_id} not found")
        return to_group(row)

    async def list(self) -> list[AgentGroup]:
        return [to_group(r) for r in await queries.list_groups(self.conn)]

    async def create(self, data: AgentGroupCreate) -> AgentGroup:
        name = name_text(data.name)
        if await queries.group_name_taken(self.conn, name):
            raise Conflict(f"an agent group named {name!r} already exists", field="name")
        group = await self.get(
            await queries.insert_group(self.conn, self.actor.tenant_id, name, data.description)
        )
        await self.changes.record(
            action="group.create",
            entity_type="agent_group",
            entity_id=group.id,
            before=None,
            after=msgspec.to_builtins(group),
            event_type=events.GROUP_CREATED,
            channels=[names.group(group.id), names.TENANT],
        )
        return group

    async def update(self, group_id: int, data: AgentGroupUpdate) -> AgentGroup:
        before = await self.get(group_id)
        changes: dict[str, Any] = {}
        if data.name is not UNSET:
            name = name_text(data.name)
            if await queries.group_name_taken(self.conn, name, other_than=group_id):
                raise Conflict(f"an agent group named {name!r} already exists", field="name")
            changes["name"] = name
        _set(changes, "description", data.description)
        if not changes:
            return before
        await queries.update_group(self.conn, group_id, changes)
        after = await self.get(group_id)
        await self.changes.record(
            action="group.update",
            entity_type="agent_group",
            entity_id=group_id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type=events.GROUP_UPDATED,
            channels=[names.group(group_id), names.TENANT],
        )
        return after

    async def delete(self, group_id: int) -> None:
        before = await self.get(group_id)
        used = await queries.group_users(self.conn, group_id)
        if used:
            raise Conflict(
                f"the group is used by {', '.join(used)}: give those another group first"
            )
        await queries.delete_group(self.conn, group_id)
        await self.changes.record(
            action="group.delete",
            entity_type="agent_group",
            entity_id=group_id,
            before=msgspec.to_builtins(before),
            after=None,
            event_type=events.GROUP_DELETED,
            channels=[names.group(group_id), names.TENANT],
            data={"id": group_id},
        )
