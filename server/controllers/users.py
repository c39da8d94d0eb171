"""Users and agent groups (admins manage; supervisors look)."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from domain.actor import Role
from domain.pagination import DEFAULT_LIMIT, Page
from domain.users.schemas import (
    AgentGroup,
    AgentGroupCreate,
    AgentGroupUpdate,
    ProfileUpdate,
    User,
    UserCreate,
    UserUpdate,
)
from domain.users.service import AgentGroupService, UserService
from server.auth.guards import ADMINS, EVERYONE, MANAGERS, allow
from server.controllers.deps import service


class UserController(Controller):
    path = "/users"
    tags = ["users"]
    dependencies = {"users": service(UserService)}

    @get("/me", guards=allow(*EVERYONE), summary="The signed-in user")
    async def me(self, users: UserService) -> User:
        return await users.get(users.actor.id)  # type: ignore[arg-type]

    @patch(
        "/me",
        guards=allow(*EVERYONE),
        summary="Change your own name, time zone, status or password",
    )
    async def update_me(self, users: UserService, data: ProfileUpdate) -> User:
        return await users.update_profile(data)

    @get("/", guards=allow(*MANAGERS), summary="List users")
    async def list_users(
        self,
        users: UserService,
        role: Role | None = None,
        group_id: int | None = None,
        cursor: str | None = None,
        limit: int = Parameter(default=DEFAULT_LIMIT, ge=1, le=200),
    ) -> Page[User]:
        return await users.list(role=role, group_id=group_id, cursor=cursor, limit=limit)

    @post("/", guards=allow(*ADMINS), summary="Create a user")
    async def create(self, users: UserService, data: UserCreate) -> User:
        return await users.create(data)

    @get("/{user_id:int}", guards=allow(*MANAGERS), summary="One user")
    async def get_user(self, users: UserService, user_id: int) -> User:
        return await users.get(user_id)

    @patch("/{user_id:int}", guards=allow(*ADMINS), summary="Change a user")
    async def update(self, users: UserService, user_id: int, data: UserUpdate) -> User:
        return await users.update(user_id, data)


class AgentGroupController(Controller):
    path = "/agent-groups"
    tags = ["agent groups"]
    dependencies = {"groups": service(AgentGroupService)}

    @get("/", guards=allow(*EVERYONE), summary="List agent groups")
    async def list_groups(self, groups: AgentGroupService) -> list[AgentGroup]:
        return await groups.list()

    @post("/", guards=allow(*ADMINS), summary="Create an agent group")
    async def create(self, groups: AgentGroupService, data: AgentGroupCreate) -> AgentGroup:
        return await groups.create(data)

    @get("/{group_id:int}", guards=allow(*EVERYONE), summary="One agent group")
    async def get_group(self, groups: AgentGroupService, group_id: int) -> AgentGroup:
        return await groups.get(group_id)

    @patch("/{group_id:int}", guards=allow(*ADMINS), summary="Rename or describe an agent group")
    async def update(
        self, groups: AgentGroupService, group_id: int, data: AgentGroupUpdate
    ) -> AgentGroup:
        return await groups.update(group_id, data)

    @delete(
        "/{group_id:int}",
        guards=allow(*ADMINS),
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete an agent group (its members keep working, without a group)",
    )
    async def remove(self, groups: AgentGroupService, group_id: int) -> None:
        await groups.delete(group_id)
