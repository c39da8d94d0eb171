"""Idempotency keys belong to their caller: unique per tenant, caller and key, so that two
callers never share a response nor block each other's keys."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T08:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Idempotency keys: unique per caller"

SQL = """
-- Keys used before they belonged to a caller: a payment a user recorded names that user;
-- any other (an API key's, a claim still in flight) is 'legacy', a caller no request is,
-- so it is never replayed and goes with the rest after its 48 hours.
UPDATE idempotency_keys SET caller = CASE
  WHEN jsonb_typeof(response_body -> 'created_by') = 'number'
    THEN 'user:' || (response_body ->> 'created_by')
  ELSE 'legacy' END;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_caller_named CHECK (caller <> '');
DROP INDEX idempotency_keys_tenant_key;
CREATE UNIQUE INDEX idempotency_keys_tenant_caller_key
  ON idempotency_keys (tenant_id, caller, key);
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
