from piccolo.columns import JSONB, BigSerial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Tenant(Table, tablename="tenants"):
    """One collections business; every other row belongs to exactly one tenant."""

    id = BigSerial(primary_key=True)
    slug = Varchar(length=63, unique=True)
    name = Varchar(length=200)
    time_zone = Varchar(length=64, default="UTC")
    settings = JSONB(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())
