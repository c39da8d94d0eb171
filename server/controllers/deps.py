"""Dependencies: the caller, and services bound to one tenant transaction per request.

The transaction commits after the handler has returned and its response has been
built, and rolls back when the handler raises, so an error leaves nothing behind.
"""

# No ``from __future__ import annotations``: Litestar reads these annotations at runtime.
from collections.abc import AsyncGenerator, Callable
from typing import Any, TypeVar

from litestar import Request
from litestar.di import Provide

from domain.actor import Actor
from domain.db import Connection

S = TypeVar("S")


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    return request.user


def service(cls: Callable[..., S]) -> Provide:
    """Provide ``cls(conn, actor)`` inside the caller's tenant transaction."""

    async def provider(request: Request[Any, Any, Any]) -> AsyncGenerator[cls, None]:  # type: ignore[valid-type]
        actor: Actor = request.user
        async with request.app.state.resources.db.tenant(actor.tenant_id) as conn:
            yield cls(conn, actor)

    return Provide(provider)


async def provide_connection(request: Request[Any, Any, Any]) -> AsyncGenerator[Connection, None]:
    """The caller's tenant transaction, for routes that call domain functions, not a service."""
    actor: Actor = request.user
    async with request.app.state.resources.db.tenant(actor.tenant_id) as conn:
        yield conn
