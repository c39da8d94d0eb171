"""An account's open dispute: when it was opened, why, and in the debtor's words
(domain/accounts/disputes.py). The status says whether one is open; these say what it is."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T21:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Accounts: the open dispute's reason, details and time"

SQL = """
ALTER TABLE accounts
  ADD COLUMN disputed_at timestamptz,
  ADD COLUMN dispute_reason varchar(20),
  ADD COLUMN dispute_details text;
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
