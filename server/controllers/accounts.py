"""Accounts, their interactions and their contact status over REST."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, JSONBody, QueryParameter

from domain.accounts.schemas import (
    Account,
    AccountCreate,
    AccountFilter,
    AccountStatus,
    AccountUpdate,
)
from domain.accounts.service import AccountService
from domain.accounts.statuses import AccountStatusService, StatusChange, StatusChangeResult
from domain.actor import Actor
from domain.compliance import service as compliance
from domain.compliance.service import ContactStatus
from domain.db import Connection
from domain.interactions.schemas import Interaction, InteractionCreate
from domain.interactions.service import InteractionService
from domain.pagination import Page
from domain.timeline.schemas import TimelineEntry
from domain.timeline.service import TimelineService
from domain.worklist.callbacks import CallbackService
from domain.worklist.schemas import CallbackCreate, Task
from server.auth.guards import EVERYONE, MANAGERS, WORKERS, allow
from server.controllers.deps import provide_connection, service
from server.controllers.params import (
    CUSTOM_FILTERS,
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    PathId,
    QueryId,
    Search,
    custom_filters,
)

Days = Annotated[int | None, QueryParameter(ge=0, le=100_000)]


class AccountController(Controller):
    path = "/accounts"
    tags = ["accounts"]
    dependencies = {
        "accounts": service(AccountService),
        "interactions": service(InteractionService),
        "timeline": service(TimelineService),
        "callbacks": service(CallbackService),
        "statuses": service(AccountStatusService),
        "conn": Provide(provide_connection),
    }

    @get(
        "/",
        opt=allow(*EVERYONE, scope="accounts:read"),
        summary="List and filter accounts",
        description=CUSTOM_FILTERS,
    )
    async def list_accounts(
        self,
        request: Request[Any, Any, Any],
        accounts: NamedDependency[AccountService],
        status: Annotated[
            list[AccountStatus | Literal[""]] | None,
            QueryParameter(description="one or more; empty: any"),
        ] = None,
        bucket: Annotated[
            str | None, QueryParameter(description="one of the tenant's buckets; empty: any")
        ] = None,
        dpd_min: Days = None,
        dpd_max: Days = None,
        owner_id: QueryId = None,
        unowned: FromQuery[bool] = False,
        currency: Annotated[str | None, QueryParameter(pattern=r"^[A-Z]{3}$")] = None,
        debtor_id: QueryId = None,
        q: Search = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Account]:
        filters = AccountFilter(
            status=list(status) if status else None,
            bucket=bucket,
            dpd_min=dpd_min,
            dpd_max=dpd_max,
            owner_id=owner_id,
            unowned=unowned,
            currency=currency,
            debtor_id=debtor_id,
            q=q,
            custom=custom_filters(request.query_params),
        )
        return await accounts.list(filters, cursor=cursor, limit=limit)

    @post(
        "/",
        opt=allow(*MANAGERS, scope="accounts:write"),
        summary="Create an account, for an existing debtor or a new one",
    )
    async def create(
        self, accounts: NamedDependency[AccountService], data: JSONBody[AccountCreate]
    ) -> Account:
        return await accounts.create(data)

    @get("/{account_id:int}", opt=allow(*EVERYONE, scope="accounts:read"), summary="One account")
    async def get_account(
        self, accounts: NamedDependency[AccountService], account_id: PathId
    ) -> Account:
        return await accounts.get(account_id)

    @patch(
        "/{account_id:int}",
        opt=allow(*MANAGERS, scope="accounts:write"),
        summary="Change an account (send version to refuse a stale edit)",
    )
    async def update(
        self,
        accounts: NamedDependency[AccountService],
        account_id: PathId,
        data: JSONBody[AccountUpdate],
    ) -> Account:
        return await accounts.update(account_id, data)

    @get(
        "/{account_id:int}/interactions",
        opt=allow(*EVERYONE, scope="interactions:read"),
        summary="Interactions on an account, newest first",
    )
    async def list_interactions(
        self,
        interactions: NamedDependency[InteractionService],
        account_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Interaction]:
        return await interactions.list(account_id, cursor=cursor, limit=limit)

    @get(
        "/{account_id:int}/timeline",
        opt=allow(*EVERYONE, scope="accounts:read"),
        summary="Everything that happened on an account, newest first",
        description=(
            "Calls and notes, messages, payment links sent and opened, payments, promises "
            "and their outcome, tasks and how they closed, status changes; each with "
            "`kind`, `at`, `who` (a person's name, `debtor` or `system`), a one-line "
            "`summary` and the `details` of its kind. A cursor serves only the timeline "
            "of the account it came from."
        ),
    )
    async def timeline_page(
        self,
        timeline: NamedDependency[TimelineService],
        account_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[TimelineEntry]:
        return await timeline.page(account_id, cursor=cursor, limit=limit)

    @post(
        "/{account_id:int}/callbacks",
        opt=allow(*WORKERS),
        summary="Call the debtor back later: a call task for the caller, held back until then",
        description=(
            "`at` is the debtor's local date and time; outside the tenant's contact window "
            "(in the debtor's zone) it is refused with 422, and under a standing block "
            "(do-not-contact, cease, dispute, call opt-out) with 409."
        ),
    )
    async def book_callback(
        self,
        callbacks: NamedDependency[CallbackService],
        account_id: PathId,
        data: JSONBody[CallbackCreate],
    ) -> Task:
        return await callbacks.book(account_id, data)

    @post(
        "/{account_id:int}/interactions",
        opt=allow(*WORKERS, scope="interactions:write"),
        summary="Log a call, e-mail, SMS, letter or note",
    )
    async def log_interaction(
        self,
        interactions: NamedDependency[InteractionService],
        account_id: PathId,
        data: JSONBody[InteractionCreate],
    ) -> Interaction:
        return await interactions.log(account_id, data)

    @get(
        "/{account_id:int}/contact-status",
        opt=allow(*EVERYONE, scope="accounts:read"),
        summary="Which channels may be used now, why not, and when they open",
    )
    async def contact_status(
        self,
        conn: NamedDependency[Connection],
        actor: NamedDependency[Actor],
        account_id: PathId,
    ) -> ContactStatus:
        return await compliance.account_status(conn, actor, account_id)

    @post(
        "/{account_id:int}/status-changes",
        opt=allow(*WORKERS, scope="accounts:write"),
        status_code=200,
        summary="Change the account's status from the desk: dispute, cease, bankrupt, ...",
        description=(
            "`disputed` (reason: a dispute reason) and `cease` stop contact and may be recorded "
            "by the collector working the account; `bankrupt`, `deceased`, `settled` and "
            "`active` (resolving a dispute) are a supervisor's or an admin's (403 otherwise). "
            "A change the account's status does not allow (a settled account disputed, a "
            "dispute resolved that is not open, a cease already recorded) is refused with 409."
        ),
    )
    async def change_status(
        self,
        statuses: NamedDependency[AccountStatusService],
        account_id: PathId,
        data: JSONBody[StatusChange],
    ) -> StatusChangeResult:
        return await statuses.change(account_id, data)
