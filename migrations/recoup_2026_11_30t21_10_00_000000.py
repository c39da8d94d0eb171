"""An endpoint's latest failed attempt from an index: the endpoints list shows each one's
last failure beside its dead letters (those counted from the failed-deliveries index)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T21:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Webhook deliveries whose last attempt failed, latest first per endpoint"

SQL = """
CREATE INDEX webhook_deliveries_last_failure_idx
  ON webhook_deliveries (tenant_id, endpoint_id, updated_at DESC)
  WHERE status <> 'succeeded' AND attempts > 0;
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
