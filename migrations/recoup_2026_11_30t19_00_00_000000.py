"""Outbound webhooks (domain/webhooks): endpoints with their encrypted signing secrets,
deliveries (one per endpoint and event, staged by the relay in its own transaction) and
every attempt at one, under row-level security."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Webhook endpoints, deliveries and attempts"

TENANT_TABLES = ["webhook_endpoints", "webhook_deliveries", "webhook_attempts"]
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

SQL = """
CREATE TABLE webhook_endpoints (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  url varchar(2000) NOT NULL,
  description varchar(500) NOT NULL DEFAULT '',
  -- Empty: every event type.
  event_types varchar(60)[] NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  disabled_reason varchar(200),
  -- Fernet tokens under a key derived from the server's secret: a reader of the database
  -- alone cannot sign with them.
  secret_enc text NOT NULL,
  previous_secret_enc text,
  previous_secret_until timestamptz,
  failing_since timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);
CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, id) WHERE enabled;

CREATE TABLE webhook_deliveries (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  endpoint_id bigint NOT NULL,
  event_id uuid NOT NULL,
  -- The Standard Webhooks message id: the same on every attempt and replay.
  webhook_id varchar(40) NOT NULL,
  event_type varchar(60) NOT NULL,
  -- Events of one account go out in order (0: an event of no account, in order among them).
  account_id bigint NOT NULL DEFAULT 0,
  payload text NOT NULL,
  status varchar(12) NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'succeeded', 'failed', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_status integer,
  last_latency_ms integer,
  last_response text,
  last_error varchar(500),
  occurred_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (endpoint_id, event_id),
  FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id)
    ON DELETE CASCADE
);
-- What is waiting to go out (the retry job's question, and each endpoint's queue).
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_queue_idx ON webhook_deliveries (endpoint_id, account_id, id)
  WHERE status = 'pending';
-- An endpoint's deliveries, newest first, and its failures in a time range.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_failed_idx ON webhook_deliveries (tenant_id, endpoint_id, created_at)
  WHERE status IN ('failed', 'dead');

CREATE TABLE webhook_attempts (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  delivery_id bigint NOT NULL,
  attempted_at timestamptz NOT NULL,
  status integer,
  latency_ms integer NOT NULL,
  response text,
  error varchar(500),
  FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id)
    ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (tenant_id, delivery_id, id);
"""


def row_level_security() -> str:
    statements = []
    for table in TENANT_TABLES:
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
