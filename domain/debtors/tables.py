from piccolo.columns import JSONB, BigSerial, Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.tenancy.tables import Tenant


class Debtor(Table, tablename="debtors"):
    """A person who owes; contact data, time zone and the contact choices they made."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    external_ref = Varchar(length=100, null=True, default=None)
    first_name = Varchar(length=100, default="")
    last_name = Varchar(length=100, default="")
    email = Varchar(length=254, null=True, default=None)
    phone = Varchar(length=32, null=True, default=None)
    address_line1 = Varchar(length=200, null=True, default=None)
    address_line2 = Varchar(length=200, null=True, default=None)
    city = Varchar(length=100, null=True, default=None)
    region = Varchar(length=100, null=True, default=None)
    postal_code = Varchar(length=20, null=True, default=None)
    country = Varchar(length=2, null=True, default=None)
    time_zone = Varchar(length=64, default="UTC")
    do_not_contact = Boolean(default=False)
    opt_out_call = Boolean(default=False)
    opt_out_sms = Boolean(default=False)
    opt_out_email = Boolean(default=False)
    cease_requested_at = Timestamptz(null=True, default=None)
    custom = JSONB(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class DebtorContact(Table, tablename="debtor_contacts"):
    """One phone number, e-mail address or postal address of a debtor: its type, the consent
    given for it (when and how) and whether it is the preferred one of its kind."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    debtor_id = ForeignKey(references=Debtor, on_delete=OnDelete.cascade, null=False)
    kind = Varchar(length=10)
    type = Varchar(length=10)
    value = Varchar(length=254, null=True, default=None)
    address_line1 = Varchar(length=200, null=True, default=None)
    address_line2 = Varchar(length=200, null=True, default=None)
    city = Varchar(length=100, null=True, default=None)
    region = Varchar(length=100, null=True, default=None)
    postal_code = Varchar(length=20, null=True, default=None)
    country = Varchar(length=2, null=True, default=None)
    preferred = Boolean(default=False)
    sms_consent_at = Timestamptz(null=True, default=None)
    sms_consent_how = Varchar(length=200, null=True, default=None)
    call_consent_at = Timestamptz(null=True, default=None)
    call_consent_how = Varchar(length=200, null=True, default=None)
    email_consent_at = Timestamptz(null=True, default=None)
    email_consent_how = Varchar(length=200, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
