"""Custom field definitions: per tenant, the keys of the ``custom`` object of debtors and
accounts, each with a label, a type (and the options of a select, or the CEL expression of
a computed field). The values stay in the ``custom`` JSONB columns; a definition says what
they may hold."""

from domain.schema import sql_migration

ID = "2026-12-01T03:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Custom field definitions"

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

SQL = f"""
CREATE TABLE custom_fields (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  entity varchar(10) NOT NULL CHECK (entity IN ('debtor', 'account')),
  key varchar(63) NOT NULL CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_]{{0,62}}$'),
  label varchar(100) NOT NULL,
  type varchar(20) NOT NULL CHECK (type IN ('string', 'number', 'boolean', 'date', 'email',
    'phone', 'url', 'json', 'select', 'multi_select', 'computed')),
  options jsonb NOT NULL DEFAULT '[]',
  expression text,
  position integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, entity, key),
  CHECK ((type = 'computed') = (expression IS NOT NULL))
);

ALTER TABLE custom_fields ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_fields FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_fields TO recoup_app
  USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT});
CREATE POLICY system_access ON custom_fields TO recoup_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON custom_fields TO recoup_app;
GRANT ALL ON custom_fields TO recoup_system;
GRANT USAGE, SELECT ON SEQUENCE custom_fields_id_seq TO recoup_app;
GRANT ALL ON SEQUENCE custom_fields_id_seq TO recoup_system;
"""


forwards = sql_migration(ID, DESCRIPTION, SQL)
