"""Workflows, their runs, message templates and the messages sent, over REST.

Supervisors and admins keep workflows and templates; whoever may see an account sees the
runs and messages on its timeline. API keys have no say over workflows.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from domain.pagination import Page
from domain.workflows.links import Links
from domain.workflows.report import Report, ReportService
from domain.workflows.schemas import (
    ConditionCheck,
    ConditionResult,
    Message,
    RenderedMessage,
    Run,
    Template,
    TemplateCreate,
    TemplatePreviewRequest,
    TemplateUpdate,
    Workflow,
    WorkflowCreate,
    WorkflowUpdate,
)
from domain.workflows.service import TemplateService, WorkflowService
from server.auth.guards import EVERYONE, MANAGERS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId
from server.resources import Resources


class WorkflowController(Controller):
    path = "/workflows"
    tags = ["workflows"]
    dependencies = {"workflows": service(WorkflowService), "reports": service(ReportService)}

    @get("/", opt=allow(*MANAGERS), summary="Workflows, with their runs today and last error")
    async def list_workflows(
        self,
        workflows: NamedDependency[WorkflowService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Workflow]:
        return workflows.paged(await workflows.list(), cursor, limit)

    @post("/", opt=allow(*MANAGERS), summary="Create a workflow (checked whole before saving)")
    async def create(
        self, workflows: NamedDependency[WorkflowService], data: JSONBody[WorkflowCreate]
    ) -> Workflow:
        return await workflows.create(data)

    @post(
        "/check-condition",
        opt=allow(*MANAGERS),
        status_code=HTTP_200_OK,
        summary="Whether a condition is valid (where it is not) and how many accounts it "
        "matches now; changes nothing",
    )
    async def check_condition(
        self, workflows: NamedDependency[WorkflowService], data: JSONBody[ConditionCheck]
    ) -> ConditionResult:
        return await workflows.check_condition(data)

    @get("/{workflow_id:int}", opt=allow(*MANAGERS), summary="One workflow")
    async def get_workflow(
        self, workflows: NamedDependency[WorkflowService], workflow_id: PathId
    ) -> Workflow:
        return await workflows.get(workflow_id)

    @patch(
        "/{workflow_id:int}",
        opt=allow(*MANAGERS),
        summary="Change a workflow; a new trigger, conditions or steps make a new version",
    )
    async def update(
        self,
        workflows: NamedDependency[WorkflowService],
        workflow_id: PathId,
        data: JSONBody[WorkflowUpdate],
    ) -> Workflow:
        return await workflows.update(workflow_id, data)

    @delete(
        "/{workflow_id:int}",
        opt=allow(*MANAGERS),
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a workflow and its runs",
    )
    async def remove(
        self, workflows: NamedDependency[WorkflowService], workflow_id: PathId
    ) -> None:
        await workflows.delete(workflow_id)

    @get("/{workflow_id:int}/runs", opt=allow(*MANAGERS), summary="A workflow's runs, newest first")
    async def runs(
        self,
        workflows: NamedDependency[WorkflowService],
        workflow_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Run]:
        return await workflows.runs(workflow_id=workflow_id, cursor=cursor, limit=limit)

    @get(
        "/{workflow_id:int}/report",
        opt=allow(*MANAGERS),
        summary="Champion and challenger: per arm, accounts entered, paying, collected and "
        "promises kept within `days` of entry, each arm against the first",
    )
    async def report(
        self,
        reports: NamedDependency[ReportService],
        workflow_id: PathId,
        days: Annotated[int, QueryParameter(ge=1, le=365)] = 30,
        version: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
    ) -> Report:
        return await reports.report(workflow_id, version=version, days=days)

    @get("/runs/{run_id:int}", opt=allow(*MANAGERS), summary="One run, with its steps")
    async def run(self, workflows: NamedDependency[WorkflowService], run_id: PathId) -> Run:
        return await workflows.run(run_id)


class MessageController(Controller):
    path = "/"
    tags = ["workflows"]
    dependencies = {"workflows": service(WorkflowService)}

    @get(
        "/messages",
        opt=allow(*MANAGERS),
        summary="E-mails and texts sent, newest first (the development mailbox)",
    )
    async def messages(
        self,
        workflows: NamedDependency[WorkflowService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Message]:
        return await workflows.messages(cursor=cursor, limit=limit)

    @get(
        "/accounts/{account_id:int}/messages",
        opt=allow(*EVERYONE, scope="interactions:read"),
        summary="E-mails and texts to the account's debtor, newest first",
    )
    async def account_messages(
        self,
        workflows: NamedDependency[WorkflowService],
        account_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Message]:
        return await workflows.messages(account_id=account_id, cursor=cursor, limit=limit)

    @get(
        "/accounts/{account_id:int}/workflow-runs",
        opt=allow(*EVERYONE, scope="accounts:read"),
        summary="Workflow runs on the account, newest first, with their steps",
    )
    async def account_runs(
        self,
        workflows: NamedDependency[WorkflowService],
        account_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Run]:
        return await workflows.runs(account_id=account_id, cursor=cursor, limit=limit)


class TemplateController(Controller):
    path = "/templates"
    tags = ["workflows"]
    dependencies = {"templates": service(TemplateService)}

    @get("/", opt=allow(*MANAGERS), summary="Message templates")
    async def list_templates(
        self,
        templates: NamedDependency[TemplateService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Template]:
        return templates.paged(await templates.list(), cursor, limit)

    @post("/", opt=allow(*MANAGERS), summary="Create a message template (checked when saved)")
    async def create(
        self, templates: NamedDependency[TemplateService], data: JSONBody[TemplateCreate]
    ) -> Template:
        return await templates.create(data)

    @get("/{template_id:int}", opt=allow(*MANAGERS), summary="One template")
    async def get_template(
        self, templates: NamedDependency[TemplateService], template_id: PathId
    ) -> Template:
        return await templates.get(template_id)

    @patch("/{template_id:int}", opt=allow(*MANAGERS), summary="Change a template")
    async def update(
        self,
        templates: NamedDependency[TemplateService],
        template_id: PathId,
        data: JSONBody[TemplateUpdate],
    ) -> Template:
        return await templates.update(template_id, data)

    @delete(
        "/{template_id:int}",
        opt=allow(*MANAGERS),
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a template no workflow sends",
    )
    async def remove(
        self, templates: NamedDependency[TemplateService], template_id: PathId
    ) -> None:
        await templates.delete(template_id)

    @post(
        "/{template_id:int}/preview",
        opt=allow(*MANAGERS),
        status_code=HTTP_200_OK,
        summary="The template rendered for one account, as it would be sent now",
    )
    async def preview(
        self,
        request: Request[Any, Any, Any],
        templates: NamedDependency[TemplateService],
        template_id: PathId,
        data: JSONBody[TemplatePreviewRequest],
    ) -> RenderedMessage:
        resources: Resources = request.app.state.resources
        links = Links(base_url=resources.settings.base_url, secret=resources.settings.secret_key)
        return await templates.preview(template_id, data.account_id, links)
