"""The one place that builds and parses channel names.

Names are tenant-relative (``account:42``, ``agent:7``, ``wallboard``); the server
prefixes the tenant (``t3:account:42``) so a client can never name another
tenant's channel. Everything else calls these builders: no f-string channel
names anywhere else.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["agent", "account", "group", "queue", "wallboard", "pay", "import"]

_WITH_ID: frozenset[str] = frozenset({"agent", "account", "group", "queue", "import"})
_SINGLE: frozenset[str] = frozenset({"wallboard", "pay"})
_NAME = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<ref>[0-9]{1,18}|me))?$")


class ChannelNameError(ValueError):
    """A channel name that is not one of ours."""


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


WALLBOARD = "wallboard"
PAY = "pay"


def parse(name: str) -> tuple[Kind, int | Literal["me"] | None]:
    """Split a tenant-relative name into its kind and id (``"me"`` for ``agent:me``)."""
    match = _NAME.match(name)
    if match is None:
        raise ChannelNameError(f"{name!r} is not a channel name")
    kind, ref = match["kind"], match["ref"]
    if kind in _SINGLE:
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
