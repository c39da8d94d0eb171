from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    BigSerial,
    ForeignKey,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.tenancy.tables import Tenant


class OutboxEvent(Table, tablename="outbox"):
    """An event written in the same transaction as its change, waiting for the relay."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    event_id = UUID(unique=True)
    type = Varchar(length=40)
    channels = Array(base_column=Varchar(length=120))
    data = JSONB(default="{}")
    occurred_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)
    # The event's position on each of its channels (in the order of ``channels``), once
    # published: what a history lost with Redis is refilled with.
    positions = Array(base_column=Varchar(length=60), null=True, default=None)
