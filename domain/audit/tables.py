from piccolo.columns import JSONB, BigInt, BigSerial, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.tenancy.tables import Tenant


class AuditEntry(Table, tablename="audit_log"):
    """Who changed what: one append-only row per mutation, with before and after."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    actor_type = Varchar(length=12)
    actor_id = BigInt(null=True, default=None)
    action = Varchar(length=60)
    entity_type = Varchar(length=40)
    entity_id = BigInt(null=True, default=None)
    before = JSONB(null=True, default=None)
    after = JSONB(null=True, default=None)
    request_id = Varchar(length=64, null=True, default=None)
    occurred_at = Timestamptz(default=TimestamptzNow())
