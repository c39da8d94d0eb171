"""Every tenant transaction begins with one call: the tenant set, the caller's session and the
tenant a process holds checked, in the statement after BEGIN (one result to read)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T08:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "One call begins a tenant transaction"

SQL = """
-- Runs as the caller (recoup_app). The tenant is set first, so every check after it sees
-- only that tenant's rows. RC401: the caller's session has ended (user inactive, another
-- role or session version, sign-in revoked). RC409: the tenant changed since the caller's
-- process read it (p_tenant_version is the version it holds; NULL when it holds none).
CREATE FUNCTION recoup_begin(
  p_tenant bigint,
  p_generic_plans boolean,
  p_tenant_version integer,
  p_user bigint,
  p_role text,
  p_version integer,
  p_sign_in uuid
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  IF p_generic_plans THEN
    PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
  END IF;
  IF p_user IS NOT NULL THEN
    IF NOT EXISTS (
      SELECT 1 FROM users
      WHERE id = p_user AND active AND role = p_role AND session_version = p_version
    ) OR EXISTS (
      SELECT 1 FROM refresh_tokens WHERE family_id = p_sign_in AND revoked_at IS NOT NULL
    ) THEN
      RAISE EXCEPTION 'the session has ended' USING ERRCODE = 'RC401';
    END IF;
  END IF;
  IF p_tenant_version IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM tenants WHERE version = p_tenant_version) THEN
    RAISE EXCEPTION 'the tenant changed' USING ERRCODE = 'RC409';
  END IF;
END $$;
REVOKE ALL ON FUNCTION recoup_begin(bigint, boolean, integer, bigint, text, integer, uuid)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION recoup_begin(bigint, boolean, integer, bigint, text, integer, uuid)
  TO recoup_app, recoup_system;

DROP FUNCTION recoup_check_session(bigint, text, integer, uuid);
DROP FUNCTION recoup_check_tenant(integer);
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
