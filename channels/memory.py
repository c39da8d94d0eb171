"""The in-memory backend: one process, for unit tests and single-process development."""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Sequence

from channels import names
from channels.backend import (
    Backend,
    History,
    Listener,
    Message,
    Position,
    Publication,
    format_pos,
    frame_head,
    resolve_history,
)
from channels.protocol import parse_pos


class MemoryBackend(Backend):
    def __init__(self, *, history_size: int = 1000) -> None:
        super().__init__()
        self.history_size = history_size
        # channel -> entries (pos, prev, tail), oldest first, capped
        self._history: dict[str, deque[tuple[Position, str, bytes]]] = {}
        self._seq = itertools.count()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for channel, state in list(self._channels.items()):
            for listener in list(state.listeners):
                self._remove_listener(channel, listener)

    def _next_pos(self, channel: str) -> Position:
        entries = self._history.get(channel)
        ms = int(time.time() * 1000)
        if entries and entries[-1][0][0] >= ms:
            last = entries[-1][0]
            return last[0], last[1] + 1
        return ms, 0

    async def publish(self, publications: Sequence[Publication]) -> list[str]:
        positions = []
        for publication in publications:
            channel = publication.channel
            entries = self._history.setdefault(channel, deque(maxlen=self.history_size))
            prev = format_pos(entries[-1][0]) if entries else ""
            pos = self._next_pos(channel)
            entries.append((pos, prev, publication.tail))
            positions.append(format_pos(pos))
            payload = frame_head(channel) + format_pos(pos).encode() + publication.tail
            self._dispatch(channel, pos, payload)
        return positions

    async def subscribe(self, channel: str, listener: Listener) -> None:
        if self._add_listener(channel, listener):
            entries = self._history.get(channel)
            self._set_baseline(channel, format_pos(entries[-1][0]) if entries else "0-0")

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        self._remove_listener(channel, listener)

    async def listened(self, name: str) -> list[int]:
        return sorted(
            {tenant for tenant, held in map(names.unscoped, self._channels) if held == name}
        )

    async def history(self, channel: str, since: str | None) -> History:
        entries = self._history.get(channel) or deque()
        last = format_pos(entries[-1][0]) if entries else None
        after = [e for e in entries if e[0] > parse_pos(since)] if since else []
        head = frame_head(channel)
        messages = [
            Message(channel, pos, head + format_pos(pos).encode() + tail) for pos, _, tail in after
        ]
        return resolve_history(since, after[0][1] if after else None, last, messages)

    def trim(self, channel: str, keep: int) -> None:
        """Forget all but the newest ``keep`` entries (as a capped history would)."""
        entries = self._history.get(channel)
        while entries and len(entries) > keep:
            entries.popleft()

    async def lose_live(self, channel_positions: dict[str, list[Publication]]) -> None:
        """Test aid: append to history without live delivery, then catch up (as after a
        dropped connection)."""
        for channel, publications in channel_positions.items():
            listeners = self._channels.pop(channel, None)
            await self.publish(publications)
            if listeners is not None:
                self._channels[channel] = listeners
        await self._catch_up()
