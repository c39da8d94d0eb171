"""The one place that builds and parses channel names.

Names are tenant-relative (``account:42``, ``agent:7``, ``wallboard``); the server
prefixes the tenant (``t3:account:42``) so that a client can never name another
tenant's channel. Everything else calls these builders: no f-string channel names
anywhere else. Who may hear which channel is the domain's policy
(``domain.channel_access``), handed to each socket's session.

``agent:me`` is an alias a signed-in user may subscribe with; the reply and the events
name the canonical ``agent:{id}``. ``pay`` is what a debtor's payment link subscribes to:
the events of its one account, published on ``pay:{account id}`` and shown to the
debtor as ``pay``. The tenant's own setup is heard by those who may read it over the API:
``tenant`` carries its settings, groups and queues (all staff), ``setup`` its users, task
rules, workflows and templates (managers), ``webhooks`` its webhook endpoints (admins).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "agent",
    "account",
    "group",
    "queue",
    "wallboard",
    "tenant",
    "setup",
    "webhooks",
    "pay",
    "import",
]

_WITH_ID: frozenset[str] = frozenset({"agent", "account", "group", "queue", "import"})
_WITHOUT_ID: frozenset[str] = frozenset({"wallboard", "tenant", "setup", "webhooks", "pay"})
_NAME = re.compile(r"(?P<kind>[a-z]+)(?::(?P<ref>[0-9]{1,19}|me))?")
_INT64_MAX = 2**63 - 1
MAX_SHOWN = 64  # characters of a bad name said back in an error


def shown(name: str) -> str:
    """``name`` as an error says it: at most ``MAX_SHOWN`` characters."""
    return name if len(name) <= MAX_SHOWN else name[: MAX_SHOWN - 1] + "…"


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


def import_progress(import_id: int) -> str:
    """Where an import's progress is published, batch by batch."""
    return f"import:{int(import_id)}"


def pay(account_id: int) -> str:
    """Where the events a debtor's payment page shows for one account are published."""
    return f"pay:{int(account_id)}"


WALLBOARD = "wallboard"
TENANT = "tenant"
SETUP = "setup"
WEBHOOKS = "webhooks"
PAY = "pay"
# Server-internal: changes of identity and access that web processes act on for the sockets
# they hold. Not a kind ``parse`` knows, so no client can subscribe to it.
ACCESS = "access"


def parse(name: str) -> tuple[Kind, int | Literal["me"] | None]:
    """Split a tenant-relative name into its kind and id (``"me"`` for ``agent:me``)."""
    match = _NAME.fullmatch(name)
    if match is None:
        raise ChannelNameError(f"{shown(name)!r} is not a channel name")
    kind, ref = match["kind"], match["ref"]
    if kind in _WITHOUT_ID:
        if ref is not None:
            raise ChannelNameError(f"{kind!r} takes no id")
        return kind, None  # type: ignore[return-value]
    if kind not in _WITH_ID:
        raise ChannelNameError(f"unknown channel kind {shown(kind)!r}")
    if ref is None:
        raise ChannelNameError(f"{kind!r} needs an id, as in {kind}:42")
    if ref == "me":
        if kind != "agent":
            raise ChannelNameError("only agent:me may say 'me'")
        return "agent", "me"
    if int(ref) > _INT64_MAX:
        raise ChannelNameError(f"{kind}:{ref} is past the largest id")
    if ref != str(int(ref)):
        # account:042 would be another channel than account:42, which the events go to.
        raise ChannelNameError(f"{kind}:{ref} has leading zeros; write {kind}:{int(ref)}")
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


@dataclass(frozen=True, slots=True)
class Access:
    """A subscription granted: the channel's server-side name and the name the client sees."""

    full: str
    name: str
