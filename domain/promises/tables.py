from piccolo.columns import (
    UUID,
    BigSerial,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.accounts.tables import MONEY, Account
from domain.tenancy.tables import Tenant
from domain.users.tables import User


class Promise(Table, tablename="promises"):
    """A debtor's commitment to pay an amount by a date; one row per instalment."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    account_id = ForeignKey(references=Account, on_delete=OnDelete.cascade, null=False)
    plan_id = UUID(null=True, default=None)
    instalment = Integer(default=1)
    instalments = Integer(default=1)
    source = Varchar(length=12, default="staff")
    amount = Numeric(digits=MONEY)
    currency = Varchar(length=3)
    due_date = Date()
    status = Varchar(length=12, default="pending")
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    resolved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
