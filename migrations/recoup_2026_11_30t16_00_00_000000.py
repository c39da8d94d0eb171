"""Indexes for today's figures (domain/stats): each measure reads only the tenant's rows of
the day, or its open work, by an index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T16:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Indexes for the floor's figures"

SQL = """
CREATE INDEX interactions_tenant_calls_idx ON interactions (tenant_id, occurred_at)
  WHERE channel = 'call';
CREATE INDEX promises_made_idx ON promises (tenant_id, created_at);
CREATE INDEX promises_due_idx ON promises (tenant_id, due_date);
CREATE INDEX promises_judged_idx ON promises (tenant_id, resolved_at)
  WHERE status IN ('kept', 'broken');
CREATE INDEX tasks_completed_idx ON tasks (tenant_id, completed_at)
  WHERE status = 'completed';
CREATE INDEX tasks_open_idx ON tasks (tenant_id, status, priority)
  WHERE status IN ('open', 'assigned', 'in_progress');
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
