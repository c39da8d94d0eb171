"""An account can be marked from the desk as bankrupt, deceased or settled (with what the
law attaches to each: the first two stop every contact)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T22:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Account statuses bankrupt, deceased and settled"

SQL = """
ALTER TABLE accounts DROP CONSTRAINT accounts_status_known;
ALTER TABLE accounts ADD CONSTRAINT accounts_status_known CHECK (
  status IN ('active', 'promised', 'promise_broken', 'disputed', 'paid', 'closed',
             'bankrupt', 'deceased', 'settled'));
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
