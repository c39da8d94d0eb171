"""Payment providers' webhooks: verified, parsed, and handed to the domain to settle."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from domain.errors import NotFound
from domain.payments import providers
from domain.payments.provider_events import apply_provider_event
from server.resources import Resources


class ProviderWebhookController(Controller):
    path = "/webhooks/payments"
    tags = ["webhooks"]
    opt = {"exclude_from_auth": True}

    @post(
        "/{provider:str}",
        status_code=HTTP_200_OK,
        summary="A payment provider's event (Stripe-format signature required)",
        # The body is read raw, to check its signature: too large (413), not signed or not
        # understood (400).
        opt={"problems": (400, 413)},
    )
    async def receive(
        self, request: Request[Any, Any, Any], provider: FromPath[str]
    ) -> dict[str, str]:
        resources: Resources = request.app.state.resources
        secrets = resources.settings.webhook_secrets(provider)
        if secrets is None:
            raise NotFound(f"no payment provider called {provider!r}")
        body = await request.body()
        providers.verify(body, request.headers.get("stripe-signature"), list(secrets))
        event = providers.parse(body)
        return {"status": await apply_provider_event(resources.db, provider, event, body)}
