"""The outbox relay: committed events to Redis, in order, at least once.

Wakes on PostgreSQL NOTIFY (and polls about once a second in case one is missed),
gathers for a few milliseconds (events committed one per transaction still go out in
batches), reads the unpublished outbox rows oldest first, appends each event to the
history and live channel of every channel it names (one Redis call per batch), then marks
the rows published, with their positions, and stages what the hand-offs keep, in one
statement. A batch is three round trips (read, Redis, mark) and no transaction: only the
relay holding the lock (below) publishes, and a row is marked only once Redis has it.
The notices that arrive while a batch is out are read afterwards, all at once.

A notice carries the events of its statement when they are few and small (``_Row``; the
outbox's trigger builds them as the read does). A trickle of single-event commits then goes
out in one round trip a batch (Redis), with no read, and is marked published (and handed
off) within ``mark_seconds``, several batches in one statement; always before a read, a
refill, or the relay stopping. Every committed event reaches the relay in a notice or by a
read: it reads on taking over, whenever a notice names only an id (a larger statement),
and on every quiet poll. A notice of an event already published starts no batch.

When Redis lost the channels' history, the active relay refills it from the outbox before
it publishes anything more (``relay_refill.py``). If the relay dies between Redis and the
mark, the rows go out again on restart (or from the standby): consumers de-duplicate by
event id. Each hand-off picks the events its job wants and kicks one job per tenant and mark.

Exactly one relay is active: it holds a session advisory lock on its listening
connection. Others block on that lock and take over as soon as the active one's
session ends (when its process dies, its connection closes and PostgreSQL releases
the lock).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import structlog
from prometheus_client import Counter, Gauge, start_http_server

from channels import names
from channels.backend import Backend, BackendUnavailable, HistoryLost, Publication
from domain.db import Database, connect
from domain.outbox import queries
from tasks.relay_refill import refill_history

log = structlog.get_logger("recoup.relay")

# Any constant: it names "the relay" among the advisory locks of this database.
RELAY_LOCK = 0x52454C4159  # "RELAY"
CHANNEL = "recoup_outbox"
# What PostgreSQL refuses of the values themselves: the same on every try.
_REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)

RELAYED = Counter("recoup_relay_events_total", "Outbox events published to Redis")
BATCHES = Counter("recoup_relay_batches_total", "Batches published")
ACTIVE = Gauge("recoup_relay_active", "1 while this relay holds the lock")
STAGE_REFUSED = Counter(
    "recoup_relay_stage_refused_total", "Events published without their hand-offs (refused)"
)
LAG = Gauge("recoup_relay_publish_lag_seconds", "Commit-to-publish delay of the last batch")


@dataclass(frozen=True, slots=True)
class Handoff:
    """Events a job wants, and how to kick it: ``wants(type, data)`` picks the events,
    ``kick`` gets the tenants they came from (one call per batch, not one per event).

    A job that must not miss an event (a kick is best effort) also gives ``stage``: an
    ``INSERT`` over the batch's outbox rows (their ids are ``$1``) that keeps what the job
    wants and returns the tenants to kick (``RETURNING tenant_id``). It runs in the same
    statement that marks the batch published (``queries.mark_published``), so the events
    are kept exactly when they are marked published, without a round trip of its own."""

    wants: Callable[[str, str], bool]
    kick: Callable[[list[int]], Awaitable[None]]
    stage: str | None = None


# After a NOTIFY, how long to wait for more commits before claiming (RELAY_GATHER_MS).
GATHER_SECONDS = 0.004
# At most this many events kept from notices while they cannot be published.
ANNOUNCED_HELD = 10_000
# A trickle's events are marked published (and handed off) this long after they went out,
# with the batches' that followed: one statement, one kick (RELAY_MARK_MS).
MARK_SECONDS = 0.025


class _Row(msgspec.Struct, array_like=True, gc=False):
    """An unpublished event as the relay publishes it: from a notice (a JSON array of
    these) or from the outbox (``queries.claim_unpublished``)."""

    id: int
    tenant_id: int
    type: str
    channels: list[str]
    tail: str  # the frame after its position (``channels.protocol.event_tail``)

    @property
    def data(self) -> str:
        """The event's data as JSON text: the end of its tail (the type before it is a JSON
        string, in which ``,"data":`` cannot appear unescaped)."""
        return self.tail[self.tail.index(',"data":') + 8 : -1]


_read_notice = msgspec.json.Decoder(list[_Row]).decode


class Relay:
    def __init__(
        self,
        db: Database,
        backend: Backend,
        *,
        handoffs: Sequence[Handoff] = (),
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retention: dt.timedelta = dt.timedelta(days=7),
        prune_every_seconds: float = 60.0,
        gather_seconds: float = GATHER_SECONDS,
        mark_seconds: float = MARK_SECONDS,
    ) -> None:
        self.db = db
        self.backend = backend
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.prune_every_seconds = prune_every_seconds
        self.gather_seconds = gather_seconds
        self.mark_seconds = mark_seconds
        self.handoffs = tuple(handoffs)
        self._stages = tuple(h.stage for h in self.handoffs if h.stage is not None)
        self._wake = asyncio.Event()
        self._conn: Any = None
        # Ids the notices named that no batch has claimed yet (None: a notice without one),
        # the events notices carried, not yet published (in the order of their commits),
        # and the ids recently claimed (a notice often arrives after its event went out).
        self._pending: set[int | None] = set()
        self._announced: dict[int, _Row] = {}
        self._claimed: dict[int, None] = {}
        # Events in Redis, not yet marked published: each row with its positions, and when
        # the first of them went out (``flush_marks``).
        self._unmarked: list[tuple[_Row, str]] = []
        self._unmarked_since = 0.0
        self.published = 0

    async def run(self) -> None:
        """Wait for the lock, then relay until cancelled (or the connection is lost)."""
        conn = await connect(self.db.system_dsn, application_name="recoup-relay")
        try:
            # Blocks while another relay is active; returns the moment its session ends.
            await queries.wait_for_lock(conn, RELAY_LOCK)
            ACTIVE.set(1)
            log.info("relay active")
            await conn.add_listener(CHANNEL, lambda *args: self._notified(args[-1]))
            # Batches run on a connection of their own: no pool to go through for each.
            self._conn = await connect(self.db.system_dsn, application_name="recoup-relay")
            await self._loop(conn)
        finally:
            if self._unmarked and self._conn is not None and not self._conn.is_closed():
                # Stopped while events wait to be marked: mark them now, or (should that
                # fail) the next relay publishes them again, as after any crash.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2):
                        await self.flush_marks()
            ACTIVE.set(0)
            for held in (self._conn, conn):
                if held is not None:
                    with contextlib.suppress(Exception):
                        await held.close()
            self._conn = None

    def _notified(self, payload: str) -> None:
        if payload.startswith("["):
            try:
                rows = _read_notice(payload)
            except msgspec.DecodeError:
                rows = None  # not one of the trigger's: read the outbox
            if rows is not None:
                if len(self._announced) >= ANNOUNCED_HELD:
                    # Redis away for a while: the outbox keeps them; read them from there.
                    self._announced.clear()
                    self._pending.add(None)
                for row in rows:
                    if row.id not in self._claimed:
                        self._announced[row.id] = row
                if self._announced:
                    self._wake.set()
                return
        top = int(payload) if payload.isascii() and payload.isdigit() else None
        if top is not None and top in self._claimed:
            return  # published already: no batch for it
        self._pending.add(top)
        self._wake.set()

    def _remember(self, ids: list[int]) -> None:
        for id_ in ids:
            self._claimed[id_] = None
            self._pending.discard(id_)
            self._announced.pop(id_, None)
        if len(self._claimed) > 20_000:
            for old in list(itertools.islice(self._claimed, 10_000)):
                del self._claimed[old]

    async def _loop(self, conn: object) -> None:
        backoff = 0.1
        next_prune = time.monotonic()
        check_history = True  # on taking over, and on every quiet poll
        read = True  # the outbox, rather than only what notices carried: on taking over too
        while True:
            self._wake.clear()
            read = read or bool(self._pending)
            self._pending.discard(None)
            # Notices read before the claim are of commits it sees: once a batch comes back
            # short, they are answered (their rows claimed, or published by another relay).
            seen = set(self._pending)
            try:
                if self._unmarked and (read or check_history or self._marks_in() <= 0):
                    # Before a read (which would find them unmarked) and before a refill
                    # (which writes back what is marked), and when they have waited enough.
                    await self.flush_marks()
                if check_history and not await self.backend.history_complete():
                    await self.refill()
                if read:
                    count = await self.relay_batch()
                    if count < self.batch_size:
                        self._pending -= seen
                        read = False
                else:
                    count = await self.relay_announced()
                backoff = 0.1
            except HistoryLost:
                check_history = read = True
                continue
            except BackendUnavailable as exc:
                log.warning("redis unavailable; events wait in the outbox", error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                check_history = read = True
                continue
            if time.monotonic() >= next_prune:
                await self.prune()
                next_prune = time.monotonic() + self.prune_every_seconds
            check_history = False
            if self._pending or self._announced:
                self._wake.set()  # notices of events this batch did not hold
            else:
                self._wake.clear()  # notices only of events this batch published
            if count < self.batch_size:
                _reading(conn, True)
                marks_in = self._marks_in()
                marks_due = bool(self._unmarked) and marks_in < self.poll_seconds
                try:
                    async with asyncio.timeout(
                        max(0.0, marks_in) if marks_due else self.poll_seconds
                    ):
                        await self._wake.wait()
                except TimeoutError:
                    if not marks_due:  # a quiet poll, not only marks to write
                        check_history = read = True
                        self._pending.clear()
                else:
                    # Woken by a commit: let a few more arrive, so that events committed
                    # one at a time still go out in batches (each costs a few round trips),
                    # and read their notices only once the batch is out: all at once,
                    # rather than one wake-up of this process per commit.
                    _reading(conn, False)
                    await asyncio.sleep(self.gather_seconds)
                    await _hear(conn)
            if conn.is_closed():  # type: ignore[attr-defined]
                raise ConnectionError("the relay's database connection was lost")

    async def relay_batch(self) -> int:
        """Read one batch from the outbox and publish it; returns how many events it held."""
        async with self._batch() as (conn, lock):
            rows = [
                _Row(r["id"], r["tenant_id"], r["type"], r["channels"], r["tail"])
                for r in await queries.claim_unpublished(conn, self.batch_size, lock=lock)
            ]
            staged = await self._publish(conn, rows)
        return await self._handed_off(rows, staged)

    async def relay_announced(self) -> int:
        """Publish the events notices carried (as many as a batch holds), without reading
        the outbox; returns how many."""
        rows = list(itertools.islice(self._announced.values(), self.batch_size))
        if not rows:
            return 0
        async with self._batch() as (conn, lock):
            if lock:  # driven batch by batch, beside the relay that runs: mark at once
                staged = await self._publish(conn, rows)
                return await self._handed_off(rows, staged)
            positions = await self._send(rows)
        if not self._unmarked:
            self._unmarked_since = time.monotonic()
        self._unmarked += zip(rows, positions, strict=True)
        if len(self._unmarked) >= self.batch_size:
            await self.flush_marks()
        return len(rows)

    def _marks_in(self) -> float:  # seconds until the events waiting are to be marked
        return self._unmarked_since + self.mark_seconds - time.monotonic()

    async def flush_marks(self) -> None:
        """Mark published the events that went out without being marked (``relay_announced``),
        staging and kicking their hand-offs: one statement for several batches of a trickle.
        A relay that dies before this publishes nothing twice that its clients keep: the
        next one publishes them again, and clients drop an event they hold by its id."""
        if not self._unmarked:
            return
        rows = [row for row, _ in self._unmarked]
        async with self._batch() as (conn, _lock):
            staged = await self._mark_staged(conn, rows, [p for _, p in self._unmarked])
        self._unmarked = []
        await self._handed_off(rows, staged)

    async def _publish(self, conn: Any, rows: list[_Row]) -> list[list[int] | None]:
        """Publish ``rows`` and mark them published; what each hand-off staged of them."""
        if not rows:
            return []
        return await self._mark_staged(conn, rows, await self._send(rows))

    async def _mark_staged(
        self, conn: Any, rows: list[_Row], positions: list[str]
    ) -> list[list[int] | None]:
        """Mark ``rows`` published; what each hand-off staged of them (None: it stages
        nothing, and picks from the rows themselves)."""
        kept = iter(await self._mark(conn, rows, [row.id for row in rows], positions))
        return [next(kept) if h.stage is not None else None for h in self.handoffs]

    async def _send(self, rows: list[_Row]) -> list[str]:
        """Publish ``rows`` to Redis; each row's positions (``_per_row``)."""
        publications = [
            Publication(names.scoped(row.tenant_id, channel), row.tail.encode())
            for row in rows
            for channel in row.channels
        ]
        started = time.time()
        # Raises HistoryLost (and the batch waits) while the history is to be refilled.
        positions = await self.backend.publish(publications)
        self._remember([row.id for row in rows])
        RELAYED.inc(len(rows))
        BATCHES.inc()
        LAG.set(time.time() - started)
        self.published += len(rows)
        return _per_row(rows, positions)

    async def _handed_off(self, rows: list[_Row], staged: list[list[int] | None]) -> int:
        """Kick each hand-off's job for the tenants whose events it wants (once the batch
        is committed); returns how many events the batch held."""
        if not rows:
            return 0
        for handoff, kept in zip(self.handoffs, staged, strict=True):
            tenants = (
                kept
                if kept is not None
                else sorted({r.tenant_id for r in rows if handoff.wants(r.type, r.data)})
            )
            if tenants:
                try:
                    await handoff.kick(tenants)
                except Exception as exc:
                    # Nothing is lost: the minute sweeps offer waiting work again.
                    log.warning("job hand-off failed", error=str(exc), tenants=tenants)
        return len(rows)

    async def _mark(
        self, conn: Any, rows: Sequence[_Row], ids: list[int], positions: list[str]
    ) -> list[list[int]]:
        """Mark the batch published and stage its hand-offs (one statement). An event a
        hand-off cannot stage (a value its table refuses) would fail that statement on every
        try and hold up every event after it: then each row is marked on its own, and one
        that still fails is marked without its hand-offs, and said so."""
        try:
            async with _savepoint(conn):
                return await queries.mark_published(conn, ids, positions, self._stages)
        except _REFUSED as exc:
            if not self._stages:
                raise
            log.warning(
                "a batch's hand-offs refused it; marking its events one by one", error=str(exc)
            )
        staged: list[list[int]] = [[] for _ in self._stages]
        for row, id_, pos in zip(rows, ids, positions, strict=True):
            try:
                async with _savepoint(conn):
                    kept = await queries.mark_published(conn, [id_], [pos], self._stages)
            except _REFUSED as exc:
                log.error(
                    "an event was published without its hand-offs: they refused it",
                    outbox_id=id_,
                    type=row.type,
                    error=str(exc),
                )
                STAGE_REFUSED.inc()
                await queries.mark_published(conn, [id_], [pos])
                continue
            for into, tenants in zip(staged, kept, strict=True):
                into.extend(t for t in tenants if t not in into)
        return staged

    @contextlib.asynccontextmanager
    async def _batch(self) -> AsyncIterator[tuple[Any, bool]]:
        """The connection a batch runs on, and whether its rows are to be locked.

        The running relay's own connection, each statement on its own: the lock makes it
        the only one publishing. A relay driven without ``run`` (one batch at a time, beside
        whatever relay holds the lock) takes a pooled connection and a transaction, its
        rows locked and skipped by another such relay."""
        if self._conn is None:
            async with self.db.system() as conn:
                yield conn, True
            return
        yield self._conn, False

    async def refill(self) -> None:
        """Redis lost the channels' history: write it back from the outbox, each channel's
        newest events under the positions they were published with (``relay_refill.py``).
        Only the active relay gets here; nothing is published until it is done."""
        await refill_history(self.db, self.backend)

    async def prune(self) -> None:
        async with self.db.system() as conn:
            removed = await queries.prune_published(conn, self.retention, 10_000)
        if removed:
            log.info("pruned published outbox rows", removed=removed)


@contextlib.asynccontextmanager
async def _savepoint(conn: Any) -> AsyncIterator[None]:
    """A savepoint when ``conn`` is in a transaction (a failed statement then spoils only
    itself); nothing, and no round trip, on the running relay's autocommit connection."""
    if conn.is_in_transaction():
        async with conn.transaction():
            yield
    else:
        yield


def _reading(conn: Any, on: bool) -> None:
    """Let the listening connection's notices in (or hold them in the socket meanwhile)."""
    transport = getattr(conn, "_transport", None)
    if transport is not None:
        (transport.resume_reading if on else transport.pause_reading)()


async def _hear(conn: Any) -> None:
    """Read the notices held in the listening socket now, rather than after the batch:
    one turn of the loop reads them (asyncpg schedules each listener call), the next runs
    the calls. A notice read later is not lost; its events wait for the next batch."""
    _reading(conn, True)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    _reading(conn, False)


def _per_row(rows: Sequence[_Row], positions: list[str]) -> list[str]:
    """Each row's positions on its channels, space-separated, in the order published."""
    out = []
    at = 0
    for row in rows:
        count = len(row.channels)
        out.append(" ".join(positions[at : at + count]))
        at += count
    return out


async def run_relay(
    db: Database,
    backend: Backend,
    *,
    metrics_port: int | None = None,
    handoffs: Sequence[Handoff] = (),
    gather_seconds: float = GATHER_SECONDS,
    mark_seconds: float = MARK_SECONDS,
) -> None:
    """Run a relay for ever, starting over (and waiting for the lock) after any failure."""
    if metrics_port:
        start_http_server(metrics_port)
    while True:
        try:
            relay = Relay(
                db,
                backend,
                handoffs=handoffs,
                gather_seconds=gather_seconds,
                mark_seconds=mark_seconds,
            )
            await relay.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("relay stopped; starting over", error=str(exc))
            await asyncio.sleep(1)
