"""Imports: the column mappings a tenant saves as named presets, each file imported (its
checksum, status, progress and where it stopped), and the rows it rejected with their row
number, column and reason. Progress and rejections are written in the transaction of each
batch, so an import resumed after a crash neither skips nor repeats a row."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T23:06:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Imports, import mappings and rejected rows"

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

TABLES = ("import_mappings", "imports", "import_rejections")


def _policies(table: str, *, sequence: bool = True) -> str:
    sql = f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table} TO recoup_app
  USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT});
CREATE POLICY system_access ON {table} TO recoup_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO recoup_app;
GRANT ALL ON {table} TO recoup_system;
"""
    if sequence:
        sql += f"""GRANT USAGE, SELECT ON SEQUENCE {table}_id_seq TO recoup_app;
GRANT ALL ON SEQUENCE {table}_id_seq TO recoup_system;
"""
    return sql


SQL = (
    """
CREATE TABLE import_mappings (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name varchar(100) NOT NULL,
  kind varchar(20) NOT NULL CHECK (kind IN ('accounts')),
  columns jsonb NOT NULL,
  date_format varchar(40) NOT NULL DEFAULT '%Y-%m-%d',
  default_currency varchar(3),
  encoding varchar(20) NOT NULL DEFAULT 'utf-8',
  delimiter varchar(1) NOT NULL DEFAULT ',',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE imports (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  kind varchar(20) NOT NULL CHECK (kind IN ('accounts')),
  file_name varchar(255) NOT NULL,
  path text NOT NULL,
  size_bytes bigint NOT NULL,
  checksum varchar(64) NOT NULL,
  status varchar(20) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'running', 'done', 'failed')),
  mapping_id bigint,
  mapping jsonb NOT NULL,
  rows_read bigint NOT NULL DEFAULT 0,
  rows_created bigint NOT NULL DEFAULT 0,
  rows_updated bigint NOT NULL DEFAULT 0,
  rows_unchanged bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  error text,
  created_by bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, mapping_id) REFERENCES import_mappings (tenant_id, id)
    ON DELETE SET NULL (mapping_id),
  FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
    ON DELETE SET NULL (created_by)
);
CREATE INDEX imports_tenant_idx ON imports (tenant_id, id DESC);

CREATE TABLE import_rejections (
  import_id bigint NOT NULL,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  row_number bigint NOT NULL,
  column_name varchar(200),
  reason text NOT NULL,
  PRIMARY KEY (import_id, row_number, column_name),
  FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id) ON DELETE CASCADE
);
"""
    + _policies("import_mappings")
    + _policies("imports")
    + _policies("import_rejections", sequence=False)
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recoup", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        transaction = engine.current_transaction.get()
        if transaction is not None:
            await transaction.connection.execute(SQL)
            return
        connection = await engine.get_new_connection()
        try:
            await connection.execute(SQL)
        finally:
            await connection.close()

    manager.add_raw(run)
    return manager
