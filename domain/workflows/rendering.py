"""A message as it goes to one debtor: a template rendered with the account, the payment
that triggered it, a payment link when the template asks for one, and always an opt-out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from babel.dates import format_date

from domain.compliance.optout import optout_url
from domain.payments.links import PaymentLinkService
from domain.payments.schemas import receipt_number
from domain.service import Service
from domain.workflows import templates
from domain.workflows.links import Links
from domain.workflows.variables import variables


async def render_message(
    service: Service,
    template: Mapping[str, Any],
    channel: str,
    event: Mapping[str, Any],
    subject: Any,
    links: Links,
    *,
    make_link: bool,
    payment_link: str | None = None,
) -> tuple[str, str]:
    """A template's subject and body for one account, with its opt-out link (added at the
    end when the template does not place it). A payment link is made only when the
    template uses one and ``make_link`` is set (a preview shows a placeholder), unless the
    caller made it already (``payment_link``)."""
    tenant = await service.tenant()
    seen = variables(subject, tenant, await service.today(), event)
    values = templates.account_fields(seen["account"], seen["debtor"], subject)
    values["tenant"] = {"name": tenant.name}
    opt_out = optout_url(links.base_url, links.secret, tenant.id, subject["debtor_id"], channel)
    values["opt_out_link"] = opt_out
    values["payment"] = _payment(event)
    values["promise"] = _promise(event)
    values["payment_link"] = "(a payment link is made when the message is sent)"
    wants_link = templates.uses(template["subject"], "payment_link") or templates.uses(
        template["body"], "payment_link"
    )
    if payment_link is not None:
        values["payment_link"] = payment_link
    elif wants_link and make_link:
        maker = PaymentLinkService(
            service.conn, service.actor, service.clock, secret=links.secret, base_url=links.base_url
        )
        values["payment_link"] = (await maker.create(subject["id"], 72)).url
    subject_line = templates.render(template["subject"], values).strip()
    body = templates.render(template["body"], values)
    if opt_out not in body:
        if channel == "email":
            body = f"{body.rstrip()}\n\nTo stop these e-mails: {opt_out}\n"
        else:
            body = f"{body.rstrip()} Opt out: {opt_out}"
    return subject_line[:300], body


def _payment(event: Mapping[str, Any]) -> dict[str, Any]:
    data = event.get("data") or {}
    if isinstance(data.get("payment"), dict):
        data = data["payment"]
    amount, currency = data.get("amount"), data.get("currency")
    if not (isinstance(amount, str) and isinstance(currency, str)):
        return {"amount": "", "receipt": "", "method": ""}
    try:
        formatted = templates.money(Decimal(amount), currency)
    except (ArithmeticError, ValueError):
        formatted = f"{amount} {currency}"
    receipt = data.get("receipt") or (receipt_number(data["id"]) if "id" in data else "")
    return {"amount": formatted, "receipt": receipt, "method": data.get("method") or ""}


def _promise(event: Mapping[str, Any]) -> dict[str, Any]:
    """The promise the event is about (the first of a plan just made): its amount in its
    currency and its due date in words; empty for an event about no promise."""
    data = event.get("data") or {}
    found = data.get("promise")
    if not isinstance(found, dict) and isinstance(data.get("promises"), list) and data["promises"]:
        found = data["promises"][0]
    if not isinstance(found, dict):
        return {"amount": "", "due_date": ""}
    amount, currency = found.get("amount"), found.get("currency")
    formatted = amount if isinstance(amount, str) else ""
    if isinstance(amount, str) and isinstance(currency, str):
        try:
            formatted = templates.money(Decimal(amount), currency)
        except (ArithmeticError, ValueError):
            formatted = f"{amount} {currency}"
    due = found.get("due_date")
    try:
        due_text = format_date(dt.date.fromisoformat(due), "long", locale="en_US")
    except (TypeError, ValueError):
        due_text = ""
    return {"amount": formatted, "due_date": due_text}
