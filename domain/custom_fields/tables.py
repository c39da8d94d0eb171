"""The custom field definitions' table, as the migration made it (declared here so the
schema checks and the tenancy tests know it)."""

from piccolo.columns import (
    JSONB,
    BigSerial,
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


class CustomField(Table, tablename="custom_fields"):
    """One key of the ``custom`` object of a tenant's debtors or accounts."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    entity = Varchar(length=10)
    key = Varchar(length=63)
    label = Varchar(length=100)
    type = Varchar(length=20)
    options = JSONB(default="[]")
    expression = Text(null=True, default=None)
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
