"""Users and agent groups (admins manage; supervisors look), and the agents on the floor
(supervisors set their status and capacity for them)."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from domain.actor import Role
from domain.pagination import Page
from domain.users.agents import AgentService
from domain.users.schemas import (
    Agent,
    AgentGroup,
    AgentGroupCreate,
    AgentGroupUpdate,
    AgentUpdate,
    ProfileUpdate,
    User,
    UserCreate,
    UserUpdate,
)
from domain.users.service import AgentGroupService, UserService
from server.auth.guards import ADMINS, EVERYONE, MANAGERS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId, QueryId


class UserController(Controller):
    path = "/users"
    tags = ["users"]
    dependencies = {"users": service(UserService)}

    @get("/me", opt=allow(*EVERYONE), summary="The signed-in user")
    async def me(self, users: NamedDependency[UserService]) -> User:
        return await users.get(users.actor.id)  # type: ignore[arg-type]

    @patch(
        "/me",
        opt=allow(*EVERYONE),
        summary="Change your own name, time zone, status or password",
    )
    async def update_me(
        self, users: NamedDependency[UserService], data: JSONBody[ProfileUpdate]
    ) -> User:
        return await users.update_profile(data)

    @post(
        "/me/sign-out-everywhere",
        opt=allow(*EVERYONE),
        status_code=HTTP_204_NO_CONTENT,
        summary="End every session of yours: this one, other devices and open sockets",
    )
    async def sign_out_me(self, users: NamedDependency[UserService]) -> None:
        await users.sign_out_everywhere(users.actor.id)  # type: ignore[arg-type]

    @get("/", opt=allow(*MANAGERS), summary="List users")
    async def list_users(
        self,
        users: NamedDependency[UserService],
        role: FromQuery[Role | None] = None,
        group_id: QueryId = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[User]:
        return await users.list(role=role, group_id=group_id, cursor=cursor, limit=limit)

    @post("/", opt=allow(*ADMINS), summary="Create a user")
    async def create(self, users: NamedDependency[UserService], data: JSONBody[UserCreate]) -> User:
        return await users.create(data)

    @get("/{user_id:int}", opt=allow(*MANAGERS), summary="One user")
    async def get_user(self, users: NamedDependency[UserService], user_id: PathId) -> User:
        return await users.get(user_id)

    @post(
        "/{user_id:int}/sign-out-everywhere",
        opt=allow(*ADMINS),
        status_code=HTTP_204_NO_CONTENT,
        summary="End every session of a user: access tokens, refresh tokens, open sockets",
    )
    async def sign_out(self, users: NamedDependency[UserService], user_id: PathId) -> None:
        await users.sign_out_everywhere(user_id)

    @patch("/{user_id:int}", opt=allow(*ADMINS), summary="Change a user")
    async def update(
        self,
        users: NamedDependency[UserService],
        user_id: PathId,
        data: JSONBody[UserUpdate],
    ) -> User:
        return await users.update(user_id, data)


class AgentGroupController(Controller):
    path = "/agent-groups"
    tags = ["agent groups"]
    dependencies = {"groups": service(AgentGroupService)}

    @get("/", opt=allow(*EVERYONE), summary="List agent groups")
    async def list_groups(
        self,
        groups: NamedDependency[AgentGroupService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[AgentGroup]:
        return groups.paged(await groups.list(), cursor, limit)

    @post("/", opt=allow(*ADMINS), summary="Create an agent group")
    async def create(
        self, groups: NamedDependency[AgentGroupService], data: JSONBody[AgentGroupCreate]
    ) -> AgentGroup:
        return await groups.create(data)

    @get("/{group_id:int}", opt=allow(*EVERYONE), summary="One agent group")
    async def get_group(
        self, groups: NamedDependency[AgentGroupService], group_id: PathId
    ) -> AgentGroup:
        return await groups.get(group_id)

    @patch("/{group_id:int}", opt=allow(*ADMINS), summary="Rename or describe an agent group")
    async def update(
        self,
        groups: NamedDependency[AgentGroupService],
        group_id: PathId,
        data: JSONBody[AgentGroupUpdate],
    ) -> AgentGroup:
        return await groups.update(group_id, data)

    @delete(
        "/{group_id:int}",
        opt=allow(*ADMINS),
        status_code=HTTP_204_NO_CONTENT,
        summary=(
            "Delete an agent group (its members keep working, without a group); refused "
            "while a task queue or task rule uses it"
        ),
    )
    async def remove(self, groups: NamedDependency[AgentGroupService], group_id: PathId) -> None:
        await groups.delete(group_id)


class AgentController(Controller):
    path = "/agents"
    tags = ["agents"]
    dependencies = {"agents": service(AgentService)}

    @get(
        "/",
        # 404: a group that is not the tenant's.
        opt={**allow(*MANAGERS), "problems": (404,)},
        summary="The active agents: status and since when, capacity, work held now",
    )
    async def list_agents(
        self,
        agents: NamedDependency[AgentService],
        group_id: QueryId = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Agent]:
        return agents.paged(await agents.list(group_id=group_id), cursor, limit)

    @get("/{user_id:int}", opt=allow(*MANAGERS), summary="One active agent")
    async def get_agent(self, agents: NamedDependency[AgentService], user_id: PathId) -> Agent:
        return await agents.get(user_id)

    @patch(
        "/{user_id:int}",
        opt=allow(*MANAGERS),
        summary="Set an agent's status or capacity on their behalf (audited, announced live)",
    )
    async def update(
        self,
        agents: NamedDependency[AgentService],
        user_id: PathId,
        data: JSONBody[AgentUpdate],
    ) -> Agent:
        return await agents.update(user_id, data)
