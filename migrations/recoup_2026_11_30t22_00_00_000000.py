"""Account and debtor search finds e-mail addresses (from their start) and phone numbers (by
their last digits, however they were typed): an index for each."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Search debtors by e-mail and phone"

SQL = r"""
CREATE INDEX debtors_email_search_idx ON debtors (tenant_id, lower(email) text_pattern_ops);
CREATE INDEX debtors_phone_search_idx
  ON debtors (tenant_id, reverse(regexp_replace(phone, '\D', '', 'g')) text_pattern_ops);
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
