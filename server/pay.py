"""The debtor's payment page: reached by a signed link, no login, one account only.

The page is plain HTML and ES modules (frontend/pay.html); these endpoints give it the
account's figures (nothing else: no other debts, no notes, no people), start a checkout
with the payment provider, record a promise, and issue the ticket for its live channel.
Starting checkouts and issuing tickets are limited per address and per link (settings
``pay_*_limit_*``): a debtor retrying a card a few times a minute stays well inside them.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK
from redis.exceptions import RedisError

from domain.actor import Actor
from domain.errors import RateLimited, RecoupError
from domain.payments import debtor_page
from domain.payments.links import LinkGone, open_link
from domain.payments.schemas import (
    Checkout,
    CheckoutRequest,
    CheckoutState,
    DebtorAccount,
    DebtorPromise,
    PromiseView,
)
from server.auth.ratelimit import PayAction, client_address
from server.frontend import FRONTEND
from server.pages import message
from server.realtime import Ticket, issue_ticket
from server.resources import Resources
from server.sandbox import create_checkout, new_checkout_id
from server.security import SCREENS_CSP

log = structlog.get_logger("recoup.pay")


def _resources(request: Request[Any, Any, Any]) -> Resources:
    return request.app.state.resources


async def _debtor(request: Request[Any, Any, Any], token: str) -> Actor:
    resources = _resources(request)
    return await open_link(resources.db, resources.settings.secret_key, token)


async def _limited_debtor(request: Request[Any, Any, Any], token: str, action: PayAction) -> Actor:
    """The link's debtor, once the address and then the link are within their limits."""
    limiter = _resources(request).pay_limiter
    try:
        await limiter.from_address(action, client_address(request))
    except RedisError as exc:
        log.warning("payment page rate limit unavailable", error=str(exc))
    actor = await _debtor(request, token)
    try:
        await limiter.on_link(action, token)
    except RedisError as exc:
        log.warning("payment page rate limit unavailable", error=str(exc))
    return actor


class PayController(Controller):
    path = "/pay"
    opt = {"exclude_from_auth": True}
    tags = ["payment page"]
    response_headers = [SCREENS_CSP]

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

    @get(
        "/{token:str}/summary",
        summary="The account behind a payment link",
        opt={"problems": (LinkGone.status,)},
    )
    async def summary(self, request: Request[Any, Any, Any], token: FromPath[str]) -> DebtorAccount:
        actor = await _debtor(request, token)
        async with _resources(request).db.tenant(actor.tenant_id) as conn:
            return await debtor_page.debtor_summary(conn, actor)

    @post(
        "/{token:str}/checkout",
        status_code=HTTP_200_OK,
        summary="Start paying: a checkout session with the payment provider",
        opt={"problems": (LinkGone.status, RateLimited.status)},
    )
    async def checkout(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[CheckoutRequest]
    ) -> Checkout:
        resources = _resources(request)
        actor = await _limited_debtor(request, token, "checkout")
        checkout_id = new_checkout_id()
        async with resources.db.tenant(actor.tenant_id) as conn:
            payment, creditor = await debtor_page.start_checkout(
                conn, actor, data.amount, checkout_id
            )
        url = await create_checkout(
            resources.redis,
            checkout_id,
            payment.amount,
            payment.currency,
            creditor,
            f"/pay/{token}?checkout={checkout_id}",
        )
        return Checkout(checkout_url=url, payment_id=payment.id)

    @get(
        "/{token:str}/checkout/{checkout_id:str}",
        summary="How a checkout ended",
        opt={"problems": (LinkGone.status,)},
    )
    async def checkout_status(
        self, request: Request[Any, Any, Any], token: FromPath[str], checkout_id: FromPath[str]
    ) -> CheckoutState:
        actor = await _debtor(request, token)
        async with _resources(request).db.tenant(actor.tenant_id) as conn:
            return await debtor_page.checkout_state(conn, actor, checkout_id)

    @post(
        "/{token:str}/promise",
        summary="Propose a date to pay (a promise to pay)",
        # 409: the promises would pass the balance.
        opt={"problems": (LinkGone.status, 409)},
    )
    async def promise(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[DebtorPromise]
    ) -> list[PromiseView]:
        actor = await _debtor(request, token)
        async with _resources(request).db.tenant(actor.tenant_id) as conn:
            return await debtor_page.promise(conn, actor, data)

    @post(
        "/{token:str}/ticket",
        status_code=HTTP_200_OK,
        summary="A one-time ticket for the page's live channel (pay)",
        opt={"problems": (LinkGone.status, RateLimited.status)},
    )
    async def ticket(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Ticket:
        actor = await _limited_debtor(request, token, "ticket")
        return await issue_ticket(_resources(request), actor)
