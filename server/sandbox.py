"""The sandbox payment provider: a hosted checkout served by Recoup that behaves like a real
provider. "Pay" or "Decline" on its page sends, a moment later and from a worker, a signed
Stripe-shaped webhook to Recoup's own provider webhook endpoint; the payment settles only
when that webhook is verified and processed, exactly as with a real provider.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from html import escape
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect

from domain.money import minor_digits
from domain.payments.service import CHECKOUT_LIFETIME
from server.pages import message, page

_KEY = "recoup:sandbox:checkout:{}"
_TTL = int(CHECKOUT_LIFETIME.total_seconds())


class Checkout(msgspec.Struct, kw_only=True):
    id: str
    amount: str
    currency: str
    creditor: str
    return_url: str
    outcome: str | None = None


def new_checkout_id() -> str:
    return "pi_sandbox_" + secrets.token_hex(12)


async def create_checkout(
    redis: Any, checkout_id: str, amount: Decimal, currency: str, creditor: str, return_url: str
) -> str:
    """Open a checkout session; returns the page the debtor pays on."""
    session = Checkout(
        id=checkout_id,
        amount=str(amount),
        currency=currency,
        creditor=creditor,
        return_url=return_url,
    )
    await redis.set(_KEY.format(checkout_id), msgspec.json.encode(session), ex=_TTL)
    return f"/sandbox/checkout/{checkout_id}"


async def _load(redis: Any, checkout_id: str) -> Checkout | None:
    raw = await redis.get(_KEY.format(checkout_id))
    return msgspec.json.decode(raw, type=Checkout) if raw else None


def stripe_event(session: Checkout, outcome: Literal["pay", "decline"]) -> bytes:
    """The event a real provider would send, in Stripe's shape (amounts in minor units)."""
    minor = int(Decimal(session.amount).scaleb(minor_digits(session.currency)))
    obj: dict[str, Any] = {
        "id": session.id,
        "object": "payment_intent",
        "amount": minor,
        "amount_received": minor if outcome == "pay" else 0,
        "currency": session.currency.lower(),
        "status": "succeeded" if outcome == "pay" else "requires_payment_method",
    }
    if outcome == "decline":
        obj["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
    return msgspec.json.encode(
        {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": "payment_intent.succeeded"
            if outcome == "pay"
            else "payment_intent.payment_failed",
            "data": {"object": obj},
        }
    )


class SandboxChoice(msgspec.Struct):
    outcome: Literal["pay", "decline"]


class SandboxCheckoutController(Controller):
    path = "/sandbox/checkout"
    opt = {"exclude_from_auth": True}
    include_in_schema = False

    @get("/{checkout_id:str}")
    async def show(
        self, request: Request[Any, Any, Any], checkout_id: FromPath[str]
    ) -> Response[str]:
        session = await _load(request.app.state.resources.redis, checkout_id)
        if session is None:
            return message(
                "Checkout not found", "This checkout has expired or never existed.", status=404
            )
        if session.outcome:
            return message("Already done", "This checkout has already been completed.")
        amount = f"{escape(session.amount)} {escape(session.currency)}"
        return page(
            "Sandbox checkout",
            f"""
<p class="eyebrow">Sandbox payment provider · no real money moves</p>
<h1>Pay {escape(session.creditor)}</h1>
<p class="amount">{amount}</p>
<form method="post" action="/sandbox/checkout/{escape(session.id)}">
  <label for="card">Card number</label>
  <input id="card" name="card" value="4242 4242 4242 4242" autocomplete="off" readonly>
  <button class="primary" name="outcome" value="pay">Pay {amount}</button>
  <button name="outcome" value="decline">Decline the card</button>
</form>""",
        )

    @post("/{checkout_id:str}", status_code=303)
    async def choose(
        self,
        request: Request[Any, Any, Any],
        checkout_id: FromPath[str],
        data: Annotated[SandboxChoice, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        redis = request.app.state.resources.redis
        session = await _load(redis, checkout_id)
        if session is None:
            return message(
                "Checkout not found", "This checkout has expired or never existed.", status=404
            )
        if session.outcome is None:
            session.outcome = data.outcome
            await redis.set(_KEY.format(checkout_id), msgspec.json.encode(session), ex=_TTL)
            from tasks.payments import deliver_sandbox_webhook

            await request.app.state.resources.kick(
                deliver_sandbox_webhook, stripe_event(session, data.outcome).decode()
            )
        return Redirect(session.return_url, status_code=303)
