"""Refilling the channels' history after Redis lost it (restarted without its data, flushed).

Every event the relay publishes has its position on each of its channels written back to
its outbox row, and the outbox keeps seven days of events. So a lost history can be
rebuilt with the very positions clients hold: each channel's newest events (up to its
history size, within its seven days) are appended again under their own stream ids, and a
client resuming from any of them gets ``recovered: true`` and exactly what it missed.

- Detected: the marker key ``HISTORY_COMPLETE`` vanishes with the data. Publishing refuses
  while it is missing (so nothing new lands in a stream before its past does), and history
  reads wait for it.
- Done once, by one relay: only the active relay (it holds the relay's advisory lock)
  refills. It writes a fresh token to ``HISTORY_REFILL`` first; each channel's entries
  are written only while that token is still there, and the marker is set only if it is
  still there at the end, so a flush during the refill (or a relay that lost its lock)
  cannot leave a partial history declared whole.
- Atomic per channel: one Lua call writes a channel's entries, and only into a stream that
  does not exist, so a reader sees either nothing or the whole refilled history.

A refilled entry's predecessor ``p`` is the channel's previous event in the outbox, and the
entry is flagged ``r``: whatever lay between them in the lost stream was not in the outbox
(the wallboard's figures, resent every few seconds), so a client whose position lies in
that span has missed nothing it cannot get again. Where the outbox holds no previous
event, ``p`` is ``LOST`` and a client from before it gets ``recovered: false``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import NoScriptError

from channels.backend import HistoryLost
from channels.protocol import parse_pos
from channels.redis_layout import HISTORY_COMPLETE, HISTORY_REFILL, AnyRedis, Layout

__all__ = ["HISTORY_COMPLETE", "HISTORY_REFILL", "LOST", "Refiller", "predecessor", "wait_complete"]

LOST = "lost"

# KEYS: refill token, history stream. ARGV: token, expire at (ms), then the id, predecessor
# and tail of each entry, oldest first.
_REFILL = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
for i = 3, #ARGV, 3 do
  redis.call('XADD', KEYS[2], ARGV[i], 'p', ARGV[i + 1], 't', ARGV[i + 2], 'r', '1')
end
redis.call('PEXPIREAT', KEYS[2], ARGV[2])
return 1
"""

# KEYS: refill token, marker. ARGV: token.
_FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], '1')
redis.call('DEL', KEYS[1])
return 1
"""


def predecessor(since: str | None, entry_id: bytes, fields: dict[bytes, bytes]) -> str:
    """The position a resume from ``since`` must hold for ``entry_id`` to follow it without a
    gap: the entry's recorded predecessor, or ``since`` itself when the entry was refilled
    and ``since`` lies between its outbox predecessor and it."""
    prev = fields[b"p"].decode()
    if since is None or b"r" not in fields or prev in ("", LOST):
        return prev
    if parse_pos(prev) <= parse_pos(since) < parse_pos(entry_id.decode()):
        return since
    return prev


async def wait_complete(
    redis: AnyRedis, seconds: float, every: float = 0.1, marker: str = HISTORY_COMPLETE
) -> bool:
    """Poll ``marker`` until it is back (True) or ``seconds`` have passed (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        if await redis.exists(marker):
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(every)


# One channel's refill: its tenant-scoped name, the position before its first entry (None:
# not in the outbox), and its entries (position, frame tail), oldest first.
ChannelEntries = tuple[str, str | None, Sequence[tuple[str, bytes]]]


class Refiller:
    """Writes a lost history back (the relay reads it from the outbox).

    On a cluster the token and the marker are per slot (``channels/redis_layout.py``): the
    refill takes every slot over, writes each channel under its slot's token, and declares
    each slot whole only while its token is still there."""

    def __init__(
        self,
        redis: AnyRedis,
        history_size: int,
        ttl_ms: int,
        history_key: Callable[[str], str],
        layout: Layout | None = None,
    ) -> None:
        self.redis = redis
        self.history_key = history_key
        self.history_size = history_size
        self.ttl_ms = ttl_ms
        self.layout = layout or Layout()
        self.token = secrets.token_hex(16)
        self._refill_sha = ""
        self._finish_sha = ""
        self.channels = 0
        self.entries = 0

    async def begin(self) -> None:
        """Take the refill over (a previous one, by a relay since gone, stops writing)."""
        # Loaded first (on every node of a cluster), so that the pipelines below can call
        # the scripts by their digest.
        self._refill_sha = await self.redis.script_load(_REFILL)
        self._finish_sha = await self.redis.script_load(_FINISH)
        async with self.redis.pipeline(transaction=False) as pipe:
            for token, _ in self.layout.pairs():
                pipe.set(token, self.token, px=3_600_000)
            await pipe.execute()

    async def write(self, batch: Sequence[ChannelEntries]) -> None:
        """Write these channels' entries, one atomic call each, pipelined; raises HistoryLost
        when the refill was taken over or Redis lost its data again meanwhile."""
        if not batch:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for channel, first_prev, entries in batch:
                args: list[str | bytes | int] = [self.token, _expire_at(entries, self.ttl_ms)]
                prev = first_prev or LOST
                for pos, tail in entries:
                    args += (pos, prev, tail)
                    prev = pos
                keys = [self.layout.token(channel), self.history_key(channel)]
                pipe.execute_command("EVALSHA", self._refill_sha, len(keys), *keys, *args)
            results = await _execute(pipe)
        if any(r == -1 for r in results):
            raise HistoryLost("the refill was interrupted (Redis lost its data again?)")
        self.channels += sum(1 for r in results if r == 1)
        self.entries += sum(len(e) for (_, _, e), r in zip(batch, results, strict=True) if r == 1)

    async def finish(self) -> None:
        """Declare the history whole; raises HistoryLost when the refill was interrupted."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for token, marker in self.layout.pairs():
                pipe.execute_command("EVALSHA", self._finish_sha, 2, token, marker, self.token)
            results = await _execute(pipe)
        if not all(results):
            raise HistoryLost("the refill was interrupted (Redis lost its data again?)")


async def _execute(pipe: Any) -> list[Any]:
    try:
        return await pipe.execute()
    except NoScriptError as exc:  # Redis restarted since ``begin``: the token went too
        raise HistoryLost("the refill was interrupted (Redis restarted?)") from exc


def _expire_at(entries: Sequence[tuple[str, bytes]], ttl_ms: int) -> int:
    """A stream lives ``ttl_ms`` after its newest event (its id's first part is Redis's
    clock, in ms, when it was appended)."""
    return parse_pos(entries[-1][0])[0] + ttl_ms
