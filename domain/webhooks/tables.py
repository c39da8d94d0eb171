from piccolo.columns import (
    UUID,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.tenancy.tables import Tenant


class WebhookEndpoint(Table, tablename="webhook_endpoints"):
    """Where a tenant's events go, signed with the endpoint's secret (kept encrypted)."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    url = Varchar(length=2000)
    description = Varchar(length=500, default="")
    event_types = Array(base_column=Varchar(length=60))
    enabled = Boolean(default=True)
    disabled_reason = Varchar(length=200, null=True, default=None)
    secret_enc = Text()
    previous_secret_enc = Text(null=True, default=None)
    previous_secret_until = Timestamptz(null=True, default=None)
    failing_since = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table, tablename="webhook_deliveries"):
    """One event to one endpoint: pending until a 2xx, then succeeded; failed once replays
    are possible, dead after the last retry."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    endpoint_id = BigInt()
    event_id = UUID()
    webhook_id = Varchar(length=40)
    event_type = Varchar(length=60)
    account_id = BigInt(default=0)
    payload = Text()
    status = Varchar(length=12, default="pending")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    locked_until = Timestamptz(null=True, default=None)
    lease = UUID(null=True, default=None)
    sending_since = Timestamptz(null=True, default=None)
    last_status = Integer(null=True, default=None)
    last_latency_ms = Integer(null=True, default=None)
    last_response = Text(null=True, default=None)
    last_error = Varchar(length=500, null=True, default=None)
    occurred_at = Timestamptz()
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class WebhookAttempt(Table, tablename="webhook_attempts"):
    """Every request made for a delivery: its status, latency and the start of the answer."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    delivery_id = BigInt()
    attempted_at = Timestamptz()
    status = Integer(null=True, default=None)
    latency_ms = Integer(null=True, default=None)
    response = Text(null=True, default=None)
    error = Varchar(length=500, null=True, default=None)
