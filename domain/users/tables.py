from piccolo.columns import (
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


class AgentGroup(Table, tablename="agent_groups"):
    """A team of collectors that work the same queues."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    description = Text(default="")
    # Round robin: the agent who got the group's last task.
    last_assigned_user_id = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="users"):
    """A person who signs in: admin, supervisor, collector or read-only."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    email = Varchar(length=254)
    name = Varchar(length=200)
    password_hash = Text()
    role = Varchar(length=20, default="collector")
    group_id = ForeignKey(references=AgentGroup, on_delete=OnDelete.set_null, null=True)
    status = Varchar(length=10, default="offline")
    capacity = Integer(default=25)
    time_zone = Varchar(length=64, default="UTC")
    active = Boolean(default=True)
    status_changed_at = Timestamptz(default=TimestamptzNow())
    # When one of the agent's sockets was last seen, and when work last came to them.
    last_seen_at = Timestamptz(null=True, default=None)
    last_assigned_at = Timestamptz(null=True, default=None)
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
