"""Who hears which channel: the policy a socket session is handed."""

from __future__ import annotations

import pytest

from channels import names
from domain.actor import Actor
from domain.channel_access import ChannelAccess, grant

ADMIN = Actor(tenant_id=1, type="user", id=10, role="admin")
COLLECTOR = Actor(tenant_id=1, type="user", id=5, role="collector")
DEBTOR = Actor(tenant_id=1, type="debtor", account_id=9)
READER_KEY = Actor(tenant_id=1, type="api_key", id=3, scopes=frozenset({"accounts:read"}))
WRITER_KEY = Actor(tenant_id=1, type="api_key", id=4, scopes=frozenset({"tasks:write"}))


@pytest.mark.parametrize(
    ("actor", "name", "allowed"),
    [
        (DEBTOR, "pay", "t1:pay:9"),
        (DEBTOR, "account:9", None),
        (DEBTOR, "wallboard", None),
        (ADMIN, "pay", None),
        (ADMIN, "tenant", "t1:tenant"),
        (ADMIN, "agent:5", "t1:agent:5"),
        (ADMIN, "agent:me", "t1:agent:10"),
        (READER_KEY, "account:4", "t1:account:4"),
        (READER_KEY, "wallboard", None),
        (READER_KEY, "agent:3", None),
        (WRITER_KEY, "account:4", None),
        (Actor(tenant_id=1, type="user", id=2, role="readonly"), "wallboard", "t1:wallboard"),
        (Actor(tenant_id=1, type="user", id=2, role="readonly"), "tenant", "t1:tenant"),
        (Actor(tenant_id=2, type="user", id=2, role="supervisor"), "account:4", "t2:account:4"),
        (Actor(tenant_id=2, type="user", id=2, role="supervisor"), "queue:4", "t2:queue:4"),
        (COLLECTOR, "agent:me", "t1:agent:5"),
        (COLLECTOR, "agent:5", "t1:agent:5"),
        (COLLECTOR, "agent:6", None),
        (COLLECTOR, "wallboard", None),
        (COLLECTOR, "tenant", None),
        (Actor(tenant_id=1, type="system"), "wallboard", None),
    ],
)
def test_who_hears_what(actor: Actor, name: str, allowed: str | None) -> None:
    if allowed is None:
        with pytest.raises(names.ChannelRefused):
            grant(actor, name)
    else:
        access, requires = grant(actor, name)
        assert access.full == allowed
        assert requires is None


@pytest.mark.parametrize("name", ["account:7", "group:2", "queue:3"])
def test_a_collectors_accounts_groups_and_queues_are_asked_of_the_database(name: str) -> None:
    access, requires = grant(COLLECTOR, name)
    kind, ident = names.parse(name)
    assert access.full == f"t1:{name}"
    assert requires == (kind, ident)


async def test_the_policy_refuses_what_the_check_denies() -> None:
    asked = []

    async def only_account_7(kind: str, ident: int) -> bool:
        asked.append((kind, ident))
        return kind == "account" and ident == 7

    access = ChannelAccess(COLLECTOR, only_account_7)
    assert (await access("account:7")).full == "t1:account:7"
    with pytest.raises(names.ChannelRefused):
        await access("account:8")
    assert (await access("agent:me")).name == "agent:5"  # no question asked
    assert asked == [("account", 7), ("account", 8)]
