"""Open sockets follow their subscriber's access while they stay open.

A socket is authorized when it subscribes; what changes afterwards reaches this process as
an ``access.changed`` notice on its tenant's internal ``access`` channel (written by the
domain in the transaction of the change, relayed like any event). Sockets of a user,
API key or payment link named in a notice check their identity again: gone (signed out,
deactivated, sessions ended, key or link revoked) closes the socket with
``CLOSE_SIGNED_OUT``; a new role asks the policy again about every subscription. A notice
naming accounts asks again about collectors' subscriptions to them. Every socket is also
checked when its access token would have expired, and every few minutes in any case, so
a notice lost with Redis costs minutes at most; a channel whose notices were lost
(``resync``) checks every socket of its tenant at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass, field

import msgspec
import structlog

from channels import names
from channels.backend import Backend, BackendUnavailable, Message
from channels.protocol import CLOSE_SIGNED_OUT
from channels.session import Session
from channels.sinks import Sink
from domain.actor import Actor
from domain.auth import sessions
from domain.channel_access import ChannelAccess
from domain.db import DATABASE_ERRORS, Database
from server.outage import Outages

log = structlog.get_logger("recoup.realtime")

SIGNED_OUT = "signed out: sign in again"

# Notices waiting to be acted on; beyond this the tenant's sockets are all checked instead.
MAX_PENDING = 10_000


class _Notice(msgspec.Struct):
    users: list[int] = []
    api_keys: list[int] = []
    links: list[int] = []
    accounts: list[int] = []


class _Frame(msgspec.Struct):
    data: _Notice


_decode = msgspec.json.Decoder(_Frame).decode


@dataclass(eq=False)
class LiveSocket:
    """One open socket: who holds it, its subscriptions, where its frames go."""

    actor: Actor
    session: Session
    sink: Sink
    next_check: float = 0.0
    closed: bool = field(default=False)


class _TenantListener:
    """The watch's subscription to one tenant's access channel."""

    __slots__ = ("tenant_id", "watch")

    def __init__(self, watch: AccessWatch, tenant_id: int) -> None:
        self.watch = watch
        self.tenant_id = tenant_id

    def deliver(self, message: Message) -> None:
        try:
            notice = _decode(message.payload).data
        except msgspec.DecodeError:
            log.warning("access notice not understood", tenant_id=self.tenant_id)
            notice = None
        self.watch.notice(self.tenant_id, notice)

    def resync(self, channel: str, pos: str) -> None:
        self.watch.notice(self.tenant_id, None)


class AccessWatch:
    def __init__(
        self,
        db: Database,
        backend: Backend,
        *,
        recheck_seconds: float = 300.0,
        sweep_seconds: float = 5.0,
    ) -> None:
        self.db = db
        self.backend = backend
        self.recheck_seconds = recheck_seconds
        self.sweep_seconds = sweep_seconds
        # Set by Resources: an outage is logged there once, not here per socket.
        self.outages: Outages | None = None
        self.sockets: dict[int, set[LiveSocket]] = defaultdict(set)
        self._listeners: dict[int, _TenantListener] = {}
        self._pending: asyncio.Queue[tuple[int, _Notice | None]] = asyncio.Queue(MAX_PENDING)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._act(), name="access-notices"),
                asyncio.create_task(self._sweep(), name="access-sweep"),
            ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def join(self, socket: LiveSocket) -> None:
        """Follow ``socket`` from now on (its access channel joined for its tenant)."""
        socket.next_check = self._deadline(socket.actor)
        tenant = socket.actor.tenant_id
        self.sockets[tenant].add(socket)
        if tenant not in self._listeners:
            listener = _TenantListener(self, tenant)
            self._listeners[tenant] = listener
            try:
                await self.backend.subscribe(names.scoped(tenant, names.ACCESS), listener)
            except BackendUnavailable as exc:
                # The backend subscribes again when it reconnects; the sweep covers the gap.
                log.warning("access notices unavailable", tenant_id=tenant, error=str(exc))

    async def leave(self, socket: LiveSocket) -> None:
        tenant = socket.actor.tenant_id
        held = self.sockets.get(tenant)
        if held is None:
            return
        held.discard(socket)
        if held:
            return
        del self.sockets[tenant]
        listener = self._listeners.pop(tenant, None)
        if listener is not None:
            with contextlib.suppress(BackendUnavailable):
                await self.backend.unsubscribe(names.scoped(tenant, names.ACCESS), listener)

    def notice(self, tenant_id: int, notice: _Notice | None) -> None:
        """An access change in ``tenant_id`` (None: unknown, so check everyone). Never waits."""
        try:
            self._pending.put_nowait((tenant_id, notice))
        except asyncio.QueueFull:
            for socket in self.sockets.get(tenant_id, ()):
                socket.next_check = 0.0  # the sweep checks them all
            log.warning("access notices overflowed; checking every socket", tenant_id=tenant_id)

    async def _act(self) -> None:
        while True:
            tenant_id, notice = await self._pending.get()
            try:
                await self.apply(tenant_id, notice)
            except Exception:
                log.exception("access notice not applied", tenant_id=tenant_id)

    async def apply(self, tenant_id: int, notice: _Notice | None) -> None:
        """Act on one notice for this process's sockets of the tenant."""
        channels = (
            {names.scoped(tenant_id, names.account(a)) for a in notice.accounts}
            if notice is not None
            else set()
        )
        for socket in list(self.sockets.get(tenant_id, ())):
            if notice is None or self._concerns(socket.actor, notice):
                # (what decides a collector's channels, a group say, is not all in the
                # actor: every subscription is asked about again)
                await self.recheck(socket, everything=True)
            elif channels and not socket.actor.sees_whole_tenant:
                await socket.session.reauthorize(only=lambda s: s.full in channels)

    @staticmethod
    def _concerns(actor: Actor, notice: _Notice) -> bool:
        ids = {"user": notice.users, "api_key": notice.api_keys, "debtor": notice.links}
        return actor.id is not None and actor.id in ids.get(actor.type, ())

    async def recheck(self, socket: LiveSocket, *, everything: bool = False) -> None:
        """Check the socket's identity now: close it if gone, follow a new role (and, with
        ``everything``, ask about every subscription again whatever changed)."""
        if socket.closed:
            return
        try:
            current = await sessions.recheck(self.db, socket.actor)
        except DATABASE_ERRORS as exc:
            if self.outages is None or self.outages.noted(exc) is None:
                log.warning("socket access not rechecked", error=str(exc))
            socket.next_check = time.time() + self.sweep_seconds
            return
        if current is None:
            socket.closed = True
            await self.leave(socket)
            await socket.session.close()
            await socket.sink.close(CLOSE_SIGNED_OUT, SIGNED_OUT)
            return
        if current != socket.actor or everything:
            socket.actor = current
            await socket.session.reauthorize(ChannelAccess.for_subscriber(self.db, current))
        socket.next_check = self._deadline(current)

    def _deadline(self, actor: Actor) -> float:
        """When to check again unasked: when the token expires, and every few minutes."""
        now = time.time()
        later = now + self.recheck_seconds
        if actor.session is not None and actor.session.expires_at > now:
            return min(later, float(actor.session.expires_at))
        return later

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            now = time.time()
            due = [s for held in self.sockets.values() for s in held if s.next_check <= now]
            for socket in due:
                try:
                    await self.recheck(socket)
                except Exception:
                    log.exception("socket access not rechecked")
