"""Webhook deliveries in flight: the lease each sending worker holds (renewed while it
sends, so that one that dies lets go within seconds) and when its attempt began, so that an
attempt cut short by a dead worker is recorded when another worker takes the delivery over;
such an attempt has no latency."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T21:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Webhook delivery leases and interrupted attempts"

SQL = """
ALTER TABLE webhook_deliveries ADD COLUMN lease uuid, ADD COLUMN sending_since timestamptz;
ALTER TABLE webhook_attempts ALTER COLUMN latency_ms DROP NOT NULL;
"""


async def _execute(sql: str) -> None:
    engine = engine_finder()
    transaction = engine.current_transaction.get()
    if transaction is not None:
        await transaction.connection.execute(sql)
        return
    connection = await engine.get_new_connection()
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recoup", description=DESCRIPTION)

    async def run():
        await _execute(SQL)

    manager.add_raw(run)
    return manager
