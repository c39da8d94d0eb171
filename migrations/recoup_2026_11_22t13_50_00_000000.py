"""Worklist: constraints, tenant-safe keys, row-level security and the indexes the queue uses."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T13:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Worklist: constraints, row-level security, indexes"

NEW_TENANT_TABLES = ["task_queues", "task_rules", "tasks", "rule_runs"]
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

SQL = """
ALTER TABLE tasks
  ADD CONSTRAINT tasks_type_known CHECK (type IN ('call', 'email', 'review', 'follow_up', 'custom')),
  ADD CONSTRAINT tasks_status_known CHECK (
    status IN ('open', 'assigned', 'in_progress', 'completed', 'cancelled')),
  ADD CONSTRAINT tasks_priority_range CHECK (priority BETWEEN 0 AND 100),
  ADD CONSTRAINT tasks_assignee_when_assigned CHECK (
    (status IN ('assigned', 'in_progress')) = (assignee_id IS NOT NULL)
    OR status IN ('completed', 'cancelled'));
ALTER TABLE task_rules
  ADD CONSTRAINT task_rules_type_known CHECK (
    task_type IN ('call', 'email', 'review', 'follow_up', 'custom')),
  ADD CONSTRAINT task_rules_priority_range CHECK (priority BETWEEN 0 AND 100),
  ADD CONSTRAINT task_rules_cadence_range CHECK (cadence_minutes BETWEEN 1 AND 10080);

CREATE UNIQUE INDEX task_queues_tenant_id_key ON task_queues (tenant_id, id);
CREATE UNIQUE INDEX task_rules_tenant_id_key ON task_rules (tenant_id, id);
CREATE UNIQUE INDEX task_queues_tenant_name_key ON task_queues (tenant_id, lower(name));
ALTER TABLE tasks ADD CONSTRAINT tasks_account_same_tenant
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE tasks ADD CONSTRAINT tasks_assignee_same_tenant
  FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (assignee_id);
ALTER TABLE tasks ADD CONSTRAINT tasks_queue_same_tenant
  FOREIGN KEY (tenant_id, queue_id) REFERENCES task_queues (tenant_id, id) ON DELETE SET NULL (queue_id);
ALTER TABLE tasks ADD CONSTRAINT tasks_rule_same_tenant
  FOREIGN KEY (tenant_id, rule_id) REFERENCES task_rules (tenant_id, id) ON DELETE SET NULL (rule_id);
ALTER TABLE task_rules ADD CONSTRAINT task_rules_queue_same_tenant
  FOREIGN KEY (tenant_id, queue_id) REFERENCES task_queues (tenant_id, id) ON DELETE SET NULL (queue_id);

-- A rule never has two open tasks for one account.
CREATE UNIQUE INDEX tasks_one_open_per_rule_and_account ON tasks (rule_id, account_id)
  WHERE status IN ('open', 'assigned', 'in_progress') AND rule_id IS NOT NULL;
-- "Next task" and the assigner: waiting work, most urgent and oldest first.
CREATE INDEX tasks_waiting_idx ON tasks (tenant_id, priority DESC, created_at, id)
  WHERE status = 'open';
CREATE INDEX tasks_queue_waiting_idx ON tasks (tenant_id, queue_id) WHERE status = 'open';
CREATE INDEX tasks_assignee_idx ON tasks (tenant_id, assignee_id, status)
  WHERE status IN ('assigned', 'in_progress');
CREATE INDEX tasks_account_idx ON tasks (tenant_id, account_id, created_at DESC);
CREATE INDEX tasks_assigned_at_idx ON tasks (assigned_at) WHERE status = 'assigned';
CREATE INDEX tasks_rule_idx ON tasks (tenant_id, rule_id, created_at DESC);
CREATE INDEX rule_runs_rule_idx ON rule_runs (tenant_id, rule_id, id DESC);
CREATE INDEX users_presence_idx ON users (tenant_id, status, last_seen_at) WHERE role = 'collector';
CREATE INDEX promises_broken_idx ON promises (account_id, resolved_at) WHERE status = 'broken';
"""


def row_level_security() -> str:
    statements = []
    for table in NEW_TENANT_TABLES:
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_isolation ON {table} TO recoup_app "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})",
            f"CREATE POLICY system_access ON {table} TO recoup_system "
            f"USING (true) WITH CHECK (true)",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO recoup_app",
            f"GRANT ALL ON {table} TO recoup_system",
        ]
    statements += [
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO recoup_app",
        "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO recoup_system",
    ]
    return ";\n".join(statements) + ";\n"


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
        await _execute(row_level_security())

    manager.add_raw(run)
    return manager
