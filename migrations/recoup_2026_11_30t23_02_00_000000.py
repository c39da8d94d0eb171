"""Indexes for the audit log's filters (domain/audit/queries.py), each in the list's order
(newest first by time, then id): by who made the change, by what it changed, by when."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T23:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Indexes for the audit log filters"

SQL = """
CREATE INDEX audit_log_occurred_idx ON audit_log (tenant_id, occurred_at, id);
CREATE INDEX audit_log_actor_time_idx ON audit_log (tenant_id, actor_type, actor_id, occurred_at, id);
CREATE INDEX audit_log_entity_time_idx ON audit_log
  (tenant_id, entity_type, entity_id, occurred_at, id);
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
