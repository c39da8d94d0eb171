"""Which accounts a collector may see: the one definition every query uses.

Admins, supervisors, read-only users and API keys see the whole tenant (row-level
security already limits them to it); a collector sees the accounts they own.
"""


def collector_sees(account_alias: str, user_param: str) -> str:
    """SQL condition: the account ``account_alias`` is visible to the user in ``user_param``."""
    return f"({account_alias}.owner_id = {user_param})"
