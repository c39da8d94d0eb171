"""The debtor's payment page: reached by a signed link, no login, one account only.

The page is plain HTML and ES modules (frontend/pay.html); these endpoints give it the
account's figures (nothing else: no other debts, no notes, no people), start a checkout
with the payment provider, record a promise, and issue the ticket for its live channel.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK

from domain.accounts.service import AccountService
from domain.actor import Actor
from domain.errors import NotFound, RecoupError
from domain.money import minor_digits
from domain.payments.links import open_link
from domain.payments.schemas import money
from domain.payments.service import PaymentService
from domain.promises.schemas import PromiseCreate
from domain.promises.service import PromiseService
from server.frontend import CONTENT_SECURITY_POLICY, FRONTEND
from server.pages import message
from server.realtime import Ticket, issue_ticket
from server.resources import Resources
from server.sandbox import create_checkout, new_checkout_id


class PromiseView(msgspec.Struct, kw_only=True):
    amount: Decimal
    due_date: dt.date
    status: str


class DebtorAccount(msgspec.Struct, kw_only=True):
    """What a payment link shows: one account's figures, nothing more."""

    creditor: str
    reference: str
    first_name: str
    currency: str
    balance: Decimal
    principal: Decimal
    interest: Decimal
    fees: Decimal
    status: str
    promises: list[PromiseView]


class CheckoutRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    amount: Decimal


class Checkout(msgspec.Struct, kw_only=True):
    checkout_url: str
    payment_id: int


class CheckoutState(msgspec.Struct, kw_only=True):
    id: int
    amount: Decimal
    status: str
    failure_reason: str | None


class DebtorPromise(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    due_date: dt.date
    amount: Decimal | None = None


def _resources(request: Request[Any, Any, Any]) -> Resources:
    return request.app.state.resources


async def _debtor(request: Request[Any, Any, Any], token: str) -> Actor:
    resources = _resources(request)
    return await open_link(resources.db, resources.settings.secret_key, token)


class PayController(Controller):
    path = "/pay"
    opt = {"exclude_from_auth": True}
    tags = ["payment page"]
    response_headers = [CONTENT_SECURITY_POLICY]

    @get("/{token:str}", include_in_schema=False)
    async def page(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
        try:
            await _debtor(request, token)
        except RecoupError as exc:
            return message(exc.title, exc.detail, status=exc.status)
        return File(
            FRONTEND / "pay.html",
            content_disposition_type="inline",
            media_type="text/html",
            headers={"Cache-Control": "no-store"},
        )

    @get("/{token:str}/summary", summary="The account behind a payment link")
    async def summary(self, request: Request[Any, Any, Any], token: FromPath[str]) -> DebtorAccount:
        actor = await _debtor(request, token)
        async with _resources(request).db.tenant(actor.tenant_id) as conn:
            accounts = AccountService(conn, actor)
            account = await accounts.get(actor.account_id)  # type: ignore[arg-type]
            first_name = await conn.fetchval(
                "SELECT first_name FROM debtors WHERE id = $1", account.debtor_id
            )
            promises = await PromiseService(conn, actor).list(account.id)
        return DebtorAccount(
            creditor=account.creditor,
            reference=account.external_ref,
            first_name=first_name,
            currency=account.currency,
            balance=account.balance,
            principal=account.principal,
            interest=account.interest,
            fees=account.fees,
            status=account.status,
            promises=[
                PromiseView(amount=p.amount, due_date=p.due_date, status=p.status)
                for p in promises
                if p.status in ("pending", "kept")
            ],
        )

    @post(
        "/{token:str}/checkout",
        status_code=HTTP_200_OK,
        summary="Start paying: a checkout session with the payment provider",
    )
    async def checkout(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[CheckoutRequest]
    ) -> Checkout:
        resources = _resources(request)
        actor = await _debtor(request, token)
        checkout_id = new_checkout_id()
        async with resources.db.tenant(actor.tenant_id) as conn:
            payments = PaymentService(conn, actor)
            payment = await payments.start_checkout(
                actor.account_id,
                data.amount,
                provider="sandbox",  # type: ignore[arg-type]
                provider_ref=checkout_id,
            )
            account = await payments.accounts.get(actor.account_id)  # type: ignore[arg-type]
        url = await create_checkout(
            resources.redis,
            checkout_id,
            payment.amount,
            payment.currency,
            account.creditor or "your creditor",
            f"/pay/{token}?checkout={checkout_id}",
        )
        return Checkout(checkout_url=url, payment_id=payment.id)

    @get("/{token:str}/checkout/{checkout_id:str}", summary="How a checkout ended")
    async def checkout_status(
        self, request: Request[Any, Any, Any], token: FromPath[str], checkout_id: FromPath[str]
    ) -> CheckoutState:
        actor = await _debtor(request, token)
        async with _resources(request).db.tenant(actor.tenant_id) as conn:
            row = await conn.fetchrow(
                """SELECT id, amount, currency, status, failure_reason FROM payments
                WHERE account_id = $1 AND provider = 'sandbox' AND provider_ref = $2""",
                actor.account_id,
                checkout_id,
            )
        if row is None:
            raise NotFound("no such checkout for this account")
        return CheckoutState(
            id=row["id"],
            amount=money(row["amount"], minor_digits(row["currency"])),
            status=row["status"],
            failure_reason=row["failure_reason"],
        )

    @post("/{token:str}/promise", summary="Propose a date to pay (a promise to pay)")
    async def promise(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[DebtorPromise]
    ) -> list[PromiseView]:
        actor = await _debtor(request, token)
        async with _resources(request).db.tenant(actor.tenant_id) as conn:
            promises = PromiseService(conn, actor)
            amount = data.amount
            if amount is None:
                amount = (await promises.accounts.get(actor.account_id)).balance  # type: ignore[arg-type]
            made = await promises.make(
                actor.account_id,
                PromiseCreate(amount=amount, due_date=data.due_date),  # type: ignore[arg-type]
                source="debtor",
            )
        return [PromiseView(amount=p.amount, due_date=p.due_date, status=p.status) for p in made]

    @post(
        "/{token:str}/ticket",
        status_code=HTTP_200_OK,
        summary="A one-time ticket for the page's live channel (pay)",
    )
    async def ticket(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Ticket:
        actor = await _debtor(request, token)
        return await issue_ticket(_resources(request), actor)
