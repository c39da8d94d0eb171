"""Dependencies: the caller, and services bound to the request's tenant transaction
(``server.transaction``: begun on first use, committed when the answer is a success)."""

# No ``from __future__ import annotations``: Litestar reads these annotations at runtime.
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request
from litestar.di import Provide

from domain.actor import Actor
from domain.db import Connection
from server.transaction import request_transaction

S = TypeVar("S")


async def provide_connection() -> Connection:
    """The connection of the caller's tenant transaction for this request."""
    return await request_transaction().connection()


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    return request.user


def service(cls: Callable[..., S]) -> Provide:
    """Provide ``cls(conn, actor)`` in the caller's tenant transaction for this request."""

    async def provider() -> cls:  # type: ignore[valid-type]
        transaction = request_transaction()
        return cls(await transaction.connection(), transaction.actor)

    return Provide(provider)
