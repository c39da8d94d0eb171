"""Worklist: "next task" reads each queue's waiting work in order from one index, and calls
held back for their debtor's sake leave that index until they may be made."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T14:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Worklist: leaner indexes and keys for pulls and rule runs"

SQL = """
DROP INDEX IF EXISTS tasks_queue_waiting_idx;
-- Waiting work that may be handed out now, per queue, in the order it is pulled.
CREATE INDEX tasks_queue_waiting_idx
  ON tasks (tenant_id, queue_id, priority DESC, created_at, id)
  WHERE status = 'open' AND not_before IS NULL AND queue_id IS NOT NULL;
-- Waiting work the assigner places: only tasks whose strategy picks someone.
DROP INDEX IF EXISTS tasks_waiting_idx;
CREATE INDEX tasks_waiting_idx ON tasks (tenant_id, priority DESC, created_at, id)
  WHERE status = 'open' AND (strategy ->> 'kind') <> 'queue';
-- The single-column keys duplicate the tenant-safe composite ones (same columns, same
-- actions on delete) and cost a check per row: a rule run inserts many rows at once.
ALTER TABLE tasks
  DROP CONSTRAINT IF EXISTS tasks_tenant_id_fkey,
  DROP CONSTRAINT IF EXISTS tasks_account_id_fkey,
  DROP CONSTRAINT IF EXISTS tasks_assignee_id_fkey,
  DROP CONSTRAINT IF EXISTS tasks_queue_id_fkey,
  DROP CONSTRAINT IF EXISTS tasks_rule_id_fkey,
  -- Which rule made a task is provenance: set by the rule run itself (in the rule's tenant)
  -- and cleared by the rule's deletion, so it needs no per-row check on the way in.
  DROP CONSTRAINT IF EXISTS tasks_rule_same_tenant;
-- Calls held back until their debtor may be called: released by the minute sweep.
CREATE INDEX tasks_held_back_idx ON tasks (not_before)
  WHERE status = 'open' AND not_before IS NOT NULL;
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
