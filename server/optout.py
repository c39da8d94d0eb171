"""Opt-out links from e-mails and text messages: one click to confirm, honoured at once."""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from domain.actor import Actor
from domain.compliance.optout import read_optout
from domain.debtors.service import DebtorService
from domain.errors import RecoupError
from server.pages import message, page

_WORDS = {"call": "phone calls", "sms": "text messages", "email": "e-mails"}


class OptOutController(Controller):
    path = "/optout"
    opt = {"exclude_from_auth": True}
    include_in_schema = False

    @get("/{token:str}")
    async def confirm(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        try:
            _, _, channel = read_optout(request.app.state.resources.settings.secret_key, token)
        except RecoupError as exc:
            return message(exc.title, exc.detail, status=exc.status)
        return page(
            "Stop messages",
            f"""
<h1>Stop {escape(_WORDS[channel])}?</h1>
<p>We will not contact you this way again.</p>
<form method="post" action="/optout/{escape(token)}">
  <button class="primary">Stop {escape(_WORDS[channel])}</button>
</form>""",
        )

    @post("/{token:str}", status_code=200)
    async def apply(self, request: Request[Any, Any, Any], token: FromPath[str]) -> Response[str]:
        resources = request.app.state.resources
        try:
            tenant_id, debtor_id, channel = read_optout(resources.settings.secret_key, token)
            actor = Actor(tenant_id=tenant_id, type="debtor")
            async with resources.db.tenant(tenant_id) as conn:
                await DebtorService(conn, actor).opt_out(debtor_id, channel)
        except RecoupError as exc:
            return message(exc.title, exc.detail, status=exc.status)
        return message("Done", f"You will receive no more {_WORDS[channel]} from us.")
