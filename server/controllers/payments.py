"""Payments over REST: record one (idempotently), read them, refund or reverse one."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from domain.actor import Actor
from domain.db import Connection
from domain.pagination import Page
from domain.payments.idempotency import idempotent, request_hash
from domain.payments.schemas import Payment, PaymentAction, PaymentCreate, source_of
from domain.payments.service import PaymentService
from server.auth.guards import EVERYONE, MANAGERS, WORKERS, allow
from server.controllers.deps import service
from server.controllers.idempotency import IdempotencyKey, respond
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId


async def _undo(
    payments: PaymentService,
    payment_id: int,
    kind: Literal["refunded", "reversed"],
    data: PaymentAction | None,
) -> Payment:
    """Refund and reverse are one action, putting back what the payment paid off."""
    return await payments.undo(payment_id, kind, data.reason if data else "")


class PaymentController(Controller):
    path = "/"
    tags = ["payments"]
    dependencies = {"payments": service(PaymentService)}

    @post(
        "/accounts/{account_id:int}/payments",
        opt=allow(*WORKERS, scope="payments:write"),
        summary="Record a payment (send an Idempotency-Key to retry safely)",
        description=(
            "An Idempotency-Key belongs to its caller (the user or the API key): the same "
            "caller, key and body get the first response again (`Idempotent-Replayed: true`), "
            "once the caller's access to the account has been checked again; the same key "
            "with another body is refused (422), one still in flight too (409)."
        ),
    )
    async def record(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        account_id: PathId,
        data: JSONBody[PaymentCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Any]:
        async def run(conn: Connection) -> tuple[int, Payment]:
            payment = await PaymentService(conn, actor).record(
                account_id, data, source=source_of(actor)
            )
            return HTTP_201_CREATED, payment

        async def allowed(conn: Connection) -> None:
            await PaymentService(conn, actor).may_pay(account_id)

        fingerprint = request_hash("payment", account_id, data)
        db = request.app.state.resources.db
        return respond(
            await idempotent(db, actor, idempotency_key, fingerprint, run, allowed=allowed)
        )

    @get(
        "/accounts/{account_id:int}/payments",
        opt=allow(*EVERYONE, scope="payments:read"),
        summary="Payments on an account, newest first",
    )
    async def list_payments(
        self,
        payments: NamedDependency[PaymentService],
        account_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[Payment]:
        return await payments.list(account_id, cursor=cursor, limit=limit)

    @get(
        "/payments/{payment_id:int}",
        opt=allow(*EVERYONE, scope="payments:read"),
        summary="One payment",
    )
    async def get_payment(
        self, payments: NamedDependency[PaymentService], payment_id: PathId
    ) -> Payment:
        return await payments.get(payment_id)

    @post(
        "/payments/{payment_id:int}/refund",
        opt=allow(*MANAGERS, scope="payments:write"),
        status_code=HTTP_200_OK,
        summary="Refund a received payment (restores the balance)",
    )
    async def refund(
        self,
        payments: NamedDependency[PaymentService],
        payment_id: PathId,
        data: JSONBody[PaymentAction | None] = None,
    ) -> Payment:
        return await _undo(payments, payment_id, "refunded", data)

    @post(
        "/payments/{payment_id:int}/reverse",
        opt=allow(*MANAGERS, scope="payments:write"),
        status_code=HTTP_200_OK,
        summary="Reverse a received payment (a chargeback or a bounced transfer)",
    )
    async def reverse(
        self,
        payments: NamedDependency[PaymentService],
        payment_id: PathId,
        data: JSONBody[PaymentAction | None] = None,
    ) -> Payment:
        return await _undo(payments, payment_id, "reversed", data)
