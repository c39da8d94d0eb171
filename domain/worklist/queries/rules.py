"""Task rules: stored rules, the accounts their conditions match, and their runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from domain.db import Connection
from domain.sql import Where

RULE_COLUMNS = """id, name, enabled, conditions, task_type, priority, due_offset_minutes,
  strategy, queue_id, cadence_minutes, last_run_at, last_created, created_at, updated_at"""

ACCOUNT_SAMPLE = """a.id, a.external_ref, a.debtor_id,
  trim(d.first_name || ' ' || d.last_name) AS debtor_name, a.currency, a.principal,
  a.interest, a.fees, a.due_date, a.status AS account_status, a.owner_id"""

# The columns a rule sets; insert and update name them in this order.
_STORED = (
    "name",
    "enabled",
    "conditions",
    "task_type",
    "priority",
    "due_offset_minutes",
    "strategy",
    "queue_id",
    "cadence_minutes",
)


async def rules(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {RULE_COLUMNS} FROM task_rules ORDER BY id")


async def rule(
    conn: Connection, rule_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {RULE_COLUMNS} FROM task_rules WHERE id = $1{lock}", rule_id
    )


async def insert_rule(conn: Connection, tenant_id: int, values: dict[str, Any]) -> int:
    """A new rule from ``values`` (every stored column by name)."""
    return await conn.fetchval(
        f"""INSERT INTO task_rules (tenant_id, {", ".join(_STORED)})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id""",
        tenant_id,
        *(values[c] for c in _STORED),
    )


async def update_rule(
    conn: Connection, rule_id: int, values: dict[str, Any], at: dt.datetime
) -> None:
    """Store every column of the rule anew (``values`` names them all)."""
    await conn.execute(
        """UPDATE task_rules SET name = $2, enabled = $3, conditions = $4, task_type = $5,
          priority = $6, due_offset_minutes = $7, strategy = $8, queue_id = $9,
          cadence_minutes = $10, updated_at = $11 WHERE id = $1""",
        rule_id,
        *(values[c] for c in _STORED),
        at,
    )


async def delete_rule(conn: Connection, tenant_id: int, rule_id: int) -> None:
    """The rule goes; its tasks stay, no longer anyone's rule (tasks.rule_id has no key)."""
    await conn.execute(
        "UPDATE tasks SET rule_id = NULL WHERE tenant_id = $1 AND rule_id = $2",
        tenant_id,
        rule_id,
    )
    await conn.execute("DELETE FROM task_rules WHERE id = $1", rule_id)


async def count_matching(conn: Connection, accounts: str, where: Where) -> int:
    """How many of ``accounts`` (a FROM clause over ``a``) satisfy ``where``."""
    return await conn.fetchval(f"SELECT count(*) FROM {accounts} WHERE {where.sql()}", *where.args)


async def sample_matching(
    conn: Connection, accounts: str, where: Where, size: int
) -> list[asyncpg.Record]:
    """The first ``size`` matching accounts, with their debtors' names."""
    return await conn.fetch(
        f"""SELECT {ACCOUNT_SAMPLE}
        FROM (SELECT a.* FROM {accounts} WHERE {where.sql()} ORDER BY a.id LIMIT {int(size)}) a
        JOIN debtors d ON d.id = a.debtor_id ORDER BY a.id""",
        *where.args,
    )


async def create_counted(
    conn: Connection, creation: str, args: list[Any], first: int
) -> tuple[int, list[int]]:
    """Run a rule's creation statement: how many tasks it created and the first ids (enough
    to know whether to announce them one by one)."""
    row = await conn.fetchrow(
        f"""WITH created AS ({creation})
        SELECT (SELECT count(*) FROM created) AS created,
          ARRAY(SELECT id FROM created ORDER BY id LIMIT ${len(args) + 1}) AS first""",
        *args,
        first,
    )
    return row["created"], list(row["first"])


async def record_run(
    conn: Connection,
    tenant_id: int,
    rule_id: int,
    *,
    trigger: str,
    created: int,
    started_at: dt.datetime,
    finished_at: dt.datetime,
) -> int:
    """Log a run and remember it on the rule; returns the run's id."""
    run_id = await conn.fetchval(
        """INSERT INTO rule_runs (tenant_id, rule_id, trigger, created, started_at, finished_at)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        tenant_id,
        rule_id,
        trigger,
        created,
        started_at,
        finished_at,
    )
    await conn.execute(
        "UPDATE task_rules SET last_run_at = $2, last_created = $3 WHERE id = $1",
        rule_id,
        started_at,
        created,
    )
    return run_id


async def runs(
    conn: Connection, rule_id: int, limit: int, *, before_id: int | None = None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, rule_id, trigger, created, started_at, finished_at FROM rule_runs
        WHERE rule_id = $1 AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $2""",
        rule_id,
        limit,
        before_id,
    )


async def due_rules(conn: Connection, now: dt.datetime) -> list[asyncpg.Record]:
    """Enabled rules whose cadence has come round (system connection: every tenant)."""
    return await conn.fetch(
        """SELECT id, tenant_id FROM task_rules
        WHERE enabled AND (last_run_at IS NULL
          OR last_run_at <= $1::timestamptz - make_interval(mins => cadence_minutes))
        ORDER BY tenant_id, id""",
        now,
    )
