"""Tenancy and integrity the table definitions cannot say: roles, row-level security,
constraints, composite tenant-safe foreign keys, indexes, auth look-ups and the outbox wake-up."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Roles, row-level security, constraints and indexes"

TENANT_TABLES = [
    "agent_groups",
    "users",
    "api_keys",
    "refresh_tokens",
    "debtors",
    "accounts",
    "payments",
    "promises",
    "interactions",
    "audit_log",
    "outbox",
]
# The application may change these; audit_log and outbox are append-only for it.
APP_READ_WRITE = [t for t in TENANT_TABLES if t not in ("audit_log", "outbox")]
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

ROLES = """
DO $$
BEGIN
  -- Login roles, so that a session of the application cannot switch to any other role.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'recoup_app') THEN
    CREATE ROLE recoup_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  ELSE
    ALTER ROLE recoup_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'recoup_system') THEN
    CREATE ROLE recoup_system LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  ELSE
    ALTER ROLE recoup_system LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  END IF;
  IF NOT pg_has_role(current_user, 'recoup_app', 'MEMBER') THEN
    EXECUTE format('GRANT recoup_app TO %I', current_user);
  END IF;
  IF NOT pg_has_role(current_user, 'recoup_system', 'MEMBER') THEN
    EXECUTE format('GRANT recoup_system TO %I', current_user);
  END IF;
  EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO recoup_app, recoup_system',
                 current_database());
END $$;
GRANT USAGE ON SCHEMA public TO recoup_app, recoup_system;
"""

CONSTRAINTS = """
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]*$');
ALTER TABLE users
  ADD CONSTRAINT users_role_known CHECK (role IN ('admin', 'supervisor', 'collector', 'readonly')),
  ADD CONSTRAINT users_status_known CHECK (status IN ('available', 'away', 'offline')),
  ADD CONSTRAINT users_capacity_range CHECK (capacity BETWEEN 0 AND 10000);
ALTER TABLE accounts
  ADD CONSTRAINT accounts_status_known CHECK (
    status IN ('active', 'promised', 'promise_broken', 'disputed', 'paid', 'closed')),
  ADD CONSTRAINT accounts_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
  ADD CONSTRAINT accounts_balances_not_negative CHECK (principal >= 0 AND interest >= 0 AND fees >= 0);
ALTER TABLE payments
  ADD CONSTRAINT payments_status_known CHECK (
    status IN ('pending', 'succeeded', 'failed', 'refunded', 'reversed')),
  ADD CONSTRAINT payments_amount_positive CHECK (amount > 0),
  ADD CONSTRAINT payments_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
  ADD CONSTRAINT payments_allocation_sums CHECK (
    applied_fees + applied_interest + applied_principal <= amount);
ALTER TABLE promises
  ADD CONSTRAINT promises_status_known CHECK (status IN ('pending', 'kept', 'broken', 'cancelled')),
  ADD CONSTRAINT promises_amount_positive CHECK (amount > 0);
ALTER TABLE interactions
  ADD CONSTRAINT interactions_channel_known CHECK (channel IN ('call', 'email', 'sms', 'letter', 'note')),
  ADD CONSTRAINT interactions_direction_known CHECK (direction IN ('outbound', 'inbound')),
  ADD CONSTRAINT interactions_disposition_known CHECK (disposition IS NULL OR disposition IN (
    'right_party_contact', 'no_answer', 'left_message', 'wrong_number', 'promise', 'dispute',
    'refusal', 'callback_requested'));
ALTER TABLE audit_log
  ADD CONSTRAINT audit_actor_known CHECK (actor_type IN ('user', 'api_key', 'system', 'debtor'));

-- (tenant_id, id) keys let children point at parents of their own tenant only: a foreign key
-- is checked without row-level security, so a bare id could reach across tenants.
CREATE UNIQUE INDEX agent_groups_tenant_id_key ON agent_groups (tenant_id, id);
CREATE UNIQUE INDEX users_tenant_id_key ON users (tenant_id, id);
CREATE UNIQUE INDEX debtors_tenant_id_key ON debtors (tenant_id, id);
CREATE UNIQUE INDEX accounts_tenant_id_key ON accounts (tenant_id, id);
ALTER TABLE users ADD CONSTRAINT users_group_same_tenant
  FOREIGN KEY (tenant_id, group_id) REFERENCES agent_groups (tenant_id, id) ON DELETE SET NULL (group_id);
ALTER TABLE accounts ADD CONSTRAINT accounts_debtor_same_tenant
  FOREIGN KEY (tenant_id, debtor_id) REFERENCES debtors (tenant_id, id);
ALTER TABLE accounts ADD CONSTRAINT accounts_owner_same_tenant
  FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (owner_id);
ALTER TABLE payments ADD CONSTRAINT payments_account_same_tenant
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id);
ALTER TABLE promises ADD CONSTRAINT promises_account_same_tenant
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE interactions ADD CONSTRAINT interactions_account_same_tenant
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE interactions ADD CONSTRAINT interactions_debtor_same_tenant
  FOREIGN KEY (tenant_id, debtor_id) REFERENCES debtors (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_creator_same_tenant
  FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by);
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_user_same_tenant
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE;
"""

INDEXES = """
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_tenant_role_idx ON users (tenant_id, role);
CREATE INDEX users_tenant_group_idx ON users (tenant_id, group_id);
CREATE UNIQUE INDEX agent_groups_tenant_name_key ON agent_groups (tenant_id, lower(name));
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

ALTER TABLE debtors ADD COLUMN search tsvector GENERATED ALWAYS AS (
  to_tsvector('simple',
    coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' ||
    coalesce(email, '') || ' ' || coalesce(external_ref, ''))
) STORED;
CREATE INDEX debtors_search_idx ON debtors USING gin (search);
CREATE UNIQUE INDEX debtors_tenant_ref_key ON debtors (tenant_id, external_ref)
  WHERE external_ref IS NOT NULL;
CREATE INDEX debtors_tenant_ref_prefix_idx ON debtors (tenant_id, lower(external_ref) text_pattern_ops);

CREATE UNIQUE INDEX accounts_tenant_ref_key ON accounts (tenant_id, external_ref);
CREATE INDEX accounts_tenant_ref_prefix_idx ON accounts (tenant_id, lower(external_ref) text_pattern_ops);
CREATE INDEX accounts_tenant_debtor_idx ON accounts (tenant_id, debtor_id);
CREATE INDEX accounts_tenant_owner_idx ON accounts (tenant_id, owner_id, id);
CREATE INDEX accounts_tenant_status_idx ON accounts (tenant_id, status, id);
CREATE INDEX accounts_tenant_due_idx ON accounts (tenant_id, due_date);

CREATE INDEX interactions_account_time_idx
  ON interactions (tenant_id, account_id, occurred_at DESC, id DESC);
CREATE INDEX payments_account_idx ON payments (tenant_id, account_id, created_at DESC);
CREATE UNIQUE INDEX payments_provider_ref_key ON payments (tenant_id, provider, provider_ref)
  WHERE provider_ref IS NOT NULL;
CREATE INDEX promises_account_idx ON promises (tenant_id, account_id, due_date);
CREATE INDEX promises_pending_due_idx ON promises (due_date) WHERE status = 'pending';
CREATE INDEX audit_log_entity_idx ON audit_log (tenant_id, entity_type, entity_id, id);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_tenant_idx ON outbox (tenant_id, id);
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
"""

# Wakes the relay once per inserting statement; the payload is empty on purpose,
# the relay reads the rows themselves.
OUTBOX_NOTIFY = """
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('recoup_outbox', '');
  RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
"""

# Signing in starts before a tenant is known. These functions answer exactly one
# question across tenants each and run as recoup_system; everything after them
# runs under the tenant's row-level security.
AUTH_LOOKUPS = """
CREATE FUNCTION auth_find_login(p_email text)
RETURNS TABLE (user_id bigint, tenant_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.id, u.tenant_id FROM users u WHERE lower(u.email) = lower(p_email)
$$;
CREATE FUNCTION auth_find_refresh_token(p_hash text)
RETURNS TABLE (token_id bigint, tenant_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.id, t.tenant_id FROM refresh_tokens t WHERE t.token_hash = p_hash
$$;
CREATE FUNCTION auth_find_api_key(p_prefix text)
RETURNS TABLE (key_id bigint, tenant_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT k.id, k.tenant_id FROM api_keys k WHERE k.prefix = p_prefix
$$;
ALTER FUNCTION auth_find_login(text) OWNER TO recoup_system;
ALTER FUNCTION auth_find_refresh_token(text) OWNER TO recoup_system;
ALTER FUNCTION auth_find_api_key(text) OWNER TO recoup_system;
REVOKE ALL ON FUNCTION auth_find_login(text), auth_find_refresh_token(text),
  auth_find_api_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth_find_login(text), auth_find_refresh_token(text),
  auth_find_api_key(text) TO recoup_app;
"""


def row_level_security() -> str:
    statements = [
        "ALTER TABLE tenants ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE tenants FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON tenants TO recoup_app "
        f"USING (id = {CURRENT_TENANT}) WITH CHECK (id = {CURRENT_TENANT})",
        "CREATE POLICY system_access ON tenants TO recoup_system USING (true) WITH CHECK (true)",
        "GRANT SELECT, UPDATE ON tenants TO recoup_app",
    ]
    for table in TENANT_TABLES:
        statements += [
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_isolation ON {table} TO recoup_app "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})",
            f"CREATE POLICY system_access ON {table} TO recoup_system "
            f"USING (true) WITH CHECK (true)",
        ]
    statements += [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {', '.join(APP_READ_WRITE)} TO recoup_app",
        "GRANT SELECT, INSERT ON audit_log, outbox TO recoup_app",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO recoup_app",
        "GRANT ALL ON ALL TABLES IN SCHEMA public TO recoup_system",
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
        await _execute(ROLES)
        await _execute(CONSTRAINTS)
        await _execute(INDEXES)
        await _execute(OUTBOX_NOTIFY)
        await _execute(AUTH_LOOKUPS)
        await _execute(row_level_security())

    manager.add_raw(run)
    return manager
