"""Payments, promises, payment links and contact status of an account; providers' webhooks."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import structlog
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from domain.actor import Actor
from domain.compliance import service as compliance
from domain.compliance.service import ContactStatus
from domain.errors import NotFound
from domain.pagination import Page
from domain.payments import providers
from domain.payments import queries as payment_queries
from domain.payments.idempotency import Idempotency, request_hash
from domain.payments.links import PaymentLinkService
from domain.payments.schemas import (
    Payment,
    PaymentAction,
    PaymentCreate,
    PaymentLink,
    PaymentLinkCreate,
)
from domain.payments.service import PaymentService
from domain.promises.schemas import Promise, PromiseCreate
from domain.promises.service import PromiseService
from server.auth.guards import EVERYONE, MANAGERS, allow
from server.controllers.deps import service
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit
from server.resources import Resources

log = structlog.get_logger("recoup.payments")

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description="retries with the same key and body "
        "get the first response; keys are kept 48 hours",
    ),
]
TAKERS = ("admin", "supervisor", "collector")


def _resources(request: Request[Any, Any, Any]) -> Resources:
    return request.app.state.resources


def _source(actor: Actor) -> str:
    return "api" if actor.type == "api_key" else "staff"


class PaymentController(Controller):
    path = "/"
    tags = ["payments"]
    dependencies = {
        "payments": service(PaymentService),
        "promises": service(PromiseService),
    }

    @post(
        "/accounts/{account_id:int}/payments",
        guards=allow(*TAKERS, scope="payments:write"),
        summary="Record a payment (send an Idempotency-Key to retry safely)",
    )
    async def record(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        account_id: FromPath[int],
        data: JSONBody[PaymentCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        resources = _resources(request)
        claim = None
        if idempotency_key is not None:
            claim = Idempotency(
                resources.db,
                actor.tenant_id,
                idempotency_key,
                request_hash("payment", account_id, data),
            )
            stored = await claim.claim()
            if stored is not None:
                return Response(
                    stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"}
                )
        try:
            async with resources.db.tenant(actor.tenant_id) as conn:
                payment = await PaymentService(conn, actor).record(
                    account_id, data, source=_source(actor)
                )
                body = msgspec.to_builtins(payment)
                if claim is not None:
                    await claim.complete(conn, HTTP_201_CREATED, body)
        except BaseException:
            if claim is not None:
                await claim.release()
            raise
        return Response(payment, status_code=HTTP_201_CREATED)

    @get(
        "/accounts/{account_id:int}/payments",
        guards=allow(*EVERYONE, scope="payments:read"),
        summary="Payments on an account, newest first",
    )
    async def list_payments(
        self,
        payments: NamedDependency[PaymentService],
        account_id: FromPath[int],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Payment]:
        return await payments.list(account_id, cursor=cursor, limit=limit)

    @get(
        "/payments/{payment_id:int}",
        guards=allow(*EVERYONE, scope="payments:read"),
        summary="One payment",
    )
    async def get_payment(
        self, payments: NamedDependency[PaymentService], payment_id: FromPath[int]
    ) -> Payment:
        return await payments.get(payment_id)

    @post(
        "/payments/{payment_id:int}/refund",
        guards=allow(*MANAGERS, scope="payments:write"),
        status_code=HTTP_200_OK,
        summary="Refund a received payment (restores the balance)",
    )
    async def refund(
        self,
        payments: NamedDependency[PaymentService],
        payment_id: FromPath[int],
        data: JSONBody[PaymentAction | None] = None,
    ) -> Payment:
        return await payments.undo(payment_id, "refunded", data.reason if data else "")

    @post(
        "/payments/{payment_id:int}/reverse",
        guards=allow(*MANAGERS, scope="payments:write"),
        status_code=HTTP_200_OK,
        summary="Reverse a received payment (a chargeback or a bounced transfer)",
    )
    async def reverse(
        self,
        payments: NamedDependency[PaymentService],
        payment_id: FromPath[int],
        data: JSONBody[PaymentAction | None] = None,
    ) -> Payment:
        return await payments.undo(payment_id, "reversed", data.reason if data else "")

    @post(
        "/accounts/{account_id:int}/promises",
        guards=allow(*TAKERS, scope="promises:write"),
        summary="Record a promise to pay, or a plan of instalments",
    )
    async def make_promise(
        self,
        promises: NamedDependency[PromiseService],
        actor: NamedDependency[Actor],
        account_id: FromPath[int],
        data: JSONBody[PromiseCreate],
    ) -> list[Promise]:
        return await promises.make(account_id, data, source=_source(actor))

    @get(
        "/accounts/{account_id:int}/promises",
        guards=allow(*EVERYONE, scope="promises:read"),
        summary="Promises on an account",
    )
    async def list_promises(
        self, promises: NamedDependency[PromiseService], account_id: FromPath[int]
    ) -> list[Promise]:
        return await promises.list(account_id)

    @post(
        "/accounts/{account_id:int}/payment-links",
        guards=allow(*TAKERS, scope="payments:write"),
        summary="A link to the debtor's payment page for this account",
    )
    async def create_link(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        account_id: FromPath[int],
        data: JSONBody[PaymentLinkCreate | None] = None,
    ) -> PaymentLink:
        resources = _resources(request)
        async with resources.db.tenant(actor.tenant_id) as conn:
            links = PaymentLinkService(
                conn,
                actor,
                secret=resources.settings.secret_key,
                base_url=resources.settings.base_url,
            )
            return await links.create(account_id, data.expires_in_hours if data else 72)

    @delete(
        "/payment-links/{link_id:int}",
        guards=allow(*TAKERS, scope="payments:write"),
        status_code=HTTP_200_OK,
        summary="Withdraw a payment link",
    )
    async def revoke_link(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        link_id: FromPath[int],
    ) -> PaymentLink:
        resources = _resources(request)
        async with resources.db.tenant(actor.tenant_id) as conn:
            links = PaymentLinkService(
                conn,
                actor,
                secret=resources.settings.secret_key,
                base_url=resources.settings.base_url,
            )
            return await links.revoke(link_id)

    @get(
        "/accounts/{account_id:int}/contact-status",
        guards=allow(*EVERYONE, scope="accounts:read"),
        summary="Which channels may be used now, why not, and when they open",
    )
    async def contact_status(
        self, payments: NamedDependency[PaymentService], account_id: FromPath[int]
    ) -> ContactStatus:
        account = await payments.accounts.get(account_id)
        tenant = await payments.accounts.tenant()
        return await compliance.status(
            payments.conn, account.id, payments.clock(), tenant.settings.contact
        )


class ProviderWebhookController(Controller):
    path = "/webhooks/payments"
    tags = ["webhooks"]
    opt = {"exclude_from_auth": True}

    @post(
        "/{provider:str}",
        status_code=HTTP_200_OK,
        summary="A payment provider's event (Stripe-format signature required)",
    )
    async def receive(
        self, request: Request[Any, Any, Any], provider: FromPath[str]
    ) -> dict[str, str]:
        resources = _resources(request)
        secrets = resources.settings.webhook_secrets(provider)
        if secrets is None:
            raise NotFound(f"no payment provider called {provider!r}")
        body = await request.body()
        providers.verify(body, request.headers.get("stripe-signature"), list(secrets))
        event = providers.parse(body)
        if event.type not in providers.SUCCEEDED | providers.FAILED or not event.payment_ref:
            return {"status": "ignored"}
        async with resources.db.anonymous() as conn:
            found = await payment_queries.find_provider_payment(conn, provider, event.payment_ref)
        if found is None:
            raise NotFound(f"no payment with the reference {event.payment_ref!r} (yet)")
        tenant_id, payment_id = found["tenant_id"], found["payment_id"]
        async with resources.db.tenant(tenant_id) as conn:
            fresh = await payment_queries.record_provider_event(
                conn,
                tenant_id=tenant_id,
                provider=provider,
                event_id=event.id,
                event_type=event.type,
                payment_id=payment_id,
                payload=msgspec.json.decode(body),
            )
            if not fresh:
                return {"status": "duplicate"}
            payments = PaymentService(conn, Actor(tenant_id=tenant_id, type="system"))
            payment = await payment_queries.get(conn, payment_id)
            assert payment is not None
            if event.type in providers.FAILED:
                await payments.fail(payment_id, event.failure_reason or event.type)
            elif (event.amount, event.currency) != (payment["amount"], payment["currency"]):
                log.warning("provider amount differs from the payment", payment_id=payment_id)
                await payments.fail(payment_id, "the provider reported another amount")
            else:
                await payments.succeed(payment_id)
        return {"status": "processed"}
