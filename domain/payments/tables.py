from decimal import Decimal

from piccolo.columns import (
    JSONB,
    BigInt,
    BigSerial,
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
    applied_credit = Numeric(digits=MONEY, default=Decimal(0))
    reference = Varchar(length=120, null=True, default=None)
    source = Varchar(length=12, default="staff")
    idempotency_key = Varchar(length=200, null=True, default=None)
    # The payment's own reference in the file it was imported from: unique per tenant.
    external_ref = Varchar(length=120, null=True, default=None)
    failure_reason = Text(null=True, default=None)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    received_at = Timestamptz(null=True, default=None)
    # Its account's placement (created_at), set by a trigger on insert: the liquidation
    # report's month (migrations, 2026-11-30T18:20).
    placed_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None)
    refunded_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class IdempotencyKey(Table, tablename="idempotency_keys"):
    """A caller's Idempotency-Key: the request it came with and the response it got. Keys
    are unique per caller ("user:12", "api_key:3") within a tenant."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    caller = Varchar(length=80)
    key = Varchar(length=200)
    request_hash = Varchar(length=64)
    status = Varchar(length=12, default="in_flight")
    response_status = Integer(null=True, default=None)
    response_body = JSONB(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    completed_at = Timestamptz(null=True, default=None)


class PaymentLink(Table, tablename="payment_links"):
    """A debtor's way in: a signed, expiring, revocable link to one account's payment page."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    account_id = ForeignKey(references=Account, on_delete=OnDelete.cascade, null=False)
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    expires_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    # When the debtor first opened it (the account's timeline shows it).
    opened_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class ProviderEvent(Table, tablename="provider_events"):
    """A payment provider's webhook event, recorded once so that redeliveries change nothing."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    provider = Varchar(length=40)
    event_id = Varchar(length=120)
    type = Varchar(length=80)
    payment_id = BigInt(null=True, default=None)
    payload = JSONB(default="{}")
    received_at = Timestamptz(default=TimestamptzNow())
