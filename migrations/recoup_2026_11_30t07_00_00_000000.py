"""Sessions that end at once: every request of a signed-in user checks, in the statement
that opens its transaction, that the user is still active with the role and session
version its token names, and that its sign-in has not been revoked."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Sessions: a version per user and the per-request session check"

SQL = """
-- Bumped by a password change, a deactivation and "sign out everywhere": every access
-- token issued before carries an older version and stops working.
ALTER TABLE users ADD COLUMN session_version integer NOT NULL DEFAULT 1;

-- Runs as the caller (recoup_app), after the transaction's tenant is set, so it sees only
-- that tenant's rows. Raises RC401 when the session has ended.
CREATE FUNCTION recoup_check_session(
  p_user bigint, p_role text, p_version integer, p_sign_in uuid
) RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM users
    WHERE id = p_user AND active AND role = p_role AND session_version = p_version
  ) THEN
    RAISE EXCEPTION 'the session has ended' USING ERRCODE = 'RC401';
  END IF;
  IF EXISTS (
    SELECT 1 FROM refresh_tokens WHERE family_id = p_sign_in AND revoked_at IS NOT NULL
  ) THEN
    RAISE EXCEPTION 'the sign-in was revoked' USING ERRCODE = 'RC401';
  END IF;
END $$;
REVOKE ALL ON FUNCTION recoup_check_session(bigint, text, integer, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION recoup_check_session(bigint, text, integer, uuid)
  TO recoup_app, recoup_system;

-- A revoked sign-in is found by its family without reading the live tokens.
CREATE INDEX refresh_tokens_family_revoked_idx ON refresh_tokens (family_id)
  WHERE revoked_at IS NOT NULL;
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
