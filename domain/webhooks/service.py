"""Webhook endpoints and their deliveries, as admins and integrators manage them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from channels import names
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.db import Connection
from domain.errors import Conflict, InvalidInput, NotFound
from domain.outbox import events
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.service import Service
from domain.webhooks import queries
from domain.webhooks.schemas import (
    LastFailure,
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
from domain.webhooks.signing import SecretBox, new_secret
from domain.webhooks.urls import UrlPolicy, check_url

# How long a rotated-out secret still signs, so that receivers can switch without a gap.
ROTATION_OVERLAP = dt.timedelta(hours=24)
MAX_ENDPOINTS = 20
MAX_REPLAY_RANGE = dt.timedelta(days=31)
STATUSES = ("pending", "succeeded", "failed", "dead")
# What an endpoint may choose from: every type the outbox carries but the wallboard's
# figures (published, never in the outbox) and the test event (sent on request only).
EVENT_TYPES = tuple(
    sorted(
        value
        for name, value in vars(events).items()
        if name.isupper()
        and isinstance(value, str)
        and value not in (events.WALLBOARD_KPIS, events.WEBHOOK_TEST)
    )
)


WORKFLOW_EVENT_PREFIX = "workflow."


def check_event_types(types: list[str]) -> list[str]:
    """The types, once each, every one known or a workflow's own (``workflow.<event>``, what
    an emit step sends): any other would never be delivered."""
    for n, name in enumerate(types):
        if name not in EVENT_TYPES and not name.startswith(WORKFLOW_EVENT_PREFIX):
            raise InvalidInput(
                f"unknown event type {name!r} (GET /api/v1/webhook-endpoints/event-types "
                "lists them; a workflow's emit step sends workflow.<event>)",
                field=f"event_types[{n}]",
            )
    return sorted(set(types))


def to_endpoint(row: asyncpg.Record) -> WebhookEndpoint:
    """(Its dead letters and last failure where the row has them: a listed or read one.)"""
    fields = {k: row[k] for k in WebhookEndpoint.__struct_fields__ if k in row}
    if fields.get("last_failure") is not None:
        fields["last_failure"] = msgspec.convert(fields["last_failure"], LastFailure)
    return WebhookEndpoint(**fields)


def to_delivery(row: asyncpg.Record) -> WebhookDelivery:
    return WebhookDelivery(**dict(row))


def _settings(endpoint: WebhookEndpoint | None) -> Any:
    """What the audit and the event keep of an endpoint: its settings, not its figures."""
    if endpoint is None:
        return None
    kept: dict[str, Any] = msgspec.to_builtins(endpoint)
    for figure in ("dead_letters", "last_failure"):
        kept.pop(figure, None)
    return kept


class WebhookEndpointService(Service):
    """``box`` seals secrets under the server's key; ``allow_local`` is the deployment's
    setting that admits loopback receivers (development)."""

    def __init__(
        self,
        conn: Connection,
        actor: Actor,
        clock: Clock = utcnow,
        *,
        box: SecretBox,
        allow_local: bool = False,
    ) -> None:
        super().__init__(conn, actor, clock)
        self.box = box
        self.allow_local = allow_local

    async def policy(self) -> UrlPolicy:
        tenant = await self.tenant()
        return UrlPolicy(
            allow_local=self.allow_local, allow_http=tenant.settings.webhooks.allow_http
        )

    def event_types(self) -> WebhookEventTypes:
        return WebhookEventTypes(event_types=list(EVENT_TYPES))

    async def list(self) -> list[WebhookEndpoint]:
        return [to_endpoint(r) for r in await queries.list_endpoints(self.conn)]

    async def get(self, endpoint_id: int) -> WebhookEndpoint:
        row = await queries.get_endpoint(self.conn, endpoint_id)
        if row is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found")
        return to_endpoint(row)

    async def create(self, data: WebhookEndpointCreate) -> WebhookSecret:
        url = await check_url(data.url, await self.policy())
        if await queries.count_endpoints(self.conn) >= MAX_ENDPOINTS:
            raise Conflict(f"a tenant has at most {MAX_ENDPOINTS} webhook endpoints")
        secret = new_secret()
        row = await queries.insert_endpoint(
            self.conn,
            tenant_id=self.actor.tenant_id,
            url=url,
            description=data.description.strip(),
            event_types=check_event_types(data.event_types),
            enabled=data.enabled,
            secret_enc=self.box.seal(secret),
        )
        endpoint = to_endpoint(row)
        await self._record("create", endpoint.id, None, endpoint, events.WEBHOOK_ENDPOINT_CREATED)
        return WebhookSecret(endpoint=endpoint, secret=secret)

    async def update(self, endpoint_id: int, data: WebhookEndpointUpdate) -> WebhookEndpoint:
        before = await self.get(endpoint_id)
        url = before.url
        if data.url is not msgspec.UNSET:
            url = await check_url(data.url, await self.policy())
        row = await queries.update_endpoint(
            self.conn,
            endpoint_id,
            url=url,
            description=(
                before.description
                if data.description is msgspec.UNSET
                else data.description.strip()
            ),
            event_types=(
                before.event_types
                if data.event_types is msgspec.UNSET
                else check_event_types(data.event_types)
            ),
            enabled=before.enabled if data.enabled is msgspec.UNSET else data.enabled,
            at=self.clock(),
        )
        after = to_endpoint(row)
        await self._record("update", endpoint_id, before, after, events.WEBHOOK_ENDPOINT_UPDATED)
        return await self.get(endpoint_id)

    async def rotate(self, endpoint_id: int) -> WebhookSecret:
        """A new secret; the old one signs beside it for ``ROTATION_OVERLAP``. Not again
        while a previous secret still signs: the secret before it would stop signing at once,
        and receivers still checking with it would refuse every delivery without warning
        (409; rotate again once the 24 hours are over)."""
        before = await self.get(endpoint_id)
        now = self.clock()
        until = before.previous_secret_until
        if until is not None and until > now:
            raise Conflict(
                "the secret was rotated less than 24 hours ago and the one before it still "
                f"signs until {until.isoformat()}: rotate again after that"
            )
        secret = new_secret()
        row = await queries.rotate_secret(
            self.conn, endpoint_id, self.box.seal(secret), now + ROTATION_OVERLAP, now
        )
        after = to_endpoint(row)
        await self._record(
            "rotate_secret", endpoint_id, before, after, events.WEBHOOK_ENDPOINT_UPDATED
        )
        return WebhookSecret(endpoint=await self.get(endpoint_id), secret=secret)

    async def send_test(self, endpoint_id: int) -> TestEventSent:
        """A ``webhook.test`` event for this endpoint alone, delivered like any other."""
        endpoint = await self.get(endpoint_id)
        if not endpoint.enabled:
            raise Conflict("the endpoint is disabled: enable it to send it a test event")
        event = await self.changes.record(
            action="webhook_endpoint.test",
            entity_type="webhook_endpoint",
            entity_id=endpoint_id,
            before=None,
            after=None,
            event_type=events.WEBHOOK_TEST,
            channels=[names.WEBHOOKS],
            data={"endpoint_id": endpoint_id, "message": "A test event from Recoup"},
        )
        assert event is not None
        return TestEventSent(event_id=event.id)

    async def delete(self, endpoint_id: int) -> None:
        before = await self.get(endpoint_id)
        await queries.delete_endpoint(self.conn, endpoint_id)
        await self._record("delete", endpoint_id, before, None, events.WEBHOOK_ENDPOINT_DELETED)

    async def _record(
        self,
        action: str,
        endpoint_id: int,
        before: WebhookEndpoint | None,
        after: WebhookEndpoint | None,
        event_type: str,
    ) -> None:
        b, a = _settings(before), _settings(after)
        await self.changes.record(
            action=f"webhook_endpoint.{action}",
            entity_type="webhook_endpoint",
            entity_id=endpoint_id,
            before=b,
            after=a,
            event_type=event_type,
            channels=[names.WEBHOOKS],
            data=a if a is not None else {"id": endpoint_id},
        )

    # Deliveries

    async def deliveries(
        self,
        endpoint_id: int,
        *,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[WebhookDelivery]:
        """The endpoint's deliveries, newest first."""
        check_limit(limit)
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status is one of {', '.join(STATUSES)}", field="status")
        await self.get(endpoint_id)
        before = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.deliveries(
            self.conn, endpoint_id, status=status, before=before, limit=limit + 1
        )
        return page(
            [to_delivery(r) for r in rows], limit, lambda d: (d.id,), tenant_id=self.actor.tenant_id
        )

    async def delivery(self, delivery_id: int) -> WebhookDelivery:
        row = await queries.get_delivery(self.conn, delivery_id)
        if row is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        return to_delivery(row)

    async def attempts(
        self, delivery_id: int, *, cursor: str | None = None, limit: int = 50
    ) -> Page[WebhookAttempt]:
        """Every request made for the delivery, oldest first."""
        check_limit(limit)
        await self.delivery(delivery_id)
        after = (
            decode_cursor(cursor, tuple[int], tenant_id=self.actor.tenant_id)[0] if cursor else None
        )
        rows = await queries.attempts(self.conn, delivery_id, after=after, limit=limit + 1)
        return page(
            [WebhookAttempt(**dict(r)) for r in rows],
            limit,
            lambda a: (a.id,),
            tenant_id=self.actor.tenant_id,
        )

    async def replay(self, delivery_id: int) -> WebhookDelivery:
        """Send one delivery again (same ``webhook-id``); one still pending is left as is."""
        found = await self.delivery(delivery_id)
        await self._replay(found.endpoint_id, delivery_id=delivery_id)
        return await self.delivery(delivery_id)

    async def replay_failed(self, endpoint_id: int, data: ReplayRange) -> Replayed:
        if data.since.tzinfo is None or data.until.tzinfo is None:
            raise InvalidInput("since and until need a time zone offset", field="since")
        if data.until <= data.since:
            raise InvalidInput("until must be after since", field="until")
        if data.until - data.since > MAX_REPLAY_RANGE:
            raise InvalidInput("at most 31 days at a time", field="until")
        await self.get(endpoint_id)
        ids = await self._replay(endpoint_id, since=data.since, until=data.until)
        return Replayed(replayed=len(ids))

    async def _replay(self, endpoint_id: int, **which: Any) -> list[int]:
        ids = await queries.replay(
            self.conn,
            endpoint_id,
            delivery_id=which.get("delivery_id"),
            since=which.get("since"),
            until=which.get("until"),
            at=self.clock(),
        )
        if ids:
            await self.changes.record(
                action="webhook_delivery.replay",
                entity_type="webhook_endpoint",
                entity_id=endpoint_id,
                before=None,
                after={"deliveries": ids},
                event_type=events.WEBHOOK_DELIVERIES_REPLAYED,
                channels=[names.WEBHOOKS],
                data={"endpoint_id": endpoint_id, "deliveries": len(ids)},
            )
        return ids
