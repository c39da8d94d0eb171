"""The account timeline in one statement: each source's newest entries of one account, read
from its own index (``ORDER BY <time> DESC, id DESC LIMIT n`` under a keyset bound), merged
with UNION ALL and cut to the page. Every branch returns ``kind, rank, id, at, who,
details``; PostgreSQL merges the branches in index order (a Merge Append), so no source is
ever sorted whole (``tests/integration/test_account_timeline.py`` reads the plan).

The keyset is ``(at, rank of the kind, id)``, newest first: a branch first bounds its index
by ``at`` (``<= $3``) and then drops the rows at or after the cursor with the full row
comparison, so a page never repeats nor skips an entry, however many share one instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from domain.db import Connection

# The kinds of entry; at one instant the later in this list comes first (the keyset's tie).
KINDS = (
    "task_created",
    "payment_link_sent",
    "payment_link_opened",
    "message",
    "interaction",
    "promise",
    "payment",
    "status_change",
    "task_closed",
)

# What a branch names a person by: the user, else the debtor (their own doing) or the system.
_USER = "LEFT JOIN users u ON u.id = {column}"


def _branch(kind: str, table: str, at: str, who: str, details: str, join: str, where: str) -> str:
    rank = KINDS.index(kind)
    return f"""(SELECT '{kind}'::text AS kind, {rank} AS rank, x.id, {at} AS at, {who} AS who,
      jsonb_build_object({details}) AS details
    FROM {table} x {join}
    WHERE x.tenant_id = $1 AND x.account_id = $2 {where}
      AND {at} <= $3 AND ({at}, {rank}, x.id) < ($3, $4::int, $5)
    ORDER BY {at} DESC, x.id DESC LIMIT $6)"""


_PERSON = "COALESCE(u.name, CASE WHEN x.source = 'debtor' THEN 'debtor' ELSE 'system' END)"

_BRANCHES = [
    # Calls, notes and the debtor's own replies; a message a workflow sent is its own entry.
    _branch(
        "interaction",
        "interactions",
        "x.occurred_at",
        "COALESCE(u.name, CASE WHEN x.direction = 'inbound' THEN 'debtor' ELSE 'system' END)",
        "'channel', x.channel, 'direction', x.direction, 'disposition', x.disposition, "
        "'notes', x.notes",
        _USER.format(column="x.user_id"),
        "AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.interaction_id = x.id)",
    ),
    _branch(
        "message",
        "messages",
        "x.created_at",
        "'system'",
        "'channel', x.channel, 'to', x.to_address, 'subject', x.subject, 'body', x.body, "
        "'status', x.status, 'sent_at', x.sent_at, 'error', x.error, "
        "'workflow', x.run_id IS NOT NULL",
        "",
        "",
    ),
    _branch(
        "payment_link_sent",
        "payment_links",
        "x.created_at",
        "COALESCE(u.name, 'system')",
        "'expires_at', x.expires_at, 'revoked_at', x.revoked_at, 'opened_at', x.opened_at",
        _USER.format(column="x.created_by"),
        "",
    ),
    _branch(
        "payment_link_opened",
        "payment_links",
        "x.opened_at",
        "'debtor'",
        "'link_id', x.id, 'sent_at', x.created_at",
        "",
        "AND x.opened_at IS NOT NULL",
    ),
    _branch(
        "payment",
        "payments",
        "x.created_at",
        _PERSON,
        "'amount', x.amount::text, 'currency', x.currency, 'status', x.status, "
        "'method', x.method, 'source', x.source, 'reference', x.reference, "
        "'received_at', x.received_at, 'failure_reason', x.failure_reason, "
        "'refunded_at', x.refunded_at",
        _USER.format(column="x.created_by"),
        "",
    ),
    _branch(
        "promise",
        "promises",
        "x.created_at",
        _PERSON,
        "'amount', x.amount::text, 'currency', x.currency, 'due_date', x.due_date, "
        "'status', x.status, 'resolved_at', x.resolved_at, 'instalment', x.instalment, "
        "'instalments', x.instalments, 'source', x.source",
        _USER.format(column="x.created_by"),
        "",
    ),
    _branch(
        "task_created",
        "tasks",
        "x.created_at",
        "COALESCE(u.name, 'system')",
        "'type', x.type, 'title', x.title, 'status', x.status, 'due_at', x.due_at, "
        "'not_before', x.not_before, 'assignee', a.name, 'time_zone', (SELECT d.time_zone "
        "FROM accounts c JOIN debtors d ON d.id = c.debtor_id WHERE c.id = $2)",
        _USER.format(column="x.created_by") + " LEFT JOIN users a ON a.id = x.assignee_id",
        "",
    ),
    _branch(
        "task_closed",
        "tasks",
        "COALESCE(x.completed_at, x.cancelled_at)",
        "COALESCE(u.name, 'system')",
        "'type', x.type, 'title', x.title, 'status', x.status, 'outcome', x.outcome, "
        "'notes', x.notes",
        _USER.format(column="x.assignee_id"),
        "AND x.status IN ('completed', 'cancelled')",
    ),
]

# Status changes sit in the audit log, keyed by entity rather than account.
_STATUS = """(SELECT 'status_change'::text AS kind, {rank} AS rank, x.id, x.occurred_at AS at,
    CASE x.actor_type WHEN 'user' THEN COALESCE(u.name, 'a former user')
      WHEN 'debtor' THEN 'debtor' WHEN 'api_key' THEN 'API key' ELSE 'system' END AS who,
    jsonb_build_object('from', x.before ->> 'status', 'to', x.after ->> 'status',
      'action', x.action) AS details
  FROM audit_log x LEFT JOIN users u ON x.actor_type = 'user' AND u.id = x.actor_id
  WHERE x.tenant_id = $1 AND x.entity_id = $2 AND x.entity_type = 'account'
    AND (x.before ->> 'status') IS DISTINCT FROM (x.after ->> 'status')
    AND x.before IS NOT NULL
    AND x.occurred_at <= $3 AND (x.occurred_at, {rank}, x.id) < ($3, $4::int, $5)
  ORDER BY x.occurred_at DESC, x.id DESC LIMIT $6)""".replace(
    "{rank}", str(KINDS.index("status_change"))
)

TIMELINE = (
    "SELECT * FROM (\n"
    + "\nUNION ALL\n".join([*_BRANCHES, _STATUS])
    + "\n) entries WHERE kind = ANY($7::text[]) ORDER BY at DESC, rank DESC, id DESC LIMIT $6"
)

# Before the first page: after every entry there is.
START: tuple[dt.datetime, int, int] = (dt.datetime.max.replace(tzinfo=dt.UTC), len(KINDS), 0)


async def entries(
    conn: Connection,
    tenant_id: int,
    account_id: int,
    before: tuple[dt.datetime, int, int],
    limit: int,
    kinds: Sequence[str] = KINDS,
) -> list[asyncpg.Record]:
    """Up to ``limit`` entries of ``kinds`` strictly before ``before`` (``START`` for the
    newest)."""
    return await conn.fetch(TIMELINE, tenant_id, account_id, *before, limit, list(kinds))
