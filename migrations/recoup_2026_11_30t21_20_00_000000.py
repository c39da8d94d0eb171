"""Each endpoint's queue of waiting deliveries in order: the claim reads the endpoint's
pending deliveries oldest first from this index, instead of walking every delivery ever
made in id order (200 ms per claim at 60,000 deliveries, growing with the table), and the
question of which endpoints have work due asks each endpoint's queue."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T21:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Each webhook endpoint's pending deliveries in order"

SQL = """
-- Only columns a claim does not change: taking the lease stays a heap-only update.
CREATE INDEX webhook_deliveries_claim_idx ON webhook_deliveries (endpoint_id, id)
  WHERE status = 'pending';
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
