"""The relay's refill: when Redis lost the channels' history, the active relay writes it
back from the outbox before it publishes anything more (``channels/refill.py`` writes it)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from prometheus_client import Counter

from channels import names
from channels.backend import Backend
from channels.protocol import event_tail
from channels.refill import ChannelEntries
from domain.db import Database
from domain.outbox import queries

log = structlog.get_logger("recoup.relay")

# A refill writes this many channels (or entries) per pipeline.
REFILL_CHANNELS = 200
REFILL_ENTRIES = 20_000

REFILLS = Counter("recoup_relay_refills_total", "Channel histories refilled from the outbox")


async def refill_history(db: Database, backend: Backend) -> None:
    """Write every channel's newest events back to Redis under the positions they were
    published with (``outbox.positions``)."""
    refiller = backend.refiller()
    if refiller is None:
        return
    started = time.monotonic()
    # A new Redis (a first start) looks the same as one that lost its data: which it was
    # shows in what the outbox holds, said when done.
    log.info("channels' history missing from redis; refilling it from the outbox")
    await refiller.begin()
    pending: list[ChannelEntries] = []
    size = 0
    async with db.system() as conn:
        rows = queries.published_history(
            conn, refiller.history_size + 1, dt.timedelta(milliseconds=refiller.ttl_ms)
        )
        async for channel, first_prev, entries in _channels_of(rows, refiller.history_size):
            pending.append((channel, first_prev, entries))
            size += len(entries)
            if len(pending) >= REFILL_CHANNELS or size >= REFILL_ENTRIES:
                await refiller.write(pending)
                pending, size = [], 0
        await refiller.write(pending)
    await refiller.finish()
    REFILLS.inc()
    (log.warning if refiller.entries else log.info)(
        "channels' history refilled from the outbox",
        channels=refiller.channels,
        events=refiller.entries,
        seconds=round(time.monotonic() - started, 3),
    )


async def _channels_of(rows: Any, size: int) -> AsyncIterator[ChannelEntries]:
    """Group the outbox's history rows (each channel's oldest first, one more than ``size``
    where the outbox has it) by channel: its predecessor position and its entries."""
    key: tuple[int, str] | None = None
    entries: list[tuple[str, bytes]] = []

    def done() -> ChannelEntries:
        assert key is not None
        first_prev = entries[0][0] if len(entries) > size else None
        kept = entries[1:] if len(entries) > size else entries
        return names.scoped(key[0], key[1]), first_prev, kept

    async for row in rows:
        if (row["tenant_id"], row["channel"]) != key:
            if key is not None:
                yield done()
            key, entries = (row["tenant_id"], row["channel"]), []
        tail = event_tail(str(row["event_id"]), row["type"], row["data"].encode())
        entries.append((row["pos"], tail))
    if key is not None:
        yield done()
