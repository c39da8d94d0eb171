"""The debtor's payment page: reached by a signed link, no login, one account only.

The page is plain HTML and ES modules (frontend/pay.html); these endpoints give it the
account's figures (nothing else: no other debts, no notes, no people) with the agency that
collects it, start a checkout with the payment provider, record a promise, take a dispute,
and issue the ticket for its live channel. Starting checkouts, sending disputes and issuing
tickets are limited per address and per link (settings ``pay_*_limit_*``): a debtor
retrying a card a few times a minute stays well inside them.
"""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_200_OK
from redis.exceptions import RedisError

from domain.actor import Actor
from domain.db import Connection
from domain.errors import Conflict, RateLimited, RecoupError
from domain.payments import debtor_page
from domain.payments.idempotency import idempotent, request_hash, required_key
from domain.payments.links import LinkGone, open_link
from domain.payments.schemas import (
    Checkout,
    CheckoutRequest,
    CheckoutState,
    DebtorAccount,
    DebtorDispute,
    DebtorPromise,
    DisputeState,
    PromiseView,
)
from domain.signing import InvalidToken
from server.auth.ratelimit import PayAction, client_address
from server.controllers.idempotency import RequiredIdempotencyKey, respond
from server.frontend import FRONTEND
from server.outage import RETRY_AFTER_SECONDS
from server.pages import message
from server.problems import outage_of
from server.realtime import Ticket, issue_ticket
from server.resources import Resources
from server.sandbox import create_checkout, new_checkout_id
from server.security import SCREENS_CSP

log = structlog.get_logger("recoup.pay")

# A link that cannot be read names no tenant, so no agency: the way back is the message it
# came in.
NO_AGENCY = (
    "Check that the whole link was copied from the message you received. If it still does "
    "not open, call the company that sent you that message, on the number in its letters."
)


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
    except RedisError as exc:  # the page works on without the limit; said once an outage
        if _resources(request).outages.noted(exc) is None:
            log.warning("payment page rate limit unavailable", error=str(exc))
    actor = await _debtor(request, token)
    try:
        await limiter.on_link(action, token)
    except RedisError as exc:  # the page works on without the limit; said once an outage
        if _resources(request).outages.noted(exc) is None:
            log.warning("payment page rate limit unavailable", error=str(exc))
    return actor


def _sentence(detail: str) -> str:
    """A problem's detail (lower case, as the API has it) as a sentence on a page."""
    return detail[:1].upper() + detail[1:]


class PayController(Controller):
    path = "/pay"
    opt = {"exclude_from_auth": True}
    tags = ["payment page"]
    response_headers = [SCREENS_CSP]

    @get("/{token:str}", include_in_schema=False)
    async def page(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
        try:
            await _debtor(request, token)
        except InvalidToken as exc:
            return message(exc.title, _sentence(exc.detail), NO_AGENCY, status=exc.status)
        except RecoupError as exc:
            return message(exc.title, _sentence(exc.detail), status=exc.status)
        except Exception as exc:
            if (dependency := outage_of(request, exc)) is None:
                raise
            request.scope["state"]["outage"] = dependency  # type: ignore[typeddict-item]
            return message(
                "Back in a moment",
                "This page cannot open your account just now. Nothing has been taken from "
                "you. Please try again in a minute.",
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
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
        description="The Idempotency-Key header is required (400 without it): a retry with "
        "the same key and amount gets the same checkout, not a second pending payment.",
        opt={"problems": (LinkGone.status, RateLimited.status)},
        responses={
            HTTP_200_OK: ResponseSpec(Checkout, description="Started", generate_examples=False)
        },
    )
    async def checkout(
        self,
        request: Request[Any, Any, Any],
        token: FromPath[str],
        data: JSONBody[CheckoutRequest],
        idempotency_key: RequiredIdempotencyKey = None,
    ) -> Response[Any]:
        resources = _resources(request)
        actor = await _limited_debtor(request, token, "checkout")
        key = required_key(idempotency_key)

        async def run(conn: Connection) -> tuple[int, Checkout]:
            checkout_id = new_checkout_id()
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
            return HTTP_200_OK, Checkout(checkout_url=url, payment_id=payment.id)

        async def allowed(conn: Connection) -> None:
            """The link was opened just now (valid, not revoked): all a replay needs."""

        fingerprint = request_hash("checkout", data)
        return respond(
            await idempotent(resources.db, actor, key, fingerprint, run, allowed=allowed)
        )

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
        "/{token:str}/dispute",
        status_code=HTTP_200_OK,
        summary="Dispute the debt: contact pauses while a person looks into it",
        opt={"problems": (LinkGone.status, Conflict.status, RateLimited.status)},
    )
    async def dispute(
        self, request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[DebtorDispute]
    ) -> DisputeState:
        actor = await _limited_debtor(request, token, "dispute")
        async with _resources(request).db.tenant(actor.tenant_id) as conn:
            return await debtor_page.dispute(conn, actor, data)

    @post(
        "/{token:str}/ticket",
        status_code=HTTP_200_OK,
        summary="A one-time ticket for the page's live channel (pay)",
        opt={"problems": (LinkGone.status, RateLimited.status)},
    )
    async def ticket(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Ticket:
        actor = await _limited_debtor(request, token, "ticket")
        return await issue_ticket(_resources(request), actor)
