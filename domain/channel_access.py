"""Who may hear which real-time channel: the policy each socket session is handed, and the
notice that access changed, which open sockets act on at once.

A debtor's payment link hears only ``pay`` (its own account, reduced fields). API keys
hear account channels when they may read all that one carries (``ACCOUNT_CHANNEL_SCOPES``).
Admins and supervisors hear every channel of their tenant but ``webhooks``, the admins'
alone, as their REST routes are. Read-only users read the collections work, not the people
or the floor's figures: they hear accounts, queues, the tenant's settings and their own
agent channel, not the wallboard, groups, ``setup`` or another user's agent channel. A
collector hears their own agent channel, the accounts they may work (owned, or holding
work on them) and their group, the last two asked of the database when they subscribe.
Queue channels are not a collector's: a queue's tasks wait on accounts
they may not see until they pull one, which then reaches them on their own channel.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Literal

from channels import names
from channels.names import Access, ChannelRefused
from domain.accounts import queries as account_queries
from domain.actor import Actor
from domain.db import Database
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.users import queries as user_queries

Requirement = tuple[Literal["account", "group"], int]
# Asks the database whether the subscriber meets a requirement.
Granted = tuple[Access, Requirement | None]
Check = Callable[[Literal["account", "group"], int], Awaitable[bool]]

# An account channel carries the account's changes, its debtor's (contacts, opt-outs), and its
# interactions, messages, payments, payment links, promises and tasks: an API key hears it
# only with every scope that reads them.
ACCOUNT_CHANNEL_SCOPES = (
    "accounts:read",
    "debtors:read",
    "interactions:read",
    "payments:read",
    "promises:read",
    "tasks:read",
)

# The setup channels are heard by those who may read what they carry over the API.
_SETUP_ROLES = {
    names.SETUP: frozenset({"admin", "supervisor"}),
    names.WEBHOOKS: frozenset({"admin"}),
}
_STAFF_KINDS = frozenset({"agent", "account", "group", "queue", "wallboard", "tenant"})
_MANAGERS = frozenset({"admin", "supervisor"})
_READONLY_KINDS = frozenset({"account", "queue", "tenant"})


def grant(subject: Actor, name: str) -> Granted:
    """The rules that need no database: the access, and a requirement left to check.
    Raises ``ChannelNameError`` for a bad name, ``ChannelRefused`` otherwise."""
    kind, ref = names.parse(name)

    def allow(
        relative: str, requires: Requirement | None = None
    ) -> tuple[Access, Requirement | None]:
        full = names.scoped(subject.tenant_id, relative)
        return Access(full=full, name=names.client_name(relative)), requires

    if subject.type == "debtor":
        if kind == "pay" and subject.account_id is not None:
            return allow(names.pay(subject.account_id))
        raise ChannelRefused("a payment link hears only the pay channel")
    if kind == "pay":
        raise ChannelRefused("pay is the channel of a debtor's payment link")
    if subject.type == "api_key":
        if kind != "account":
            raise ChannelRefused(f"this API key may not subscribe to {kind} channels")
        if missing := [s for s in ACCOUNT_CHANNEL_SCOPES if s not in subject.scopes]:
            raise ChannelRefused(
                "an account channel carries the account's debtor, interactions, payments, "
                f"promises and tasks: this API key lacks {', '.join(missing)}"
            )
        return allow(names.account(ref))  # type: ignore[arg-type]
    if subject.type != "user" or subject.id is None:
        raise ChannelRefused("only users, API keys and payment links subscribe")
    if kind == "agent":
        target = subject.id if ref == "me" else ref
        if target == subject.id or subject.role in _MANAGERS:
            return allow(names.agent(target))  # type: ignore[arg-type]
        raise ChannelRefused("only managers hear another user's agent channel")
    relative = name
    if kind == "import":
        # Imports are an admin's work; the tenant prefix keeps other tenants' out of reach.
        if subject.role == "admin":
            return allow(relative)
        raise ChannelRefused("only admins follow imports")
    if (subject.role in _MANAGERS and kind in _STAFF_KINDS) or (
        subject.role == "readonly" and kind in _READONLY_KINDS
    ):
        return allow(relative)
    if subject.role in _SETUP_ROLES.get(kind, ()):
        return allow(relative)
    if subject.role == "collector" and kind in ("account", "group"):
        return allow(relative, (kind, ref))  # type: ignore[arg-type]
    raise ChannelRefused(f"a {subject.role} may not subscribe to {kind} channels")


class ChannelAccess:
    """``await access(name)``: the channel ``name`` as this subscriber may hear it, or
    ``ChannelRefused`` / ``ChannelNameError``."""

    def __init__(self, subject: Actor, check: Check) -> None:
        self.subject = subject
        self.check = check

    @classmethod
    def for_subscriber(cls, db: Database, subject: Actor) -> ChannelAccess:
        """The policy with its requirements asked of the database, in the subscriber's tenant."""

        async def check(kind: Literal["account", "group"], ident: int) -> bool:
            user_id = subject.id
            if user_id is None:
                return False
            async with db.tenant(subject.tenant_id) as conn:
                if kind == "account":
                    row = await account_queries.get(conn, ident, viewer=user_id)
                    return row is not None
                group_id = await user_queries.group_of(conn, user_id)
                return group_id is not None and group_id == ident

        return cls(subject, check)

    async def __call__(self, name: str) -> Access:
        access, requires = grant(self.subject, name)
        if requires is not None and not await self.check(*requires):
            raise ChannelRefused(f"you may not subscribe to {name}")
        return access


async def announce_access_change(
    changes: ChangeRecorder,
    *,
    users: Iterable[int] = (),
    api_keys: Iterable[int] = (),
    links: Iterable[int] = (),
    accounts: Iterable[int] = (),
) -> None:
    """Tell the web processes, in the transaction of the change, whose access may have
    changed: sockets of those users, keys and links check their identity and every
    subscription again, and collectors' subscriptions to those accounts are authorized
    again."""
    data = {
        key: sorted(set(ids))
        for key, ids in (
            ("users", users),
            ("api_keys", api_keys),
            ("links", links),
            ("accounts", accounts),
        )
    }
    data = {key: ids for key, ids in data.items() if ids}
    if data:
        await changes.event(events.ACCESS_CHANGED, [names.ACCESS], data)
