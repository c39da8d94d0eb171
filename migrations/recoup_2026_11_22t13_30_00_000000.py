"""Money and contact: constraints, row-level security and indexes for the new tables, and the
one cross-tenant look-up a provider's webhook needs."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T13:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Money and contact: constraints, row-level security, indexes"

NEW_TENANT_TABLES = ["idempotency_keys", "payment_links", "provider_events"]
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

SQL = """
ALTER TABLE accounts ADD CONSTRAINT accounts_credit_not_negative CHECK (credit >= 0);
ALTER TABLE payments DROP CONSTRAINT payments_allocation_sums;
ALTER TABLE payments
  ADD CONSTRAINT payments_allocation_sums CHECK (
    applied_fees >= 0 AND applied_interest >= 0 AND applied_principal >= 0 AND applied_credit >= 0
    AND applied_fees + applied_interest + applied_principal + applied_credit <= amount),
  ADD CONSTRAINT payments_source_known CHECK (source IN ('staff', 'api', 'debtor')),
  ADD CONSTRAINT payments_method_known CHECK (
    method IN ('card', 'bank_transfer', 'cash', 'check', 'direct_debit', 'other'));
ALTER TABLE promises
  ADD CONSTRAINT promises_source_known CHECK (source IN ('staff', 'api', 'debtor')),
  ADD CONSTRAINT promises_instalment_range CHECK (instalment BETWEEN 1 AND instalments);
ALTER TABLE idempotency_keys
  ADD CONSTRAINT idempotency_status_known CHECK (status IN ('in_flight', 'completed'));

CREATE UNIQUE INDEX idempotency_keys_tenant_key ON idempotency_keys (tenant_id, key);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX payment_links_account_idx ON payment_links (tenant_id, account_id);
CREATE UNIQUE INDEX provider_events_key ON provider_events (provider, event_id);
CREATE INDEX payments_status_idx ON payments (tenant_id, status, received_at);
CREATE INDEX promises_plan_idx ON promises (tenant_id, plan_id);
CREATE INDEX interactions_calls_idx ON interactions (tenant_id, account_id, occurred_at)
  WHERE channel = 'call' AND direction = 'outbound';
ALTER TABLE payment_links ADD CONSTRAINT payment_links_account_same_tenant
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE;

-- A provider's webhook names its payment, not the tenant: find which tenant that is.
CREATE FUNCTION payments_find_provider_payment(p_provider text, p_ref text)
RETURNS TABLE (payment_id bigint, tenant_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT p.id, p.tenant_id FROM payments p WHERE p.provider = p_provider AND p.provider_ref = p_ref
$$;
ALTER FUNCTION payments_find_provider_payment(text, text) OWNER TO recoup_system;
REVOKE ALL ON FUNCTION payments_find_provider_payment(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION payments_find_provider_payment(text, text) TO recoup_app;
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
