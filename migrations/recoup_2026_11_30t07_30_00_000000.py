"""Tenants read once per process: a transaction confirms, with its BEGIN, that the settings a
process holds are still the tenant's own (a new version with every change to the row)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T07:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Tenants: a version per row, checked with BEGIN"

SQL = """
-- Versions come from a sequence, which never hands out a number twice: a version seen
-- inside a transaction that rolled back can never name another state of the row.
CREATE SEQUENCE tenant_versions AS integer;
GRANT USAGE ON SEQUENCE tenant_versions TO recoup_app, recoup_system;
ALTER TABLE tenants ADD COLUMN version integer NOT NULL DEFAULT nextval('tenant_versions');

CREATE FUNCTION recoup_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := nextval('tenant_versions');
  RETURN NEW;
END $$;
CREATE TRIGGER tenants_version BEFORE UPDATE ON tenants
  FOR EACH ROW EXECUTE FUNCTION recoup_bump_version();

-- Runs as the caller after the transaction's tenant is set (row-level security shows only
-- that tenant). Raises RC409 when the tenant changed since the caller read it.
CREATE FUNCTION recoup_check_tenant(p_version integer) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM tenants WHERE version = p_version) THEN
    RAISE EXCEPTION 'the tenant changed' USING ERRCODE = 'RC409';
  END IF;
END $$;
REVOKE ALL ON FUNCTION recoup_check_tenant(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION recoup_check_tenant(integer) TO recoup_app, recoup_system;
"""


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
