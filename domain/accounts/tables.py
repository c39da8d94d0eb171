from decimal import Decimal

from piccolo.columns import (
    JSONB,
    BigSerial,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.debtors.tables import Debtor
from domain.tenancy.tables import Tenant
from domain.users.tables import User

# Four decimal places hold every ISO 4217 currency exactly (JPY 0, USD 2, BHD 3, CLF 4);
# the number of decimals an amount may carry is checked per currency in domain.money.
MONEY = (20, 4)


class Account(Table, tablename="accounts"):
    """One debt owed by a debtor: what is outstanding, since when, and who works it."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    debtor_id = ForeignKey(references=Debtor, on_delete=OnDelete.restrict, null=False)
    external_ref = Varchar(length=100)
    creditor = Varchar(length=200, default="")
    currency = Varchar(length=3)
    principal = Numeric(digits=MONEY, default=Decimal(0))
    interest = Numeric(digits=MONEY, default=Decimal(0))
    fees = Numeric(digits=MONEY, default=Decimal(0))
    # Paid beyond the balance, when the tenant holds overpayments as credit.
    credit = Numeric(digits=MONEY, default=Decimal(0))
    due_date = Date(null=True, default=None)
    status = Varchar(length=20, default="active")
    owner_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    custom = JSONB(default="{}")
    version = Integer(default=1)
    # The balance it was placed for (principal, interest and fees at creation): a trigger
    # sets it on insert (migrations, 2026-11-30T18:20); the liquidation rate's denominator.
    placed_balance = Numeric(digits=MONEY, null=True, default=None)
    # The open dispute (status 'disputed'): when, why, and in the debtor's words.
    disputed_at = Timestamptz(null=True, default=None)
    dispute_reason = Varchar(length=20, null=True, default=None)
    dispute_details = Text(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
