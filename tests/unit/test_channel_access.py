"""Who hears which channel: the policy a socket session is handed."""

from __future__ import annotations

import pytest

from channels import names
from domain.actor import Actor
from domain.channel_access import (
    ACCOUNT_CHANNEL_SCOPES,
    ChannelAccess,
    announce_access_change,
    grant,
)

ADMIN = Actor(tenant_id=1, type="user", id=10, role="admin")
COLLECTOR = Actor(tenant_id=1, type="user", id=5, role="collector")
SUPERVISOR = Actor(tenant_id=1, type="user", id=11, role="supervisor")
READONLY = Actor(tenant_id=1, type="user", id=2, role="readonly")
DEBTOR = Actor(tenant_id=1, type="debtor", account_id=9)
READER_KEY = Actor(tenant_id=1, type="api_key", id=3, scopes=frozenset(ACCOUNT_CHANNEL_SCOPES))
WRITER_KEY = Actor(tenant_id=1, type="api_key", id=4, scopes=frozenset({"tasks:write"}))


@pytest.mark.parametrize("lacking", ACCOUNT_CHANNEL_SCOPES)
def test_an_api_key_hears_an_account_only_with_every_scope_its_events_need(lacking: str) -> None:
    """An account channel carries payments, interactions, promises and tasks: a key that may
    not read one of them through the API does not hear them on a socket either."""
    key = Actor(
        tenant_id=1,
        type="api_key",
        id=3,
        scopes=frozenset(ACCOUNT_CHANNEL_SCOPES) - {lacking},
    )
    with pytest.raises(names.ChannelRefused, match=f"lacks {lacking}$"):
        grant(key, "account:4")


def test_the_scopes_an_account_channel_needs_are_those_that_read_what_it_carries() -> None:
    """Its debtor's changes (contacts, opt-outs) need debtors:read, as GET /debtors does."""
    assert set(ACCOUNT_CHANNEL_SCOPES) == {
        "accounts:read",
        "debtors:read",
        "interactions:read",
        "payments:read",
        "promises:read",
        "tasks:read",
    }


@pytest.mark.parametrize(
    ("actor", "name", "allowed"),
    [
        (DEBTOR, "pay", "t1:pay:9"),
        (DEBTOR, "account:9", None),
        (DEBTOR, "wallboard", None),
        (ADMIN, "pay", None),
        (ADMIN, "tenant", "t1:tenant"),
        (ADMIN, "import:7", "t1:import:7"),
        (Actor(tenant_id=1, type="user", id=11, role="supervisor"), "import:7", None),
        (COLLECTOR, "import:7", None),
        (READER_KEY, "import:7", None),
        (ADMIN, "agent:5", "t1:agent:5"),
        (ADMIN, "agent:me", "t1:agent:10"),
        (READER_KEY, "account:4", "t1:account:4"),
        (READER_KEY, "wallboard", None),
        (READER_KEY, "agent:3", None),
        (WRITER_KEY, "account:4", None),
        # Read-only users read the collections work (accounts, queues, settings), not the
        # floor's figures, the people or another user's channel.
        (READONLY, "wallboard", None),
        (READONLY, "group:3", None),
        (READONLY, "agent:5", None),
        (READONLY, "agent:2", "t1:agent:2"),
        (READONLY, "agent:me", "t1:agent:2"),
        (READONLY, "account:4", "t1:account:4"),
        (READONLY, "queue:4", "t1:queue:4"),
        (SUPERVISOR, "wallboard", "t1:wallboard"),
        (SUPERVISOR, "agent:5", "t1:agent:5"),
        (SUPERVISOR, "group:3", "t1:group:3"),
        (Actor(tenant_id=1, type="user", id=2, role="readonly"), "tenant", "t1:tenant"),
        # Users, rules, workflows and templates are the managers' to read; webhooks the admins'.
        (ADMIN, "setup", "t1:setup"),
        (SUPERVISOR, "setup", "t1:setup"),
        (READONLY, "setup", None),
        (COLLECTOR, "setup", None),
        (READER_KEY, "setup", None),
        (ADMIN, "webhooks", "t1:webhooks"),
        (SUPERVISOR, "webhooks", None),
        (READONLY, "webhooks", None),
        (COLLECTOR, "webhooks", None),
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


@pytest.mark.parametrize("name", ["account:7", "group:2"])
def test_a_collectors_accounts_and_group_are_asked_of_the_database(name: str) -> None:
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


@pytest.mark.parametrize(
    ("actor", "name", "message"),
    [
        (DEBTOR, "account:9", "a payment link hears only the pay channel"),
        (Actor(tenant_id=1, type="debtor"), "pay", "a payment link hears only the pay channel"),
        (ADMIN, "pay", "pay is the channel of a debtor's payment link"),
        (READER_KEY, "pay", "pay is the channel of a debtor's payment link"),
        (READER_KEY, "wallboard", "this API key may not subscribe to wallboard channels"),
        (
            WRITER_KEY,
            "account:4",
            "an account channel carries the account's debtor, interactions, payments, promises "
            f"and tasks: this API key lacks {', '.join(ACCOUNT_CHANNEL_SCOPES)}",
        ),
        (
            Actor(tenant_id=1, type="api_key", id=4),
            "account:4",
            "an account channel carries the account's debtor, interactions, payments, promises "
            f"and tasks: this API key lacks {', '.join(ACCOUNT_CHANNEL_SCOPES)}",
        ),
        (
            Actor(tenant_id=1, type="system"),
            "wallboard",
            "only users, API keys and payment links subscribe",
        ),
        (
            Actor(tenant_id=1, type="user", role="admin"),
            "wallboard",
            "only users, API keys and payment links subscribe",
        ),
        (COLLECTOR, "agent:6", "only managers hear another user's agent channel"),
        (READONLY, "agent:6", "only managers hear another user's agent channel"),
        (READONLY, "wallboard", "a readonly may not subscribe to wallboard channels"),
        (COLLECTOR, "wallboard", "a collector may not subscribe to wallboard channels"),
        (COLLECTOR, "tenant", "a collector may not subscribe to tenant channels"),
        # A queue's waiting tasks are on accounts a collector may not see.
        (COLLECTOR, "queue:3", "a collector may not subscribe to queue channels"),
        (READONLY, "setup", "a readonly may not subscribe to setup channels"),
        (SUPERVISOR, "webhooks", "a supervisor may not subscribe to webhooks channels"),
    ],
)
def test_each_refusal_says_why(actor: Actor, name: str, message: str) -> None:
    with pytest.raises(names.ChannelRefused) as refused:
        grant(actor, name)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("actor", "name", "full", "shown"),
    [
        (DEBTOR, "pay", "t1:pay:9", "pay"),
        (COLLECTOR, "agent:me", "t1:agent:5", "agent:5"),
        (ADMIN, "agent:me", "t1:agent:10", "agent:10"),
        (ADMIN, "wallboard", "t1:wallboard", "wallboard"),
        (
            Actor(tenant_id=3, type="user", id=2, role="supervisor"),
            "group:4",
            "t3:group:4",
            "group:4",
        ),
        (
            Actor(tenant_id=3, type="user", id=2, role="readonly"),
            "queue:4",
            "t3:queue:4",
            "queue:4",
        ),
        (
            Actor(tenant_id=3, type="user", id=2, role="readonly"),
            "account:8",
            "t3:account:8",
            "account:8",
        ),
        (
            Actor(tenant_id=3, type="user", id=2, role="supervisor"),
            "agent:8",
            "t3:agent:8",
            "agent:8",
        ),
        (COLLECTOR, "group:2", "t1:group:2", "group:2"),
    ],
)
def test_a_grant_names_the_channel_in_the_tenant_and_as_the_client_sees_it(
    actor: Actor, name: str, full: str, shown: str
) -> None:
    access, _ = grant(actor, name)
    assert (access.full, access.name) == (full, shown)


@pytest.mark.parametrize("name", ["account:x", "wallboard:1", "agent", "pay:9", "access"])
def test_a_bad_name_is_a_name_error_whoever_asks(name: str) -> None:
    for actor in (DEBTOR, ADMIN, READER_KEY, COLLECTOR):
        with pytest.raises(names.ChannelNameError):
            grant(actor, name)


class Changes:
    def __init__(self) -> None:
        self.events: list[tuple[str, list[str], dict[str, list[int]]]] = []

    async def event(self, event_type: str, channels: list[str], data: dict[str, list[int]]) -> None:
        self.events.append((event_type, channels, data))


async def test_an_access_change_names_each_kind_once_in_order_and_leaves_out_the_empty() -> None:
    changes = Changes()
    await announce_access_change(changes, users=[7, 3, 7], links=iter([2]), accounts={9, 1})  # type: ignore[arg-type]
    await announce_access_change(changes, api_keys=[4])  # type: ignore[arg-type]
    assert changes.events == [
        ("access.changed", ["access"], {"users": [3, 7], "links": [2], "accounts": [1, 9]}),
        ("access.changed", ["access"], {"api_keys": [4]}),
    ]


async def test_an_access_change_of_nobody_sends_nothing() -> None:
    changes = Changes()
    await announce_access_change(changes, users=[], accounts=())  # type: ignore[arg-type]
    assert changes.events == []
