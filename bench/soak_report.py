"""What `soak.py` makes of its samples: the CSV, the plot, the summary (first against last
minutes, the least-squares slope per hour) and the log lines no injected fault explains."""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KINDS = ("web", "worker", "relay", "scheduler")

# (column, what it is): the series summarised and plotted, in this order.
SERIES: list[tuple[str, str]] = [
    *((f"rss_{k}_mb", f"RSS of {k} (MB)") for k in KINDS),
    *((f"fds_{k}", f"open fds of {k}") for k in KINDS),
    ("postgres_pss_mb", "PostgreSQL, all processes (PSS, MB)"),
    ("redis_used_mb", "Redis used_memory (MB)"),
    ("outbox_unpublished", "outbox rows unpublished"),
    ("outbox_oldest_s", "oldest unpublished outbox row (s)"),
    ("outbox_rows", "outbox rows kept"),
    ("rest_p99_ms", "REST p99 of the window (ms)"),
    ("screen_p99_ms", "event to screen p99 of the window (ms)"),
    ("actions_per_s", "simulated actions/s"),
    ("sim_errors", "simulator errors in the window"),
    ("sockets_open", "idle sockets open"),
    ("socket_reconnects", "idle socket reconnects (total)"),
    ("server_cpu", "Recoup processes' CPU (cores)"),
    ("client_cpu", "load generator's CPU (cores: the simulator and the idle sockets)"),
    ("load1", "load average (1 min)"),
]

FAULT_COLOURS = {
    "web": "tab:red",
    "worker": "tab:orange",
    "relay": "tab:purple",
    "redis": "tab:green",
}


@dataclass
class Fault:
    kind: str
    at: float  # seconds since the measured run began
    until: float  # when the stack was whole again (the killed process back, ready)
    detail: str


def write_csv(path: Path, samples: list[dict[str, Any]]) -> None:
    columns = ["t", "clock", *(c for c, _ in SERIES)]
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(samples)


def _values(samples: list[dict[str, Any]], column: str) -> list[tuple[float, float]]:
    # A kind of process with no memory and no descriptors was not running at that instant
    # (a sample taken while the supervisor restarted it): nothing to read, not a zero.
    absent = column.startswith(("rss_", "fds_"))
    return [
        (float(s["t"]), value)
        for s in samples
        if s.get(column) not in (None, "")
        and not math.isnan(value := float(s[column]))
        and not (absent and value == 0)
    ]


def read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="") as source:
        return list(csv.DictReader(source))


def read_faults(path: Path) -> list[Fault]:
    return [Fault(**f) for f in json.loads(path.read_text())]


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """The least-squares slope of the points, in their unit per hour."""
    if len(points) < 3:
        return float("nan")
    xs = [t / 3600 for t, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0


def summary(samples: list[dict[str, Any]], window: float) -> list[tuple[str, float, float, float]]:
    """(series, median of the first ``window`` s, of the last ``window`` s, slope per hour)."""
    end = max((float(s["t"]) for s in samples), default=0.0)
    rows = []
    for column, _ in SERIES:
        points = _values(samples, column)
        first = [y for t, y in points if t <= window]
        last = [y for t, y in points if t >= end - window]
        rows.append(
            (
                column,
                statistics.median(first) if first else float("nan"),
                statistics.median(last) if last else float("nan"),
                slope_per_hour(points),
            )
        )
    return rows


def print_summary(rows: list[tuple[str, float, float, float]], window: float) -> None:
    minutes = f"{window / 60:g} min"
    print(f"\n| series | first {minutes} (median) | last {minutes} (median) | slope per hour |")
    print("|---|---:|---:|---:|")
    for column, first, last, slope in rows:
        print(f"| {column} | {first:,.1f} | {last:,.1f} | {slope:+,.1f} |")


def plot(path: Path, samples: list[dict[str, Any]], faults: list[Fault], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: list[tuple[str, list[str]]] = [
        ("RSS (MB)", [f"rss_{k}_mb" for k in KINDS]),
        ("open file descriptors", [f"fds_{k}" for k in KINDS]),
        ("PostgreSQL, all processes: PSS (MB)", ["postgres_pss_mb"]),
        ("Redis used_memory (MB)", ["redis_used_mb"]),
        ("outbox unpublished (rows)", ["outbox_unpublished"]),
        ("outbox oldest unpublished (s)", ["outbox_oldest_s"]),
        ("outbox rows kept (published ones pruned later)", ["outbox_rows"]),
        ("p99 of each 10 s (ms)", ["rest_p99_ms", "screen_p99_ms"]),
        ("idle sockets: open, reconnects so far", ["sockets_open", "socket_reconnects"]),
        ("simulated actions/s", ["actions_per_s"]),
        ("simulator errors in each 10 s", ["sim_errors"]),
        ("CPU (cores) / load average", ["server_cpu", "client_cpu", "load1"]),
    ]
    figure, axes = plt.subplots(3, 4, figsize=(22, 11), sharex=True)
    for ax, (label, columns) in zip(axes.flat, panels, strict=True):
        for column in columns:
            points = _values(samples, column)
            ax.plot([t / 60 for t, _ in points], [y for _, y in points], label=column, lw=1.2)
        for fault in faults:
            ax.axvline(fault.at / 60, color=FAULT_COLOURS.get(fault.kind, "grey"), ls="--", lw=0.9)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes[-1]:
        ax.set_xlabel("minutes")
    handles = [
        plt.Line2D(
            [],
            [],
            color=colour,
            ls="--",
            label=f"kill -9 {kind}" if kind != "redis" else "Redis killed, restarted on its data",
        )
        for kind, colour in FAULT_COLOURS.items()
    ]
    figure.legend(handles=handles, loc="upper right", bbox_to_anchor=(1, 0.955), ncol=4, fontsize=9)
    figure.suptitle(title, x=0.01, y=0.99, ha="left", fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    figure.savefig(path, dpi=80)
    plt.close(figure)


# -- the logs -------------------------------------------------------------------------------

_SUPERVISED = re.compile(r"^(\d\d):(\d\d):(\d\d) (\S+)\s+\| (.*)$")
_POSTGRES = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)? UTC \[\d+\] (\w+):\s+(.*)$")
_REDIS = re.compile(r"^\d+:\w (\d\d \w{3} \d{4} \d\d:\d\d:\d\d)\.\d+ ([#*.\-]) (.*)$")
_REDIS_FAILURE = re.compile(r"error|fail|can't|cannot|unable|MISCONF|OOM|corrupt|short read", re.I)
_PLAIN_ERROR = re.compile(r"Traceback|\w+Error\b|\w+Exception\b|\bFATAL\b|\bCRITICAL\b|\bERROR\b")


def _supervised_error(text: str) -> bool:
    if text.startswith("{"):
        try:
            entry = json.loads(text)
        except ValueError:
            return bool(_PLAIN_ERROR.search(text))
        return str(entry.get("level", "")).lower() in ("error", "critical", "fatal") or (
            "exception" in entry
        )
    return bool(_PLAIN_ERROR.search(text))


def log_errors(
    supervised: Path, postgres: tuple[Path, int], redis: tuple[Path, int], day: datetime
) -> list[tuple[datetime, str, str]]:
    """(when, which log, line) of every error line of this run; ``postgres`` and ``redis``
    are each a log file and the offset this run's lines start at."""
    found: list[tuple[datetime, str, str]] = []
    local = day.astimezone()  # the supervisor stamps its lines in local time
    for line in supervised.read_text(errors="replace").splitlines():
        match = _SUPERVISED.match(line)
        if not match or match.group(4) == "supervisor":
            continue
        h, m, s, name, text = match.groups()
        if _supervised_error(text):
            at = local.replace(hour=int(h), minute=int(m), second=int(s), microsecond=0)
            found.append((at, name, text))
    path, offset = postgres
    if path.exists():
        with path.open("rb") as log:
            log.seek(offset)
            for line in log.read().decode(errors="replace").splitlines():
                match = _POSTGRES.match(line)
                if match and match.group(2) in ("ERROR", "FATAL", "PANIC"):
                    at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
                    found.append((at, "postgres", f"{match.group(2)}: {match.group(3)}"))
    path, offset = redis
    if path.exists():
        with path.open("rb") as log:
            log.seek(offset)
            for line in log.read().decode(errors="replace").splitlines():
                match = _REDIS.match(line)
                # Redis's warnings ("#") include its start-up banner: only failures count.
                if match and match.group(2) == "#" and _REDIS_FAILURE.search(match.group(3)):
                    at = datetime.strptime(match.group(1), "%d %b %Y %H:%M:%S").replace(tzinfo=UTC)
                    found.append((at, "redis", match.group(3)))
    return sorted(found, key=lambda f: f[0])


def explain(
    errors: list[tuple[datetime, str, str]],
    faults: list[Fault],
    began: datetime,
    grace: float,
) -> tuple[list[tuple[float, str, str]], dict[int, list[tuple[float, str, str]]]]:
    """Split the error lines into those no fault explains and those within a fault's window
    (from a second before it to ``grace`` seconds after the stack was whole again)."""
    unexplained: list[tuple[float, str, str]] = []
    by_fault: dict[int, list[tuple[float, str, str]]] = {}
    for at, source, text in errors:
        t = (at - began).total_seconds()
        # The latest fault whose window holds the line.
        for n, fault in reversed(list(enumerate(faults))):
            if fault.at - 1 <= t <= fault.until + grace:
                by_fault.setdefault(n, []).append((t, source, text))
                break
        else:
            unexplained.append((t, source, text))
    return unexplained, by_fault


def print_errors(
    unexplained: list[tuple[float, str, str]],
    by_fault: dict[int, list[tuple[float, str, str]]],
    faults: list[Fault],
    grace: float,
) -> None:
    print(f"\nerror lines within a fault's window (its start to {grace:g} s after recovery):")
    for n, fault in enumerate(faults):
        lines = by_fault.get(n, [])
        kinds: dict[str, int] = {}
        for _, source, text in lines:
            key = f"{source}: {_gist(text)}"
            kinds[key] = kinds.get(key, 0) + 1
        print(f"  {fault.at / 60:5.1f} min  {fault.kind:<6} {len(lines):>4} lines")
        for key, count in sorted(kinds.items(), key=lambda kv: -kv[1])[:6]:
            print(f"      x{count:<4} {key[:160]}")
    print(f"\nerror lines no injected fault explains: {len(unexplained)}")
    for t, source, text in unexplained[:60]:
        print(f"  {t / 60:6.1f} min  {source:<10} {text[:240]}")
    if len(unexplained) > 60:
        print(f"  ... and {len(unexplained) - 60} more")


def _gist(text: str) -> str:
    """What an error line says, without its times and ids (to count alike lines)."""
    if text.startswith("{"):
        try:
            entry = json.loads(text)
        except ValueError:
            pass
        else:
            exc = str(entry.get("exception", "")).strip().splitlines()
            tail = f" ({exc[-1][:100]})" if exc else ""
            return f"{entry.get('logger', '')} {entry.get('event', '')}{tail}"
    return re.sub(r"\d+", "N", text)[:160]


def finish(args: Any, soak: Any, pg_log: tuple, redis_log: tuple) -> None:
    """The CSV, the plot, the summary and the errors of a finished soak."""
    if not soak.samples:
        print("no samples")
        return
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    write = out.with_suffix(".csv")
    write_csv(write, soak.samples)
    (out.with_suffix(".faults.json")).write_text(
        json.dumps([f.__dict__ for f in soak.faults], indent=1)
    )
    report(args, soak.samples, soak.faults, soak.began_at)
    errors = log_errors(soak.log_path, pg_log, redis_log, soak.began_at)
    unexplained, by_fault = explain(errors, soak.faults, soak.began_at, args.grace)
    print_errors(unexplained, by_fault, soak.faults, args.grace)
    outside = [
        t
        for t in soak.error_times
        if not any(f.at - 1 <= t <= f.until + args.grace for f in soak.faults)
    ]
    print(
        f"\nsimulator errors: {len(soak.error_times)}, outside a fault's window: {len(outside)}"
        + (f" (at {', '.join(f'{t / 60:.1f}' for t in outside[:20])} min)" if outside else "")
    )


def report(args: Any, samples: list[dict[str, Any]], faults: list[Fault], began: datetime) -> None:
    """The plot and the summary of the samples (again from the CSV with ``--replot``)."""
    out: Path = args.out
    title = (
        f"soak {began:%Y-%m-%d %H:%M} UTC: {args.agents} agents every {args.pace:g} s, "
        f"{args.sockets} idle sockets, a fault every {args.fault_every:g} s"
    )
    plot(out, samples, faults, title)
    print(f"\nwrote {out} and {out.with_suffix('.csv')}")
    window = min(300.0, float(samples[-1]["t"]) / 2)
    print_summary(summary(samples, window), window)
    for fault in faults:
        print(f"  fault at {fault.at / 60:.1f} min: {fault.kind}: {fault.detail}")
