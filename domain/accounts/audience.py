"""Who hears about a change to an account: the one definition every service uses.

Its own channel (the account view), the agents the change concerns (the account's owner,
or whoever holds its work, before and after a change of hands) and the wallboard, where
supervisors watch the whole floor. A debtor's payment page hears a reduced view of its
own account on ``pay:{id}``, written separately (see ``domain.payments.service``).
"""

from __future__ import annotations

from channels import names
from domain.db import Connection


def account_audience(account_id: int, *agents: int | None) -> list[str]:
    channels = [names.account(account_id), names.WALLBOARD]
    channels += [names.agent(a) for a in sorted({a for a in agents if a is not None})]
    return channels


async def balance_audience(conn: Connection, account_id: int, *agents: int | None) -> list[str]:
    """The audience of a change to what an account owes (a payment, an edit): as
    ``account_audience``, and whoever holds work on it now, whose worklist shows its balance
    (as ``visibility.collector_sees``, they may see it)."""
    holders = await conn.fetch(
        "SELECT DISTINCT assignee_id FROM tasks WHERE account_id = $1 "
        "AND assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress')",
        account_id,
    )
    return account_audience(account_id, *agents, *(r["assignee_id"] for r in holders))


def bulk_audience(account_id: int, *agents: int | None) -> list[str]:
    """The audience of one of many accounts a bulk change (an import) wrote: the same but
    the wallboard, which hears of the whole batch once."""
    return [c for c in account_audience(account_id, *agents) if c != names.WALLBOARD]
