"""Supervisor reports (domain/reports): what each account was placed for, and the indexes
that keep every report over a 1,000,000-account tenant an index scan of the tenant's rows.

``placed_balance`` is the balance an account arrived with (principal, interest and fees at
its creation), the denominator of the liquidation rate; ``created_at`` is its placement.
A trigger fills it on every insert that does not name it (the API, imports, COPY). Accounts
created before this migration get their balance now plus what succeeded payments applied
to it, which is what they were placed for unless a manager has since edited the amounts.

``payments.placed_at`` is its account's placement, copied by a trigger when the payment is
recorded (an account's creation never changes, and a payment is always in its account's
currency): what each month's placements have brought in is then one index-only range scan
of payments, with no join to a million accounts.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T18:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Placed balance and the reports' indexes"

SQL = """
ALTER TABLE accounts ADD COLUMN placed_balance numeric(20, 4);
UPDATE accounts a SET placed_balance = a.principal + a.interest + a.fees + coalesce((
  SELECT sum(p.applied_principal + p.applied_interest + p.applied_fees) FROM payments p
  WHERE p.account_id = a.id AND p.status = 'succeeded'), 0);
ALTER TABLE accounts ALTER COLUMN placed_balance SET NOT NULL;

CREATE FUNCTION recoup_placed_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.placed_balance IS NULL THEN
    NEW.placed_balance := NEW.principal + NEW.interest + NEW.fees;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER accounts_placed_balance BEFORE INSERT ON accounts
  FOR EACH ROW EXECUTE FUNCTION recoup_placed_balance();

ALTER TABLE payments ADD COLUMN placed_at timestamptz;
UPDATE payments p SET placed_at = a.created_at FROM accounts a WHERE a.id = p.account_id;
ALTER TABLE payments ALTER COLUMN placed_at SET NOT NULL;

CREATE FUNCTION recoup_payment_placed_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.placed_at IS NULL THEN
    SELECT created_at INTO NEW.placed_at FROM accounts WHERE id = NEW.account_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER payments_placed_at BEFORE INSERT ON payments
  FOR EACH ROW EXECUTE FUNCTION recoup_payment_placed_at();

-- Aging: the open accounts by currency and due date, balance read from the index alone.
CREATE INDEX accounts_aging_idx ON accounts (tenant_id, currency, due_date)
  INCLUDE (principal, interest, fees)
  WHERE status IN ('active', 'promised', 'promise_broken', 'disputed');
-- Liquidation: the accounts placed in a range of months, and the money they brought in,
-- each read from an index alone.
CREATE INDEX accounts_placed_idx ON accounts (tenant_id, created_at)
  INCLUDE (currency, placed_balance);
CREATE INDEX payments_placed_idx ON payments (tenant_id, placed_at)
  INCLUDE (currency, amount) WHERE status = 'succeeded';

-- The same keys as before, now carrying what the reports read, so that a period's rows
-- come from the index alone (an index-only scan) rather than from the table.
-- Collector performance (money taken):
DROP INDEX payments_status_idx;
CREATE INDEX payments_status_idx ON payments (tenant_id, status, received_at)
  INCLUDE (created_by, currency, amount);
-- Promises made in a period, by status and collector:
DROP INDEX promises_made_idx;
CREATE INDEX promises_made_idx ON promises (tenant_id, created_at) INCLUDE (status, created_by);
-- Calls in a period, by direction, collector and disposition:
DROP INDEX interactions_tenant_calls_idx;
CREATE INDEX interactions_tenant_calls_idx ON interactions (tenant_id, occurred_at)
  INCLUDE (direction, user_id, disposition) WHERE channel = 'call';
-- Work completed in a period, by collector, with its start for the handle time:
DROP INDEX tasks_completed_idx;
CREATE INDEX tasks_completed_idx ON tasks (tenant_id, completed_at)
  INCLUDE (assignee_id, started_at) WHERE status = 'completed';
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
