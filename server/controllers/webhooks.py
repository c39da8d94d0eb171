"""Outbound webhook endpoints, their deliveries and attempts, over REST.

Admins, and API keys holding ``webhooks:manage``. A new endpoint's signing secret (and a
rotated one) is in the response and nowhere else afterwards.
"""

# No ``from __future__ import annotations``: Litestar reads these annotations at runtime.
from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, QueryParameter

from domain.pagination import Page
from domain.webhooks.schemas import (
    Replayed,
    ReplayRange,
    TestEventSent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookEventTypes,
    WebhookSecret,
)
from domain.webhooks.service import WebhookEndpointService
from domain.webhooks.signing import SecretBox
from server.auth.guards import ADMINS, allow
from server.controllers.params import DEFAULT_LIMIT, Cursor, Limit, PathId
from server.transaction import request_transaction

Status = Annotated[
    Literal["pending", "succeeded", "failed", "dead"] | None,
    QueryParameter(description="only the deliveries in this state"),
]
_BOXES: dict[str, SecretBox] = {}


async def provide_webhooks(request: Request[Any, Any, Any]) -> WebhookEndpointService:
    settings = request.app.state.resources.settings
    box = _BOXES.get(settings.secret_key)
    if box is None:
        box = _BOXES[settings.secret_key] = SecretBox(settings.secret_key)
    transaction = request_transaction()
    return WebhookEndpointService(
        await transaction.connection(),
        transaction.actor,
        box=box,
        allow_local=settings.webhooks_allow_local,
    )


class WebhookEndpointController(Controller):
    path = "/webhook-endpoints"
    tags = ["webhooks"]
    opt = allow(*ADMINS, scope="webhooks:manage")
    dependencies = {"webhooks": Provide(provide_webhooks)}

    @get("/", summary="Webhook endpoints (never their secrets)")
    async def list_endpoints(
        self,
        webhooks: NamedDependency[WebhookEndpointService],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[WebhookEndpoint]:
        return webhooks.paged(await webhooks.list(), cursor, limit)

    @get("/event-types", summary="The event types an endpoint can choose from")
    async def event_types(
        self, webhooks: NamedDependency[WebhookEndpointService]
    ) -> WebhookEventTypes:
        return webhooks.event_types()

    @post(
        "/",
        summary="Add a webhook endpoint; the response is the only time its secret is shown",
        description=(
            "The URL must be https and every address its host resolves to public (not "
            "loopback, private, link-local or carrier-grade NAT): 422 naming `url` if not. "
            "`event_types` empty: every event."
        ),
    )
    async def create(
        self,
        webhooks: NamedDependency[WebhookEndpointService],
        data: JSONBody[WebhookEndpointCreate],
    ) -> WebhookSecret:
        return await webhooks.create(data)

    @get("/{endpoint_id:int}", summary="One webhook endpoint")
    async def get_endpoint(
        self, webhooks: NamedDependency[WebhookEndpointService], endpoint_id: PathId
    ) -> WebhookEndpoint:
        return await webhooks.get(endpoint_id)

    @patch("/{endpoint_id:int}", summary="Change, enable or disable a webhook endpoint")
    async def update(
        self,
        webhooks: NamedDependency[WebhookEndpointService],
        endpoint_id: PathId,
        data: JSONBody[WebhookEndpointUpdate],
    ) -> WebhookEndpoint:
        return await webhooks.update(endpoint_id, data)

    @delete("/{endpoint_id:int}", status_code=204, summary="Remove a webhook endpoint")
    async def remove(
        self, webhooks: NamedDependency[WebhookEndpointService], endpoint_id: PathId
    ) -> None:
        await webhooks.delete(endpoint_id)

    @post(
        "/{endpoint_id:int}/rotate-secret",
        status_code=200,
        summary="A new signing secret; the old one signs beside it for 24 hours",
        description=(
            "409 while the secret before it still signs (within 24 hours of the last "
            "rotation): rotating again then would cut off receivers still using that one."
        ),
    )
    async def rotate(
        self, webhooks: NamedDependency[WebhookEndpointService], endpoint_id: PathId
    ) -> WebhookSecret:
        return await webhooks.rotate(endpoint_id)

    @post(
        "/{endpoint_id:int}/test",
        status_code=200,
        summary="Send the endpoint a webhook.test event",
        description="Delivered like any event (see its deliveries); 409 if it is disabled.",
    )
    async def send_test(
        self, webhooks: NamedDependency[WebhookEndpointService], endpoint_id: PathId
    ) -> TestEventSent:
        return await webhooks.send_test(endpoint_id)

    @get("/{endpoint_id:int}/deliveries", summary="The endpoint's deliveries, newest first")
    async def deliveries(
        self,
        webhooks: NamedDependency[WebhookEndpointService],
        endpoint_id: PathId,
        status: Status = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[WebhookDelivery]:
        return await webhooks.deliveries(endpoint_id, status=status, cursor=cursor, limit=limit)

    @get(
        "/deliveries/{delivery_id:int}/attempts",
        summary="Every request made for a delivery, oldest first",
    )
    async def attempts(
        self,
        webhooks: NamedDependency[WebhookEndpointService],
        delivery_id: PathId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Page[WebhookAttempt]:
        return await webhooks.attempts(delivery_id, cursor=cursor, limit=limit)

    @post(
        "/deliveries/{delivery_id:int}/replay",
        status_code=200,
        summary="Send a delivery again, with the same webhook-id",
    )
    async def replay(
        self,
        webhooks: NamedDependency[WebhookEndpointService],
        delivery_id: PathId,
    ) -> WebhookDelivery:
        return await webhooks.replay(delivery_id)

    @post(
        "/{endpoint_id:int}/replay-failed",
        status_code=200,
        summary="Send again every failed or dead-lettered delivery made in a time range",
    )
    async def replay_failed(
        self,
        webhooks: NamedDependency[WebhookEndpointService],
        endpoint_id: PathId,
        data: JSONBody[ReplayRange],
    ) -> Replayed:
        return await webhooks.replay_failed(endpoint_id, data)
