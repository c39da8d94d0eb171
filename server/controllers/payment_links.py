"""Payment links over REST: a signed link to an account's payment page, and its withdrawal."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, Request, Response, delete, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from domain.accounts.service import AccountService
from domain.actor import Actor
from domain.db import Connection
from domain.payments.idempotency import idempotent, request_hash
from domain.payments.links import PaymentLinkService
from domain.payments.schemas import PaymentLink, PaymentLinkCreate
from domain.workflows.links import Links
from domain.workflows.outreach import PaymentLinkMessenger
from domain.workflows.schemas import PaymentLinkSend, PaymentLinkSent
from server.auth.guards import WORKERS, allow
from server.controllers.idempotency import IdempotencyKey, respond
from server.controllers.params import PathId
from server.resources import Resources


async def provide_links(
    request: Request[Any, Any, Any],
) -> AsyncGenerator[PaymentLinkService, None]:
    """The link service in the caller's tenant transaction, signing with the server's secret."""
    actor: Actor = request.user
    resources: Resources = request.app.state.resources
    async with resources.db.tenant(actor.tenant_id) as conn:
        yield PaymentLinkService(
            conn,
            actor,
            secret=resources.settings.secret_key,
            base_url=resources.settings.base_url,
        )


class PaymentLinkController(Controller):
    path = "/"
    tags = ["payments"]
    dependencies = {"links": Provide(provide_links)}

    @post(
        "/accounts/{account_id:int}/payment-links",
        opt=allow(*WORKERS, scope="payments:write"),
        summary="A link to the debtor's payment page for this account",
    )
    async def create_link(
        self,
        links: NamedDependency[PaymentLinkService],
        account_id: PathId,
        data: JSONBody[PaymentLinkCreate | None] = None,
    ) -> PaymentLink:
        return await links.create(account_id, data.expires_in_hours if data else 72)

    @post(
        "/accounts/{account_id:int}/payment-links/send",
        opt=allow(*WORKERS, scope="payments:write"),
        summary="Send the debtor a payment link by text or e-mail",
        description=(
            "Makes a link and queues it to the debtor's phone (`sms`) or e-mail address, "
            "under the contact rules: an opt-out of that channel, a cease or a dispute is "
            "refused (409, nothing made); outside the debtor's hours the message waits for "
            "the window (`outcome: waiting`, `send_at`). It is sent by a worker at once, "
            "logged as an interaction on the account, and its state is in "
            "`GET /accounts/{id}/messages`. Send an Idempotency-Key to retry safely: the "
            "same caller, key and body get the first response, and no second message."
        ),
        responses={
            HTTP_201_CREATED: ResponseSpec(
                PaymentLinkSent, description="Queued", generate_examples=False
            )
        },
    )
    async def send_link(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        account_id: PathId,
        data: JSONBody[PaymentLinkSend],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        settings = request.app.state.resources.settings
        links = Links(base_url=settings.base_url, secret=settings.secret_key)

        async def run(conn: Connection) -> tuple[int, PaymentLinkSent]:
            sent = await PaymentLinkMessenger(conn, actor, links=links).send(account_id, data)
            return HTTP_201_CREATED, sent

        async def allowed(conn: Connection) -> None:
            await AccountService(conn, actor).get(account_id)

        fingerprint = request_hash("payment_link.send", account_id, data)
        db = request.app.state.resources.db
        return respond(
            await idempotent(db, actor, idempotency_key, fingerprint, run, allowed=allowed)
        )

    @delete(
        "/payment-links/{link_id:int}",
        opt=allow(*WORKERS, scope="payments:write"),
        status_code=HTTP_200_OK,
        summary="Withdraw a payment link",
    )
    async def revoke_link(
        self, links: NamedDependency[PaymentLinkService], link_id: PathId
    ) -> PaymentLink:
        return await links.revoke(link_id)
