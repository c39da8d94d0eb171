"""Whether an identity still stands: a signed-in user's session, an API key, a payment link.

Requests of a signed-in user check their session with every transaction they open
(``domain.db.require_session``). An open socket cannot: it asks here when something about
its identity changed (an ``access.changed`` event) and when its token would have expired.
"""

from __future__ import annotations

import msgspec

from domain.actor import Actor
from domain.auth import queries
from domain.clock import Clock, utcnow
from domain.db import Database
from domain.payments import queries as payment_queries


async def recheck(db: Database, actor: Actor, clock: Clock = utcnow) -> Actor | None:
    """The actor as they stand now (a user's role may have changed), or None when the
    identity is gone: signed out, deactivated, sessions ended, the sign-in's lifetime over,
    key or link revoked."""
    async with db.tenant(actor.tenant_id) as conn:
        if actor.type == "user" and actor.id is not None and actor.session is not None:
            state = await queries.session_state(conn, actor.id, actor.session.sign_in, clock())
            if (
                state is None
                or not state["active"]
                or state["sign_in_revoked"]
                or state["sign_in_over"]
                or state["session_version"] != actor.session.version
            ):
                return None
            if state["role"] != actor.role:
                return msgspec.structs.replace(actor, role=state["role"])
            return actor
        if actor.type == "api_key" and actor.id is not None:
            return None if await queries.api_key_revoked(conn, actor.id) else actor
        if actor.type == "debtor" and actor.id is not None:
            link = await payment_queries.link(conn, actor.id)
            if link is None or link["revoked_at"] is not None or link["expires_at"] <= clock():
                return None
            return actor
    return None
