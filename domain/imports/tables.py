"""The imports' tables, as the migration made them (declared here so the schema checks and
the tenancy tests know them)."""

from piccolo.columns import (
    JSONB,
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


class ImportMapping(Table, tablename="import_mappings"):
    """A named column mapping a tenant's files are read with."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    kind = Varchar(length=20)
    columns = JSONB()
    date_format = Varchar(length=40, default="%Y-%m-%d")
    default_currency = Varchar(length=3, null=True, default=None)
    encoding = Varchar(length=20, default="utf-8")
    delimiter = Varchar(length=1, default=",")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Import(Table, tablename="imports"):
    """One uploaded file and how far its import went."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    kind = Varchar(length=20)
    file_name = Varchar(length=255)
    path = Text()
    size_bytes = BigInt()
    checksum = Varchar(length=64)
    status = Varchar(length=20, default="pending")
    mapping_id = BigInt(null=True, default=None)
    mapping = JSONB()
    rows_read = BigInt(default=0)
    rows_created = BigInt(default=0)
    rows_updated = BigInt(default=0)
    rows_unchanged = BigInt(default=0)
    rows_rejected = BigInt(default=0)
    error = Text(null=True, default=None)
    created_by = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    updated_at = Timestamptz(default=TimestamptzNow())
    # How often the sweep handed it out again with no row read since (at ``stalled_at_rows``).
    stalls = Integer(default=0)
    stalled_at_rows = BigInt(null=True, default=None)


class ImportRejection(Table, tablename="import_rejections"):
    """A row of an import that was not written: where, and why."""

    import_id = BigInt(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    row_number = BigInt()
    column_name = Varchar(length=200, null=True, default=None)
    reason = Text()


class SftpSource(Table, tablename="sftp_sources"):
    """A server a tenant's files to import arrive on, polled while enabled."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    name = Varchar(length=100)
    host = Varchar(length=255)
    port = Integer(default=22)
    username = Varchar(length=100)
    # Sealed under the server's key (domain.imports.sftp); never answered.
    private_key_enc = Text()
    host_key = Text(null=True, default=None)
    folder = Varchar(length=500)
    pattern = Varchar(length=200, default="*.csv")
    mapping_id = BigInt()
    processed_folder = Varchar(length=500)
    enabled = Boolean(default=True)
    last_polled_at = Timestamptz(null=True, default=None)
    last_status = Varchar(length=10, null=True, default=None)
    last_error = Text(null=True, default=None)
    last_files = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class SftpFile(Table, tablename="sftp_files"):
    """A file taken from an SFTP source: once per source, name and checksum."""

    id = BigSerial(primary_key=True)
    tenant_id = ForeignKey(references=Tenant, on_delete=OnDelete.cascade, null=False)
    source_id = BigInt()
    name = Varchar(length=500)
    checksum = Varchar(length=64)
    size_bytes = BigInt()
    import_id = BigInt(null=True, default=None)
    moved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
