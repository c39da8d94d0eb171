from piccolo.columns import BigSerial, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from domain.accounts.tables import Account
from domain.debtors.tables import Debtor
from domain.tenancy.tables import Tenant
from domain.users.tables import User


class Interaction(Table, tablename="interactions"):
    """A contact attempt or conversation on an account, and how it went."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    account_id = ForeignKey(references=Account, on_delete=OnDelete.cascade, null=False)
    debtor_id = ForeignKey(references=Debtor, on_delete=OnDelete.cascade, null=False)
    user_id = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    channel = Varchar(length=10)
    direction = Varchar(length=10, default="outbound")
    disposition = Varchar(length=30, null=True, default=None)
    notes = Text(default="")
    occurred_at = Timestamptz(default=TimestamptzNow())
    created_at = Timestamptz(default=TimestamptzNow())
