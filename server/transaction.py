"""The request's tenant transaction: at most one, begun by the first dependency that needs it.

It commits when the handler's answer is ready and is a success (``end_transaction``, the
API's ``after_request`` hook), before a byte of the answer is sent, so a commit that fails
becomes an error answer of its own; an error answer rolls it back. Whatever ends the
request otherwise (an exception, a client gone) rolls it back when the request's extent
closes (``AccessMiddleware`` holds it open with ``transaction_scope``).

Not a generator dependency: Litestar's clean-up of one costs more than the one-row read
it serves. Because the transaction ends before the answer is sent, an answer streamed from
the database as it goes (an export) reads in a transaction of its own.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar, Token
from typing import Any

from domain.actor import Actor
from domain.db import Connection, Database, TenantTransaction


class RequestTransaction:
    """The caller's tenant transaction for one request, begun on first use (once, however
    many dependencies ask for it at the same time) and ended once."""

    __slots__ = ("_begun", "_db", "_ended", "actor")

    def __init__(self, db: Database, actor: Actor) -> None:
        self._db = db
        self.actor = actor
        self._begun: asyncio.Future[TenantTransaction] | None = None
        self._ended = False

    async def connection(self) -> Connection:
        if self._ended:
            raise RuntimeError("the request's transaction has ended")
        if self._begun is not None:
            return (await asyncio.shield(self._begun)).conn
        begun = self._begun = asyncio.get_running_loop().create_future()
        try:
            transaction = await self._db.begin(self.actor.tenant_id)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                begun.cancel()
            else:
                begun.set_exception(exc)
                begun.exception()  # retrieved: whoever awaits it re-raises; no stray log
            raise
        begun.set_result(transaction)
        if self._ended:  # the request ended while this was beginning: nothing may use it
            await transaction.rollback()
            raise RuntimeError("the request's transaction has ended")
        return transaction.conn

    async def end(self, *, commit: bool) -> None:
        """Commit or roll back, if the transaction was begun and is not over yet."""
        if self._ended:
            return
        self._ended = True
        begun = self._begun
        if begun is None or not begun.done() or begun.cancelled() or begun.exception():
            # Never begun; still beginning (``connection`` rolls it back once begun); or its
            # BEGIN failed, which gave the connection back.
            return
        if commit:
            await begun.result().commit()
        else:
            await begun.result().rollback()


_current: ContextVar[RequestTransaction | None] = ContextVar("recoup_request_transaction")


def transaction_scope(db: Database, actor: Actor) -> Token[RequestTransaction | None]:
    """Open the request's extent: its transaction, not begun until asked for."""
    return _current.set(RequestTransaction(db, actor))


async def close_transaction_scope(token: Token[RequestTransaction | None]) -> None:
    """Close the request's extent: roll back whatever it left open."""
    transaction = _current.get(None)
    _current.reset(token)
    if transaction is not None:
        await transaction.end(commit=False)


async def end_transaction(response: Any) -> Any:
    """``after_request``: commit the request's transaction if the answer is a success, roll
    it back if not; before the answer is encoded and sent."""
    transaction = _current.get(None)
    if transaction is not None:
        await transaction.end(commit=getattr(response, "status_code", 200) < 400)
    return response


def request_transaction() -> RequestTransaction:
    """The transaction of the request being served (inside ``transaction_scope``)."""
    transaction = _current.get(None)
    if transaction is None:
        raise RuntimeError("a tenant transaction outside an authenticated request")
    return transaction
