"""Payment links over REST: a signed link to an account's payment page, and its withdrawal."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Controller, Request, delete, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from domain.actor import Actor
from domain.payments.links import PaymentLinkService
from domain.payments.schemas import PaymentLink, PaymentLinkCreate
from server.auth.guards import WORKERS, allow
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
