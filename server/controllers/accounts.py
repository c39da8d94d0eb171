"""Accounts and their interactions over REST."""

from __future__ import annotations

from litestar import Controller, get, patch, post
from litestar.params import Parameter

from domain.accounts.schemas import Account, AccountCreate, AccountFilter, AccountUpdate
from domain.accounts.service import AccountService
from domain.interactions.schemas import Interaction, InteractionCreate
from domain.interactions.service import InteractionService
from domain.pagination import DEFAULT_LIMIT, Page
from server.auth.guards import EVERYONE, MANAGERS, WORKERS, allow
from server.controllers.deps import service


class AccountController(Controller):
    path = "/accounts"
    tags = ["accounts"]
    dependencies = {
        "accounts": service(AccountService),
        "interactions": service(InteractionService),
    }

    @get("/", guards=allow(*EVERYONE, scope="accounts:read"), summary="List and filter accounts")
    async def list_accounts(
        self,
        accounts: AccountService,
        status: list[str] | None = Parameter(default=None, description="one or more statuses"),
        bucket: str | None = Parameter(default=None, description="delinquency bucket name"),
        dpd_min: int | None = Parameter(default=None, ge=0, description="days past due, at least"),
        dpd_max: int | None = Parameter(default=None, ge=0, description="days past due, at most"),
        owner_id: int | None = None,
        unowned: bool = False,
        currency: str | None = Parameter(default=None, pattern=r"^[A-Z]{3}$"),
        debtor_id: int | None = None,
        q: str | None = Parameter(
            default=None, max_length=200, description="debtor name or account reference, by prefix"
        ),
        cursor: str | None = None,
        limit: int = Parameter(default=DEFAULT_LIMIT, ge=1, le=200),
    ) -> Page[Account]:
        filters = AccountFilter(
            status=status,
            bucket=bucket,
            dpd_min=dpd_min,
            dpd_max=dpd_max,
            owner_id=owner_id,
            unowned=unowned,
            currency=currency,
            debtor_id=debtor_id,
            q=q,
        )
        return await accounts.list(filters, cursor=cursor, limit=limit)

    @post("/", guards=allow(*MANAGERS, scope="accounts:write"), summary="Create an account")
    async def create(self, accounts: AccountService, data: AccountCreate) -> Account:
        return await accounts.create(data)

    @get("/{account_id:int}", guards=allow(*EVERYONE, scope="accounts:read"), summary="One account")
    async def get_account(self, accounts: AccountService, account_id: int) -> Account:
        return await accounts.get(account_id)

    @patch(
        "/{account_id:int}",
        guards=allow(*MANAGERS, scope="accounts:write"),
        summary="Change an account",
    )
    async def update(
        self, accounts: AccountService, account_id: int, data: AccountUpdate
    ) -> Account:
        return await accounts.update(account_id, data)

    @get(
        "/{account_id:int}/interactions",
        guards=allow(*EVERYONE, scope="interactions:read"),
        summary="Interactions on an account, newest first",
    )
    async def list_interactions(
        self,
        interactions: InteractionService,
        account_id: int,
        cursor: str | None = None,
        limit: int = Parameter(default=DEFAULT_LIMIT, ge=1, le=200),
    ) -> Page[Interaction]:
        return await interactions.list(account_id, cursor=cursor, limit=limit)

    @post(
        "/{account_id:int}/interactions",
        guards=allow(*WORKERS, scope="interactions:write"),
        summary="Log a call, e-mail, SMS, letter or note",
    )
    async def log_interaction(
        self, interactions: InteractionService, account_id: int, data: InteractionCreate
    ) -> Interaction:
        return await interactions.log(account_id, data)
