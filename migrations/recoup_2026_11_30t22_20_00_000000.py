"""The account timeline: when a payment link was first opened, who made a task, an index per source so
that each reads its newest entries of one account straight from an index; held-back work
that names its agent waits for its time like the queue's."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T22:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Account timeline: link opens and per-source indexes"

SQL = """
ALTER TABLE payment_links ADD COLUMN opened_at timestamptz;
-- Who made a task by hand (a callback's collector, a supervisor); rules' tasks: nobody.
ALTER TABLE tasks ADD COLUMN created_by bigint REFERENCES users (id) ON DELETE SET NULL;

CREATE INDEX messages_account_time_idx
  ON messages (tenant_id, account_id, created_at DESC, id DESC);
CREATE INDEX payment_links_account_time_idx
  ON payment_links (tenant_id, account_id, created_at DESC, id DESC);
CREATE INDEX payment_links_opened_idx
  ON payment_links (tenant_id, account_id, opened_at DESC, id DESC) WHERE opened_at IS NOT NULL;
CREATE INDEX payments_account_time_idx
  ON payments (tenant_id, account_id, created_at DESC, id DESC);
CREATE INDEX promises_account_time_idx
  ON promises (tenant_id, account_id, created_at DESC, id DESC);
CREATE INDEX tasks_account_time_idx
  ON tasks (tenant_id, account_id, created_at DESC, id DESC);
CREATE INDEX tasks_account_closed_idx
  ON tasks (tenant_id, account_id, (COALESCE(completed_at, cancelled_at)) DESC, id DESC)
  WHERE status IN ('completed', 'cancelled');
-- An account's status changes: the audit rows of its edits whose status differs.
CREATE INDEX audit_log_account_status_idx
  ON audit_log (tenant_id, entity_id, occurred_at DESC, id DESC)
  WHERE entity_type = 'account' AND (before ->> 'status') IS DISTINCT FROM (after ->> 'status')
    AND before IS NOT NULL;
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
