from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection


async def contact_state(conn: Connection, account_id: int) -> asyncpg.Record | None:
    """The flags that stop contact, and the debtor's time zone."""
    return await conn.fetchrow(
        """SELECT a.id AS account_id, a.status AS account_status, d.id AS debtor_id, d.time_zone,
          d.do_not_contact,
          d.cease_requested_at IS NOT NULL AS cease_requested, d.opt_out_call, d.opt_out_sms,
          d.opt_out_email
        FROM accounts a JOIN debtors d ON d.id = a.debtor_id WHERE a.id = $1""",
        account_id,
    )


async def recent_calls(
    conn: Connection, account_id: int, since: dt.datetime, until: dt.datetime
) -> list[asyncpg.Record]:
    """Outbound call attempts on the account in [since, until), oldest first."""
    return await conn.fetch(
        """SELECT occurred_at, disposition FROM interactions
        WHERE account_id = $1 AND channel = 'call' AND direction = 'outbound'
          AND occurred_at >= $2 AND occurred_at < $3
        ORDER BY occurred_at""",
        account_id,
        since,
        until,
    )


def state_of(account: str, since: str, until: str, conversations: str) -> str:
    """SQL for the contact state of the account whose id is the expression ``account``:
    the flags that stop contact, the debtor's time zone, and the outbound call attempts in
    [since, until) with which of them were conversations, oldest first. The other
    arguments name parameters. One row, or none; columns ``state_account_id``,
    ``account_status``, ``time_zone``, the flags, ``attempts`` and ``conversations``.
    (``LIMIT 1`` keeps it a lookup per account: unflattened, the planner may otherwise
    compute the state of every account of the tenant and join.)"""
    return f"""SELECT a.id AS state_account_id, a.status AS account_status, d.time_zone,
      d.do_not_contact, d.cease_requested, d.opt_out_call, d.opt_out_sms, d.opt_out_email,
      COALESCE(h.attempts, '{{}}') AS attempts, COALESCE(h.conversations, '{{}}') AS conversations
    FROM accounts a
    CROSS JOIN LATERAL (
      SELECT time_zone, do_not_contact, cease_requested_at IS NOT NULL AS cease_requested,
        opt_out_call, opt_out_sms, opt_out_email
      FROM debtors WHERE id = a.debtor_id LIMIT 1) d
    LEFT JOIN LATERAL (
      SELECT array_agg(i.occurred_at ORDER BY i.occurred_at) AS attempts,
        array_agg(i.occurred_at ORDER BY i.occurred_at)
          FILTER (WHERE i.disposition = ANY({conversations}::text[])) AS conversations
      FROM interactions i
      WHERE i.tenant_id = a.tenant_id AND i.account_id = a.id AND i.channel = 'call'
        AND i.direction = 'outbound' AND i.occurred_at >= {since} AND i.occurred_at < {until}
    ) h ON true
    WHERE a.id = {account}
    LIMIT 1"""


_STATES = f"""SELECT s.* FROM unnest($1::bigint[]) AS x(id)
CROSS JOIN LATERAL ({state_of("x.id", "$2", "$3", "$4")}) s"""


async def contact_states(
    conn: Connection,
    account_ids: list[int],
    since: dt.datetime,
    until: dt.datetime,
    conversations: list[str],
) -> list[asyncpg.Record]:
    """The contact state (``state_of``) of many accounts, in one statement."""
    return await conn.fetch(_STATES, account_ids, since, until, conversations)
