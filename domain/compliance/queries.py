from __future__ import annotations

import datetime as dt

import asyncpg

from domain.db import Connection


async def contact_state(conn: Connection, account_id: int) -> asyncpg.Record | None:
    """The flags that stop contact, and the debtor's time zone."""
    return await conn.fetchrow(
        """SELECT a.id AS account_id, a.status, d.id AS debtor_id, d.time_zone, d.do_not_contact,
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


async def contact_states(conn: Connection, account_ids: list[int]) -> list[asyncpg.Record]:
    """``contact_state`` of many accounts in one statement."""
    return await conn.fetch(
        """SELECT a.id AS account_id, a.status, d.id AS debtor_id, d.time_zone, d.do_not_contact,
          d.cease_requested_at IS NOT NULL AS cease_requested, d.opt_out_call, d.opt_out_sms,
          d.opt_out_email
        FROM accounts a JOIN debtors d ON d.id = a.debtor_id WHERE a.id = ANY($1::bigint[])""",
        account_ids,
    )


async def recent_calls_of(
    conn: Connection, account_ids: list[int], since: dt.datetime, until: dt.datetime
) -> list[asyncpg.Record]:
    """``recent_calls`` of many accounts in one statement, oldest first."""
    return await conn.fetch(
        """SELECT account_id, occurred_at, disposition FROM interactions
        WHERE account_id = ANY($1::bigint[]) AND channel = 'call' AND direction = 'outbound'
          AND occurred_at >= $2 AND occurred_at < $3
        ORDER BY occurred_at""",
        account_ids,
        since,
        until,
    )
