from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
EventType = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=60)]
Description = Annotated[str, msgspec.Meta(max_length=500)]
EventTypes = Annotated[list[EventType], msgspec.Meta(max_length=100)]


class LastFailure(msgspec.Struct, kw_only=True):
    """The endpoint's latest failed attempt: its time and the answer (status) or the error."""

    at: dt.datetime
    status: int | None
    error: str | None


class WebhookEndpoint(msgspec.Struct, kw_only=True):
    id: int
    url: str
    description: str
    # Empty: every event type.
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    # While a rotation's old secret still signs (both signatures are sent until then).
    previous_secret_until: dt.datetime | None
    failing_since: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # Deliveries given up on (dead-lettered, or failed on a 410): a replay sends them again.
    dead_letters: int = 0
    last_failure: LastFailure | None = None


class WebhookEndpointCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url
    description: Description = ""
    event_types: EventTypes = []
    enabled: bool = True


class WebhookEndpointUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


class WebhookSecret(msgspec.Struct, kw_only=True):
    """The only time an endpoint's signing secret is shown (at creation and rotation)."""

    endpoint: WebhookEndpoint
    secret: str


class WebhookDelivery(msgspec.Struct, kw_only=True):
    id: int
    endpoint_id: int
    event_id: uuid.UUID
    webhook_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status: int | None
    last_latency_ms: int | None
    last_response: str | None
    last_error: str | None
    occurred_at: dt.datetime
    created_at: dt.datetime


class WebhookAttempt(msgspec.Struct, kw_only=True):
    id: int
    attempted_at: dt.datetime
    status: int | None
    latency_ms: int | None
    response: str | None
    error: str | None


class ReplayRange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Every failed or dead-lettered delivery of the endpoint made in [since, until)."""

    since: dt.datetime
    until: dt.datetime


class Replayed(msgspec.Struct, kw_only=True):
    replayed: int


class TestEventSent(msgspec.Struct, kw_only=True):
    """The test event's id: its delivery's ``webhook-id`` is ``msg_`` and its hex."""

    event_id: uuid.UUID


class WebhookEventTypes(msgspec.Struct, kw_only=True):
    """The event types Recoup sends, for choosing an endpoint's (custom ones from workflows
    may be chosen too)."""

    event_types: list[str]
