"""The wallboard's open work from the index alone: the open-work index carries the queue,
group, agent and age of each open task, so that counting open work by status and urgency,
and waiting work per queue with its oldest, reads no table rows (an index-only scan)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T18:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "The open-work index carries what the wallboard counts"

SQL = """
DROP INDEX tasks_open_idx;
CREATE INDEX tasks_open_idx ON tasks (tenant_id, status, priority)
  INCLUDE (queue_id, group_id, assignee_id, created_at)
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
