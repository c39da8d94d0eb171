from piccolo.columns import (
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
from domain.users.tables import User


class RefreshToken(Table, tablename="refresh_tokens"):
    """An opaque, single-use refresh token; rotation keeps the family, reuse revokes it."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    user_id = ForeignKey(references=User, on_delete=OnDelete.cascade, null=False)
    family_id = UUID()
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class ApiKey(Table, tablename="api_keys"):
    """An integrator's key: shown once, stored as a SHA-256 hash behind a visible prefix."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    prefix = Varchar(length=24, unique=True)
    key_hash = Varchar(length=64)
    scopes = Array(base_column=Varchar(length=40))
    created_by = ForeignKey(references=User, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
