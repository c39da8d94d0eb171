"""Workflows: definitions and their versions, runs and their steps, the engine's inbox,
message templates and messages, under row-level security."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "Workflows, runs, templates and messages"

TENANT_TABLES = [
    "workflows",
    "workflow_versions",
    "workflow_runs",
    "workflow_run_steps",
    "workflow_inbox",
    "message_templates",
    "messages",
]
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"

SQL = """
CREATE TABLE workflows (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name varchar(120) NOT NULL,
  enabled boolean NOT NULL DEFAULT false,
  version integer NOT NULL DEFAULT 1,
  trigger_type varchar(40) NOT NULL,
  definition jsonb NOT NULL DEFAULT '{}',
  last_error text,
  last_error_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  CHECK (version >= 1)
);
CREATE UNIQUE INDEX workflows_tenant_name_key ON workflows (tenant_id, lower(name));
-- The engine's question for each batch: the enabled workflows of a trigger.
CREATE INDEX workflows_enabled_trigger_idx ON workflows (tenant_id, trigger_type) WHERE enabled;

CREATE TABLE workflow_versions (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  workflow_id bigint NOT NULL,
  version integer NOT NULL,
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workflow_id, version),
  FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE workflow_runs (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  workflow_id bigint NOT NULL,
  version integer NOT NULL,
  account_id bigint NOT NULL,
  event_id uuid NOT NULL,
  trigger_type varchar(40) NOT NULL,
  event jsonb NOT NULL DEFAULT '{}',
  arm varchar(40),
  status varchar(12) NOT NULL DEFAULT 'running'
    CHECK (status IN ('running', 'waiting', 'completed', 'stopped', 'failed')),
  position integer NOT NULL DEFAULT 0,
  resume_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  UNIQUE (tenant_id, id),
  -- A redelivered event never starts a second run of the same version.
  UNIQUE (workflow_id, version, event_id),
  FOREIGN KEY (tenant_id, workflow_id) REFERENCES workflows (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workflow_runs_due_idx ON workflow_runs (resume_at) WHERE status = 'waiting';
CREATE INDEX workflow_runs_account_idx ON workflow_runs (tenant_id, account_id, started_at DESC);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (tenant_id, workflow_id, started_at DESC);

CREATE TABLE workflow_run_steps (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  run_id bigint NOT NULL,
  position integer NOT NULL,
  kind varchar(20) NOT NULL,
  outcome varchar(10) NOT NULL CHECK (outcome IN ('done', 'skipped', 'waiting', 'failed')),
  detail jsonb NOT NULL DEFAULT '{}',
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  FOREIGN KEY (tenant_id, run_id) REFERENCES workflow_runs (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX workflow_run_steps_run_idx ON workflow_run_steps (run_id, id);

CREATE TABLE workflow_inbox (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  event_id uuid NOT NULL UNIQUE,
  type varchar(40) NOT NULL,
  data jsonb NOT NULL DEFAULT '{}',
  occurred_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_inbox_tenant_idx ON workflow_inbox (tenant_id, id);

CREATE TABLE message_templates (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name varchar(120) NOT NULL,
  channel varchar(10) NOT NULL CHECK (channel IN ('email', 'sms')),
  subject varchar(300) NOT NULL DEFAULT '',
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX message_templates_tenant_name_key ON message_templates (tenant_id, lower(name));

CREATE TABLE messages (
  id bigserial PRIMARY KEY,
  tenant_id bigint NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  account_id bigint NOT NULL,
  debtor_id bigint NOT NULL,
  run_id bigint,
  position integer,
  -- The interaction the message was logged as, once sent.
  interaction_id bigint,
  channel varchar(10) NOT NULL CHECK (channel IN ('email', 'sms')),
  to_address varchar(254) NOT NULL,
  subject varchar(300) NOT NULL DEFAULT '',
  body text NOT NULL,
  status varchar(10) NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'sent', 'failed', 'skipped')),
  transport varchar(20) NOT NULL DEFAULT '',
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, debtor_id) REFERENCES debtors (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, run_id) REFERENCES workflow_runs (tenant_id, id)
    ON DELETE SET NULL (run_id)
);
-- One message per step of a run, however often the step is retried.
CREATE UNIQUE INDEX messages_run_step_key ON messages (run_id, position) WHERE run_id IS NOT NULL;
CREATE INDEX messages_due_idx ON messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_tenant_idx ON messages (tenant_id, id DESC);
CREATE INDEX messages_interaction_idx ON messages (interaction_id) WHERE interaction_id IS NOT NULL;
CREATE INDEX messages_account_idx ON messages (tenant_id, account_id, id DESC);
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
