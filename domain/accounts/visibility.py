"""Who may see which accounts: the one definition every query and check uses.

Admins, supervisors, read-only users and API keys see the whole tenant (row-level
security already limits them to it); a collector sees the accounts they own and those
they hold work on (a task assigned to them or under way). API keys need the
``accounts:read`` scope to read accounts at all.
"""

from __future__ import annotations

from domain.actor import Actor


def collector_sees(account_alias: str, user_param: str) -> str:
    """SQL condition: the account ``account_alias`` is visible to the user in ``user_param``."""
    return (
        f"({account_alias}.owner_id = {user_param} OR EXISTS (SELECT 1 FROM tasks vt "
        f"WHERE vt.tenant_id = {account_alias}.tenant_id AND vt.assignee_id = {user_param} "
        f"AND vt.account_id = {account_alias}.id AND vt.status IN ('assigned', 'in_progress')))"
    )


def reads_every_account(actor: Actor) -> bool:
    """Whether ``actor`` may read any account of its tenant: admins, supervisors, read-only
    users, the system, and API keys holding ``accounts:read``. Not a collector (some
    accounts only), nor a debtor's link (one account)."""
    if actor.type == "api_key":
        return actor.has_scope("accounts:read")
    return actor.type in ("user", "system") and actor.sees_whole_tenant
