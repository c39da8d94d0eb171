from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection


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
