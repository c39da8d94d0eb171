"""What a simulated floor measures: actions, every REST call's time, refusals and errors,
and the time from an action's request to its event on each supervisor's wallboard."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable
from typing import Any

# Statuses a busy floor meets in its ordinary course, counted apart from errors: a task
# taken away between two clicks (403, 404, 409) and a rate limit asking to wait (429).
RACES = frozenset({403, 404, 409})
THROTTLED = 429
# An expected event not seen on a wallboard this long after its request counts as missed.
EVENT_DEADLINE = 30.0


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def event_key(kind: str, data: dict[str, Any]) -> tuple[str, int] | None:
    """What an event frame is about, as the action that caused it named it."""
    try:
        if kind.startswith("task."):
            return (kind, int(data["task"]["id"]))
        if kind == "interaction.logged":
            return (kind, int(data["id"]))
        if kind == "payment.received":
            return (kind, int(data["payment"]["id"]))
        if kind == "promise.made":
            return (kind, int(data["promises"][0]["id"]))
        if kind == "agent.status":
            return (f"{kind}:{data['status']}", int(data["id"]))
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return None


class Metrics:
    def __init__(self, screens: int = 0) -> None:
        self.started = time.perf_counter()
        self.stopped: float | None = None
        self.interrupted = False  # stopped by a signal rather than by its duration
        self.screens = screens  # supervisors' wallboards, each expected to see every event
        self.actions: collections.Counter[str] = collections.Counter()
        self.calls: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: list[str] = []
        self.error_count = 0
        self.races = 0
        self.throttled = 0
        self.effects: collections.Counter[str] = collections.Counter()
        self.to_screen: list[float] = []
        # Event frames received, by kind of channel (agent, account, wallboard, pay).
        self.heard: collections.Counter[str] = collections.Counter()
        self.missed = 0
        self.missed_kinds: collections.Counter[str] = collections.Counter()
        self.race_calls: collections.Counter[str] = collections.Counter()
        self._pending: dict[tuple[str, int], list[float]] = {}
        # Events that reached a wallboard before their request's answer reached its agent.
        self._early: dict[tuple[str, int], list[float]] = {}

    def begin(self) -> None:
        """Measure from now: set-up (sign-ins, creating users) is not the floor's pace."""
        self.started = time.perf_counter()
        self.actions.clear()
        self.calls.clear()
        self.statuses.clear()
        self.to_screen.clear()
        self._pending.clear()
        self._early.clear()

    # REST
    def call(self, name: str, seconds: float, status: int) -> None:
        self.calls[name].append(seconds)
        self.statuses[status] += 1
        if status == THROTTLED:
            self.throttled += 1
        elif status in RACES:
            self.races += 1
            self.race_calls[f"{name} {status}"] += 1

    def error(self, what: str) -> None:
        self.error_count += 1
        if len(self.errors) < 20:
            self.errors.append(what)

    def action(self, kind: str) -> None:
        self.actions[kind] += 1

    def effect(self, kind: str, count: int = 1) -> None:
        """Something the floor did that should show in the data (a call logged, a payment)."""
        self.effects[kind] += count

    # Event to screen
    def expect(self, key: tuple[str, int], started: float) -> None:
        if not self.screens:
            return
        arrived = self._early.pop(key, [])
        self.to_screen.extend(at - started for at in arrived)
        if len(arrived) < self.screens:
            self._pending[key] = [started, float(self.screens - len(arrived))]

    def seen(self, kind: str, data: dict[str, Any]) -> None:
        key = event_key(kind, data)
        if key is None:
            return
        now = time.perf_counter()
        entry = self._pending.get(key)
        if entry is None:
            self._early.setdefault(key, []).append(now)
            return
        self.to_screen.append(now - entry[0])
        entry[1] -= 1
        if entry[1] <= 0:
            del self._pending[key]

    def awaiting(self) -> int:
        """Expected events not yet seen on every wallboard."""
        return len(self._pending)

    def sweep(self, *, final: bool = False) -> None:
        """Count expected events that never came (all of them, at the end)."""
        now = time.perf_counter()
        for key in [k for k, at in self._early.items() if now - at[0] > EVENT_DEADLINE]:
            del self._early[key]  # not one of ours (a workflow's, another user's)
        late = [
            key
            for key, (started, _) in self._pending.items()
            if final or now - started > EVENT_DEADLINE
        ]
        for key in late:
            count = int(self._pending.pop(key)[1])
            self.missed += count
            self.missed_kinds[key[0]] += count

    # Summary
    def rest(self) -> list[float]:
        return [s for values in self.calls.values() for s in values]

    def elapsed(self) -> float:
        return (self.stopped or time.perf_counter()) - self.started

    def figures(self) -> dict[str, Any]:
        rest = self.rest()
        elapsed = self.elapsed()
        done = sum(self.actions.values())
        return {
            "seconds": round(elapsed, 1),
            "actions": done,
            "actions_per_second": round(done / elapsed, 1) if elapsed else 0.0,
            "requests": len(rest),
            "requests_per_second": round(len(rest) / elapsed, 1) if elapsed else 0.0,
            "rest_p50_ms": round(percentile(rest, 0.50) * 1000, 1),
            "rest_p99_ms": round(percentile(rest, 0.99) * 1000, 1),
            "events_seen": len(self.to_screen),
            "event_to_screen_p50_ms": round(percentile(self.to_screen, 0.50) * 1000, 1),
            "event_to_screen_p99_ms": round(percentile(self.to_screen, 0.99) * 1000, 1),
            "events_missed": self.missed,
            "errors": self.error_count,
            "error_samples": self.errors[:5],
            "races": self.races,
            "throttled": self.throttled,
            "effects": dict(self.effects),
            "races_by_call": dict(self.race_calls),
            "events_heard": dict(self.heard),
            "missed_by_kind": dict(self.missed_kinds),
            "by_action": dict(self.actions),
        }

    def slowest(self, count: int = 5) -> Iterable[tuple[str, float, int]]:
        """The calls with the worst p99: (name, p99 seconds, count)."""
        rows = [(name, percentile(v, 0.99), len(v)) for name, v in self.calls.items()]
        return sorted(rows, key=lambda r: r[1], reverse=True)[:count]

    def report(self) -> str:
        f = self.figures()
        lines = [
            f"simulated {f['seconds']} s: {f['actions']} actions ({f['actions_per_second']}/s), "
            f"{f['requests']} requests ({f['requests_per_second']}/s)",
            f"  REST p50 {f['rest_p50_ms']} ms, p99 {f['rest_p99_ms']} ms",
        ]
        if self.screens:
            lines.append(
                f"  event to screen p50 {f['event_to_screen_p50_ms']} ms, "
                f"p99 {f['event_to_screen_p99_ms']} ms ({f['events_seen']} seen on "
                f"{self.screens} wallboard{'s' if self.screens != 1 else ''}, "
                f"{f['events_missed']} missed)"
            )
        effects = ", ".join(f"{k} {v}" for k, v in sorted(self.effects.items())) or "none"
        lines.append(f"  done: {effects}")
        lines.append(
            f"  errors {f['errors']}, tasks lost to a race {f['races']}, "
            f"rate-limited {f['throttled']}"
        )
        lines.extend(f"    {e}" for e in self.errors[:10])
        if self.race_calls:
            lines.append("  races: " + ", ".join(f"{k} x{v}" for k, v in self.race_calls.items()))
        if self.missed_kinds:
            lines.append(
                "  events missed: " + ", ".join(f"{k} x{v}" for k, v in self.missed_kinds.items())
            )
        return "\n".join(lines)
