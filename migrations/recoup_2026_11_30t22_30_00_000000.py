"""The supervisor's team view reads open work a page at a time in the order chosen (oldest,
most urgent, soonest due): one index range per order, and the open-work index carries each
task's type so that counting by type reads no table rows either."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Open work in each order the team view sorts by"

SQL = """
CREATE INDEX tasks_open_age_idx ON tasks (tenant_id, created_at, id)
  WHERE status IN ('open', 'assigned', 'in_progress');
CREATE INDEX tasks_open_priority_idx ON tasks (tenant_id, priority DESC, created_at, id)
  WHERE status IN ('open', 'assigned', 'in_progress');
CREATE INDEX tasks_open_due_idx ON tasks (tenant_id, due_at, id)
  WHERE status IN ('open', 'assigned', 'in_progress');
DROP INDEX tasks_open_idx;
CREATE INDEX tasks_open_idx ON tasks (tenant_id, status, priority)
  INCLUDE (queue_id, group_id, assignee_id, created_at, type)
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
