"""Each published event's position on each of its channels, kept on its outbox row (in the
order of ``channels``): a history Redis lost is refilled from them, with the positions
clients hold (``channels/refill.py``). The outbox's NOTIFY says which event a commit
brought (the newest id of the inserting statement), so that the relay need not run a batch
for a notice of events it has already published."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T00:47:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Outbox events keep their positions; the outbox's notice names its newest id"

SQL = """
ALTER TABLE outbox ADD COLUMN positions text[];

CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('recoup_outbox', coalesce((SELECT max(id)::text FROM inserted), ''));
  RETURN NULL;
END $$;
DROP TRIGGER outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
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
