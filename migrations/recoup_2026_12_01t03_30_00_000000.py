"""SFTP sources: per tenant, a server polled for files to import (its private key kept
sealed under the server's key, never returned), and each file taken from it, unique by
source, name and SHA-256, so that a poll again, or one after a crash halfway, never imports
the same file twice.

Imports of payments: imports and mappings of kind ``payments``; a payment's external
reference (the one its file gave it), unique per tenant, so that a file imported again
records no payment twice; and ``import`` as a payment's source."""

from domain.schema import sql_migration

ID = "2026-12-01T03:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "SFTP sources and the files taken from them; imports of payments"

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def _policies(table: str) -> str:
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table} TO recoup_app
  USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT});
CREATE POLICY system_access ON {table} TO recoup_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO recoup_app;
GRANT ALL ON {table} TO recoup_system;
GRANT USAGE, SELECT ON SEQUENCE {table}_id_seq TO recoup_app;
GRANT ALL ON SEQUENCE {table}_id_seq TO recoup_system;
"""


SQL = (
    """
CREATE TABLE sftp_sources (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name varchar(100) NOT NULL,
  host varchar(255) NOT NULL,
  port integer NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),
  username varchar(100) NOT NULL,
  private_key_enc text NOT NULL,
  host_key text,
  folder varchar(500) NOT NULL,
  pattern varchar(200) NOT NULL DEFAULT '*.csv',
  mapping_id bigint NOT NULL,
  processed_folder varchar(500) NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  last_polled_at timestamptz,
  last_status varchar(10) CHECK (last_status IN ('ok', 'failed')),
  last_error text,
  last_files integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, name),
  FOREIGN KEY (tenant_id, mapping_id) REFERENCES import_mappings (tenant_id, id)
    ON DELETE RESTRICT
);

CREATE TABLE sftp_files (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  source_id bigint NOT NULL,
  name varchar(500) NOT NULL,
  checksum varchar(64) NOT NULL,
  size_bytes bigint NOT NULL,
  import_id bigint,
  moved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source_id, name, checksum),
  FOREIGN KEY (tenant_id, source_id) REFERENCES sftp_sources (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, import_id) REFERENCES imports (tenant_id, id)
    ON DELETE SET NULL (import_id)
);
CREATE INDEX sftp_files_import_idx ON sftp_files (import_id);

ALTER TABLE imports DROP CONSTRAINT imports_kind_check,
  ADD CONSTRAINT imports_kind_check CHECK (kind IN ('accounts', 'payments'));
ALTER TABLE import_mappings DROP CONSTRAINT import_mappings_kind_check,
  ADD CONSTRAINT import_mappings_kind_check CHECK (kind IN ('accounts', 'payments'));
ALTER TABLE payments ADD COLUMN external_ref varchar(120),
  DROP CONSTRAINT payments_source_known,
  ADD CONSTRAINT payments_source_known CHECK (source IN ('staff', 'api', 'debtor', 'import'));
CREATE UNIQUE INDEX payments_external_ref_idx ON payments (tenant_id, external_ref)
  WHERE external_ref IS NOT NULL;
"""
    + _policies("sftp_sources")
    + _policies("sftp_files")
)


forwards = sql_migration(ID, DESCRIPTION, SQL)
