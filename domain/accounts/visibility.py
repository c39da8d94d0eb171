"""Which accounts a collector may see: the one definition every query uses.

Admins, supervisors, read-only users and API keys see the whole tenant (row-level
security already limits them to it); a collector sees the accounts they own and those
they hold work on (a task assigned to them or under way).
"""


def collector_sees(account_alias: str, user_param: str) -> str:
    """SQL condition: the account ``account_alias`` is visible to the user in ``user_param``."""
    return (
        f"({account_alias}.owner_id = {user_param} OR EXISTS (SELECT 1 FROM tasks vt "
        f"WHERE vt.tenant_id = {account_alias}.tenant_id AND vt.assignee_id = {user_param} "
        f"AND vt.account_id = {account_alias}.id AND vt.status IN ('assigned', 'in_progress')))"
    )
