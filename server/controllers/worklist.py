"""Task queues, task rules and tasks over REST.

Changes that may let waiting work move (a rule run, finished or handed-back work, a new
task) are events; the relay hands them to an assignment job once they are committed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from domain.actor import Actor
from domain.pagination import Page
from domain.worklist.bulk import TaskBatchService
from domain.worklist.conditions import describe
from domain.worklist.pull import NextTask
from domain.worklist.queues import QueueService
from domain.worklist.rules import RuleService
from domain.worklist.schemas import (
    Queue,
    QueueCreate,
    QueueUpdate,
    Rule,
    RuleCreate,
    RulePreview,
    RulePreviewRequest,
    RuleRun,
    RuleUpdate,
    Task,
    TaskAssign,
    TaskBatch,
    TaskBatchAssign,
    TaskBatchCancel,
    TaskBatchMove,
    TaskCancel,
    TaskComplete,
    TaskCreate,
    TaskFilter,
    TaskPage,
    TaskSort,
    TaskStatus,
    TaskType,
)
from domain.worklist.tasks import MINE_MAX, TaskService
from server.auth.guards import EVERYONE, MANAGERS, WORKERS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId, QueryId
from server.pull_gate import pull_next

DEBTOR_FIELDS_NEED_ACCOUNTS = (
    "Conditions on `debtor.*` fields ask about debtors (a count answers them): they need "
    "the permission to read accounts too, so an API key without `accounts:read` sending "
    "one is refused (403)."
)


class QueueController(Controller):
    path = "/queues"
    tags = ["worklist"]
    dependencies = {"queues": service(QueueService)}

    @get(
        "/",
        opt=allow(*EVERYONE, scope="tasks:read"),
        summary="Task queues and what waits in them",
    )
    async def list_queues(
        self,
        queues: NamedDependency[QueueService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Queue]:
        return queues.paged(await queues.list(), cursor, limit)

    @post("/", opt=allow(*MANAGERS, scope="tasks:write"), summary="Create a task queue")
    async def create(
        self, queues: NamedDependency[QueueService], data: JSONBody[QueueCreate]
    ) -> Queue:
        return await queues.create(data)

    @get("/{queue_id:int}", opt=allow(*EVERYONE, scope="tasks:read"), summary="One queue")
    async def get_queue(self, queues: NamedDependency[QueueService], queue_id: PathId) -> Queue:
        return await queues.get(queue_id)

    @patch("/{queue_id:int}", opt=allow(*MANAGERS, scope="tasks:write"), summary="Change a queue")
    async def update(
        self,
        queues: NamedDependency[QueueService],
        queue_id: PathId,
        data: JSONBody[QueueUpdate],
    ) -> Queue:
        return await queues.update(queue_id, data)

    @delete(
        "/{queue_id:int}",
        opt=allow(*MANAGERS, scope="tasks:write"),
        summary="Delete an empty queue",
    )
    async def remove(self, queues: NamedDependency[QueueService], queue_id: PathId) -> None:
        await queues.delete(queue_id)


class RuleController(Controller):
    path = "/rules"
    tags = ["worklist"]
    dependencies = {"rules": service(RuleService)}

    @get("/", opt=allow(*MANAGERS, scope="tasks:read"), summary="Task rules")
    async def list_rules(
        self,
        rules: NamedDependency[RuleService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Rule]:
        return rules.paged(await rules.list(), cursor, limit)

    @get(
        "/fields",
        opt=allow(*MANAGERS, scope="tasks:read"),
        summary="The fields and operators rule conditions may use",
    )
    async def fields(self) -> dict[str, list[str]]:
        return describe()

    @post(
        "/",
        opt=allow(*MANAGERS, scope="tasks:write"),
        summary="Create a task rule",
        description=DEBTOR_FIELDS_NEED_ACCOUNTS,
    )
    async def create(self, rules: NamedDependency[RuleService], data: JSONBody[RuleCreate]) -> Rule:
        return await rules.create(data)

    @post(
        "/preview",
        opt=allow(*MANAGERS, scope="tasks:read"),
        status_code=HTTP_200_OK,
        summary="How many accounts unsaved conditions match, and a sample (that needs "
        "accounts:read); changes nothing",
        description=(
            "The count needs `tasks:read`. The sample shows accounts (ids, debtors' names, "
            "balances), so it needs the permission to read accounts: an API key without "
            "the `accounts:read` scope is refused (403) unless it sends `sample_size: 0`, "
            "and gets the count alone. " + DEBTOR_FIELDS_NEED_ACCOUNTS
        ),
    )
    async def preview(
        self, rules: NamedDependency[RuleService], data: JSONBody[RulePreviewRequest]
    ) -> RulePreview:
        return await rules.preview(data)

    @get("/{rule_id:int}", opt=allow(*MANAGERS, scope="tasks:read"), summary="One rule")
    async def get_rule(self, rules: NamedDependency[RuleService], rule_id: PathId) -> Rule:
        return await rules.get(rule_id)

    @patch(
        "/{rule_id:int}",
        opt=allow(*MANAGERS, scope="tasks:write"),
        summary="Change a rule",
        description=DEBTOR_FIELDS_NEED_ACCOUNTS,
    )
    async def update(
        self,
        rules: NamedDependency[RuleService],
        rule_id: PathId,
        data: JSONBody[RuleUpdate],
    ) -> Rule:
        return await rules.update(rule_id, data)

    @delete("/{rule_id:int}", opt=allow(*MANAGERS, scope="tasks:write"), summary="Delete a rule")
    async def remove(self, rules: NamedDependency[RuleService], rule_id: PathId) -> None:
        await rules.delete(rule_id)

    @post(
        "/{rule_id:int}/run",
        opt=allow(*MANAGERS, scope="tasks:write"),
        status_code=HTTP_201_CREATED,
        summary="Run a rule now: create its missing tasks and hand them to assignment",
    )
    async def run(self, rules: NamedDependency[RuleService], rule_id: PathId) -> RuleRun:
        return await rules.run(rule_id, trigger="manual")

    @get(
        "/{rule_id:int}/runs",
        opt=allow(*MANAGERS, scope="tasks:read"),
        summary="A rule's recent runs",
    )
    async def runs(
        self,
        rules: NamedDependency[RuleService],
        rule_id: PathId,
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200, description="items per page")] = 20,
    ) -> Page[RuleRun]:
        return await rules.runs(rule_id, cursor=cursor, limit=limit)


# 404: a task that is not the tenant's (all are named); 409: one already completed or
# cancelled, or an agent offline or without room for them all. Nothing changes then.
BATCH = {**allow(*MANAGERS, scope="tasks:write"), "problems": (404,)}


class TaskController(Controller):
    path = "/tasks"
    tags = ["worklist"]
    dependencies = {"tasks": service(TaskService), "batch": service(TaskBatchService)}

    @get(
        "/",
        opt=allow(*EVERYONE, scope="tasks:read"),
        summary="List tasks (a collector: their own)",
    )
    async def list_tasks(
        self,
        tasks: NamedDependency[TaskService],
        status: Annotated[
            list[TaskStatus | Literal[""]] | None,
            QueryParameter(description="one or more; empty: any"),
        ] = None,
        type: Annotated[
            list[TaskType | Literal[""]] | None,
            QueryParameter(description="one or more; empty: any"),
        ] = None,
        assignee_id: QueryId = None,
        unassigned: FromQuery[bool] = False,
        queue_id: QueryId = None,
        rule_id: QueryId = None,
        account_id: QueryId = None,
        sort: Annotated[
            TaskSort,
            QueryParameter(
                description="newest first; age: oldest first; priority: most urgent, then "
                "oldest; due: soonest due, those without a due date last"
            ),
        ] = "newest",
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> TaskPage:
        filters = TaskFilter(
            status=list(status) if status else None,
            type=list(type) if type else None,
            assignee_id=assignee_id,
            unassigned=unassigned,
            queue_id=queue_id,
            rule_id=rule_id,
            account_id=account_id,
        )
        return await tasks.list(filters, sort=sort, cursor=cursor, limit=limit)

    @get(
        "/mine",
        opt=allow(*WORKERS),
        summary="My held work, in the order to work it, with contact status for calls",
    )
    async def mine(
        self,
        tasks: NamedDependency[TaskService],
        cursor: Cursor = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MINE_MAX, description="items per page")
        ] = 500,
    ) -> Page[Task]:
        return tasks.paged(await tasks.mine(MINE_MAX), cursor, limit, max_limit=MINE_MAX)

    @post(
        "/next",
        # 503: too many pulls waiting in this process (server.pull_gate).
        opt={**allow(*WORKERS), "problems": (503,)},
        status_code=HTTP_200_OK,
        summary="Pull and start the most urgent waiting task of my queues",
    )
    async def next_task(
        self, request: Request[Any, Any, Any], actor: NamedDependency[Actor]
    ) -> NextTask:
        resources = request.app.state.resources
        return await pull_next(resources.db, actor, resources.pull_gate)

    @post("/", opt=allow(*MANAGERS, scope="tasks:write"), summary="Create a task by hand")
    async def create(self, tasks: NamedDependency[TaskService], data: JSONBody[TaskCreate]) -> Task:
        return await tasks.create(data)

    @post(
        "/bulk/assign",
        opt=BATCH,
        status_code=HTTP_200_OK,
        summary="Give several tasks to one agent, all or none",
    )
    async def assign_many(
        self, batch: NamedDependency[TaskBatchService], data: JSONBody[TaskBatchAssign]
    ) -> TaskBatch:
        return await batch.assign(data)

    @post(
        "/bulk/cancel",
        opt=BATCH,
        status_code=HTTP_200_OK,
        summary="Cancel several tasks with a reason, all or none",
    )
    async def cancel_many(
        self, batch: NamedDependency[TaskBatchService], data: JSONBody[TaskBatchCancel]
    ) -> TaskBatch:
        return await batch.cancel(data)

    @post(
        "/bulk/move",
        opt=BATCH,
        status_code=HTTP_200_OK,
        summary="Put several tasks in a queue to wait for its agents, all or none",
    )
    async def move_many(
        self, batch: NamedDependency[TaskBatchService], data: JSONBody[TaskBatchMove]
    ) -> TaskBatch:
        return await batch.move(data)

    @get("/{task_id:int}", opt=allow(*EVERYONE, scope="tasks:read"), summary="One task")
    async def get_task(self, tasks: NamedDependency[TaskService], task_id: PathId) -> Task:
        return await tasks.get(task_id)

    @post(
        "/{task_id:int}/start",
        opt=allow(*WORKERS, scope="tasks:write"),
        status_code=HTTP_200_OK,
        summary="Start assigned work",
    )
    async def start(self, tasks: NamedDependency[TaskService], task_id: PathId) -> Task:
        return await tasks.start(task_id)

    @post(
        "/{task_id:int}/complete",
        opt=allow(*WORKERS, scope="tasks:write"),
        status_code=HTTP_200_OK,
        summary="Complete a task with its outcome",
    )
    async def complete(
        self,
        tasks: NamedDependency[TaskService],
        task_id: PathId,
        data: JSONBody[TaskComplete],
    ) -> Task:
        return await tasks.complete(task_id, data)

    @post(
        "/{task_id:int}/cancel",
        opt=allow(*MANAGERS, scope="tasks:write"),
        status_code=HTTP_200_OK,
        summary="Cancel a task",
    )
    async def cancel(
        self,
        tasks: NamedDependency[TaskService],
        task_id: PathId,
        data: JSONBody[TaskCancel],
    ) -> Task:
        return await tasks.cancel(task_id, data)

    @post(
        "/{task_id:int}/release",
        opt=allow(*WORKERS),
        status_code=HTTP_200_OK,
        summary="Hand a task back to its queue",
    )
    async def release(
        self,
        tasks: NamedDependency[TaskService],
        task_id: PathId,
    ) -> Task:
        return await tasks.release(task_id)

    @post(
        "/{task_id:int}/assign",
        opt=allow(*MANAGERS, scope="tasks:write"),
        status_code=HTTP_200_OK,
        summary="Give a task to an agent, or back to its queue (assignee_id null)",
    )
    async def assign(
        self,
        tasks: NamedDependency[TaskService],
        task_id: PathId,
        data: JSONBody[TaskAssign],
    ) -> Task:
        return await tasks.assign(task_id, data)
