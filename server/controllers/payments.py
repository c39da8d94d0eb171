"""Payments over REST: record one (idempotently), read them, refund or reverse one."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from domain.actor import Actor
from domain.db import Connection
from domain.pagination import Page
from domain.payments.idempotency import idempotent, request_hash, required_key
from domain.payments.schemas import Payment, PaymentAction, PaymentCreate, source_of
from domain.payments.service import PaymentService
from server.auth.guards import EVERYONE, MANAGERS, WORKERS, allow
from server.controllers.deps import service
from server.controllers.idempotency import RequiredIdempotencyKey, respond
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId


async def _undo(
    request: Request[Any, Any, Any],
    actor: Actor,
    payment_id: int,
    kind: Literal["refunded", "reversed"],
    data: PaymentAction | None,
    key: str | None,
) -> Response[Any]:
    """Refund and reverse are one action, putting back what the payment paid off, once per
    Idempotency-Key."""
    reason = data.reason if data else ""

    async def run(conn: Connection) -> tuple[int, Payment]:
        return HTTP_200_OK, await PaymentService(conn, actor).undo(payment_id, kind, reason)

    async def allowed(conn: Connection) -> None:
        await PaymentService(conn, actor).get(payment_id)

    fingerprint = request_hash(kind, payment_id, reason)
    db = request.app.state.resources.db
    return respond(
        await idempotent(db, actor, required_key(key), fingerprint, run, allowed=allowed)
    )


def _answers(status: int, description: str) -> dict[int, ResponseSpec]:
    return {status: ResponseSpec(Payment, description=description, generate_examples=False)}


class PaymentController(Controller):
    path = "/"
    tags = ["payments"]
    dependencies = {"payments": service(PaymentService)}

    @post(
        "/accounts/{account_id:int}/payments",
        opt=allow(*WORKERS, scope="payments:write"),
        summary="Record a payment (with an Idempotency-Key, to retry safely)",
        description=(
            "The Idempotency-Key header is required (400 without it). It belongs to its "
            "caller (the user or the API key): the same caller, key and body get the first "
            "response again (`Idempotent-Replayed: true`), "
            "once the caller's access to the account has been checked again; the same key "
            "with another body is refused (422), one still in flight too (409)."
        ),
        responses=_answers(HTTP_201_CREATED, "Recorded"),
    )
    async def record(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        account_id: PathId,
        data: JSONBody[PaymentCreate],
        idempotency_key: RequiredIdempotencyKey = None,
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
            await idempotent(
                db, actor, required_key(idempotency_key), fingerprint, run, allowed=allowed
            )
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
        summary="Refund a received payment (restores the balance; Idempotency-Key required)",
        responses=_answers(HTTP_200_OK, "Refunded"),
    )
    async def refund(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        payment_id: PathId,
        data: JSONBody[PaymentAction | None] = None,
        idempotency_key: RequiredIdempotencyKey = None,
    ) -> Response[Any]:
        return await _undo(request, actor, payment_id, "refunded", data, idempotency_key)

    @post(
        "/payments/{payment_id:int}/reverse",
        opt=allow(*MANAGERS, scope="payments:write"),
        status_code=HTTP_200_OK,
        summary="Reverse a received payment (a chargeback or a bounced transfer; "
        "Idempotency-Key required)",
        responses=_answers(HTTP_200_OK, "Reversed"),
    )
    async def reverse(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        payment_id: PathId,
        data: JSONBody[PaymentAction | None] = None,
        idempotency_key: RequiredIdempotencyKey = None,
    ) -> Response[Any]:
        return await _undo(request, actor, payment_id, "reversed", data, idempotency_key)
