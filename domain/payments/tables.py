from decimal import Decimal

from piccolo.columns import (
    BigSerial,
    ForeignKey,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.accounts.tables import MONEY, Account
from domain.tenancy.tables import Tenant
from domain.users.tables import User


class Payment(Table, tablename="payments"):
    """Money received (or attempted) against an account, with how it was allocated."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    account_id = ForeignKey(references=Account, on_delete=OnDelete.restrict, null=False)
    amount = Numeric(digits=MONEY)
    currency = Varchar(length=3)
    status = Varchar(length=12, default="pending")
    method = Varchar(length=20, default="card")
    provider = Varchar(length=40, null=True, default=None)
    provider_ref = Varchar(length=120, null=True, default=None)
    applied_fees = Numeric(digits=MONEY, default=Decimal(0))
    applied_interest = Numeric(digits=MONEY, default=Decimal(0))
    applied_principal = Numeric(digits=MONEY, default=Decimal(0))
    idempotency_key = Varchar(length=200, null=True, default=None)
    failure_reason = Text(null=True, default=None)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    received_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
