"""Indexes for a period's figures (domain/stats/period_queries.py): work started in the
period (time to pick up), and the work the timeout sweep took back (its audit rows)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T18:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Indexes for the cumulative figures"

SQL = """
CREATE INDEX tasks_started_idx ON tasks (tenant_id, started_at)
  WHERE started_at IS NOT NULL;
CREATE INDEX audit_log_task_timeout_idx ON audit_log (tenant_id, occurred_at)
  WHERE action = 'task.timeout';
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
