"""The one place that builds, parses and authorizes channel names.

Names are tenant-relative (``account:42``, ``agent:7``, ``wallboard``); the server
prefixes the tenant (``t3:account:42``) so that a client can never name another
tenant's channel. Everything else calls these builders: no f-string channel names
anywhere else.

``agent:me`` is an alias a signed-in user may subscribe with; the reply and the events
name the canonical ``agent:{id}``. ``pay`` is what a debtor's payment link subscribes to:
the events of its one account, published on ``pay:{account id}`` and shown to the
debtor as ``pay``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Protocol

Kind = Literal["agent", "account", "group", "queue", "wallboard", "pay", "import"]

_WITH_ID: frozenset[str] = frozenset({"agent", "account", "group", "queue", "import"})
_NAME = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<ref>[0-9]{1,18}|me))?$")


class ChannelNameError(ValueError):
    """A channel name that is not one of ours."""


class ChannelRefused(PermissionError):
    """A channel this subscriber may not hear."""


def agent(user_id: int) -> str:
    return f"agent:{int(user_id)}"


def account(account_id: int) -> str:
    return f"account:{int(account_id)}"


def group(group_id: int) -> str:
    return f"group:{int(group_id)}"


def queue(queue_id: int) -> str:
    return f"queue:{int(queue_id)}"


def import_job(import_id: int) -> str:
    return f"import:{int(import_id)}"


def pay(account_id: int) -> str:
    """Where the events a debtor's payment page shows for one account are published."""
    return f"pay:{int(account_id)}"


WALLBOARD = "wallboard"
PAY = "pay"


def parse(name: str) -> tuple[Kind, int | Literal["me"] | None]:
    """Split a tenant-relative name into its kind and id (``"me"`` for ``agent:me``)."""
    match = _NAME.match(name)
    if match is None:
        raise ChannelNameError(f"{name!r} is not a channel name")
    kind, ref = match["kind"], match["ref"]
    if kind in ("wallboard", "pay"):
        if ref is not None:
            raise ChannelNameError(f"{kind!r} takes no id")
        return kind, None  # type: ignore[return-value]
    if kind not in _WITH_ID:
        raise ChannelNameError(f"unknown channel kind {kind!r}")
    if ref is None:
        raise ChannelNameError(f"{kind!r} needs an id, as in {kind}:42")
    if ref == "me":
        if kind != "agent":
            raise ChannelNameError("only agent:me may say 'me'")
        return "agent", "me"
    return kind, int(ref)  # type: ignore[return-value]


def scoped(tenant_id: int, name: str) -> str:
    """The server-side name of a tenant-relative channel."""
    return f"t{int(tenant_id)}:{name}"


def unscoped(full: str) -> tuple[int, str]:
    """Split a server-side name back into tenant id and tenant-relative name."""
    prefix, _, name = full.partition(":")
    if not prefix.startswith("t") or not prefix[1:].isdigit() or not name:
        raise ChannelNameError(f"{full!r} is not a tenant-scoped channel")
    return int(prefix[1:]), name


def client_name(name: str) -> str:
    """What subscribers see a tenant-relative channel as (``pay:42`` is ``pay`` to its debtor)."""
    return PAY if name.startswith("pay:") else name


class Subject(Protocol):
    """Who subscribes (an Actor: a user, an API key or a debtor's link)."""

    tenant_id: int
    type: str
    id: int | None
    role: str | None
    scopes: frozenset[str]
    account_id: int | None


Requirement = tuple[Literal["account", "group", "queue"], int]


@dataclass(frozen=True, slots=True)
class Access:
    """A subscription granted: the channel's server-side name and the name the client sees.

    ``requires`` names a check left to the caller, who can ask the database: the
    subscriber must be able to work that account (``("account", id)``), belong to that
    group (``("group", id)``) or be allowed to pull from that queue (``("queue", id)``).
    """

    full: str
    name: str
    requires: Requirement | None = None


_STAFF_KINDS: frozenset[str] = frozenset(
    {"agent", "account", "group", "queue", "wallboard", "import"}
)


def authorize(subject: Subject, name: str) -> Access:
    """Who may hear what. Raises ChannelNameError for a bad name, ChannelRefused otherwise."""
    kind, ref = parse(name)
    tenant = subject.tenant_id

    def grant(relative: str, requires: Requirement | None = None) -> Access:
        return Access(full=scoped(tenant, relative), name=client_name(relative), requires=requires)

    if subject.type == "debtor":
        if kind == "pay" and subject.account_id is not None:
            return grant(pay(subject.account_id))
        raise ChannelRefused("a payment link hears only the pay channel")
    if kind == "pay":
        raise ChannelRefused("pay is the channel of a debtor's payment link")
    if subject.type == "api_key":
        if kind == "account" and "accounts:read" in subject.scopes:
            return grant(account(ref))  # type: ignore[arg-type]
        if kind == "import" and "accounts:write" in subject.scopes:
            return grant(import_job(ref))  # type: ignore[arg-type]
        raise ChannelRefused(f"this API key may not subscribe to {kind} channels")
    if subject.type != "user" or subject.id is None:
        raise ChannelRefused("only users, API keys and payment links subscribe")
    if kind == "agent":
        target = subject.id if ref == "me" else ref
        if target == subject.id or subject.role in ("admin", "supervisor", "readonly"):
            return grant(agent(target))  # type: ignore[arg-type]
        raise ChannelRefused("collectors hear only their own agent channel")
    relative = WALLBOARD if kind == "wallboard" else f"{kind}:{ref}"
    if subject.role in ("admin", "supervisor", "readonly") and kind in _STAFF_KINDS:
        return grant(relative)
    if subject.role == "collector":
        if kind == "account":
            return grant(relative, ("account", ref))  # type: ignore[arg-type]
        if kind == "group":
            return grant(relative, ("group", ref))  # type: ignore[arg-type]
        if kind == "queue":
            return grant(relative, ("queue", ref))  # type: ignore[arg-type]
    raise ChannelRefused(f"a {subject.role} may not subscribe to {kind} channels")
