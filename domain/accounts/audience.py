"""Who hears about a change to an account: the one definition every service uses.

Its own channel (the account view), the agents the change concerns (the account's owner,
or whoever holds its work, before and after a change of hands) and the wallboard, where
supervisors watch the whole floor. A debtor's payment page hears a reduced view of its
own account on ``pay:{id}``, written separately (see ``domain.payments.service``).
"""

from __future__ import annotations

from channels import names


def account_audience(account_id: int, *agents: int | None) -> list[str]:
    channels = [names.account(account_id), names.WALLBOARD]
    channels += [names.agent(a) for a in sorted({a for a in agents if a is not None})]
    return channels


def bulk_audience(account_id: int, *agents: int | None) -> list[str]:
    """The audience of one of many accounts a bulk change (an import) wrote: the same but
    the wallboard, which hears of the whole batch once."""
    return [c for c in account_audience(account_id, *agents) if c != names.WALLBOARD]
