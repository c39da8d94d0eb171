"""The mutation run behind `make mutation`: mutmut over the modules named in pyproject.toml.

`run` starts a private PostgreSQL and Redis under mutants/.recoup (never the developer's
.recoup/ or DATABASE_URL), points the test fixtures at them, runs `mutmut run` one mutant at
a time (the tests share one test database and Redis's channels, so two mutants at once would
disturb each other), stops the servers and prints the report. `report` prints the report of
the last run: the score per module and every surviving mutant.

    python tools/mutation.py run                       # every target
    python tools/mutation.py run 'domain.money.*'      # only mutants matching these globs
    python tools/mutation.py report [--diff]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
BIN = Path(sys.executable).parent

# mutmut's exit codes per mutant (mutmut/stats.py); anything else is "suspicious".
STATUS = {
    None: "not checked",
    0: "survived",
    1: "killed",
    3: "killed",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    37: "caught by type check",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
}
# A timeout counts as killed: the mutant changed behaviour the tests noticed.
DETECTED = {"killed", "timeout", "caught by type check"}


def module_of(meta: Path) -> str:
    """``mutants/domain/payments/idempotency.py.meta`` -> ``domain/payments/idempotency.py``."""
    return str(meta.relative_to(MUTANTS))[: -len(".meta")]


def load_results() -> dict[str, dict[str, str]]:
    """Status of every mutant, by module, from the result files of the last run."""
    results: dict[str, dict[str, str]] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            results[module_of(meta)] = {
                name: STATUS.get(code, "suspicious") for name, code in codes.items()
            }
    return results


def report(*, diff: bool) -> int:
    """Print the score per module and the survivors; 1 when there is nothing to report."""
    results = load_results()
    checked = {
        module: statuses
        for module, statuses in results.items()
        if any(status != "not checked" for status in statuses.values())
    }
    if not checked:
        print("No mutation results yet: run `make mutation` first.")
        return 1
    header = ("module", "mutants", "killed", "survived", "no test", "score")
    print("{:<44} {:>7} {:>6} {:>8} {:>7} {:>6}".format(*header))
    totals: Counter[str] = Counter()
    survivors: dict[str, list[str]] = defaultdict(list)
    for module, statuses in checked.items():
        counts = Counter(statuses.values())
        totals.update(counts)
        detected = sum(counts[status] for status in DETECTED)
        tested = len(statuses) - counts["not checked"] - counts["skipped"]
        score = f"{100 * detected / tested:.1f}%" if tested else "-"
        print(
            f"{module:<44} {len(statuses):>7} {detected:>6} {counts['survived']:>8}"
            f" {counts['no tests']:>7} {score:>6}"
        )
        survivors[module] = [
            name
            for name, status in statuses.items()
            if status not in DETECTED and status != "not checked"
        ]
    detected = sum(totals[status] for status in DETECTED)
    tested = sum(totals.values()) - totals["not checked"] - totals["skipped"]
    print(f"{'all':<44} {sum(totals.values()):>7} {detected:>6} {totals['survived']:>8}", end="")
    print(f" {totals['no tests']:>7} {100 * detected / max(tested, 1):>5.1f}%")
    if totals["not checked"]:
        print(f"({totals['not checked']} mutants of these modules not checked yet)")

    print("\nSurviving mutants (survived, no tests, suspicious):")
    for module, names in survivors.items():
        for name in names:
            print(f"  {name}: {results[module][name]}")
            if diff:
                shown = subprocess.run(
                    [str(BIN / "mutmut"), "show", name],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                lines = shown.stdout.splitlines()
                changed = [line for line in lines if line[:1] in "+-" and line[:3] not in "+++---"]
                for line in changed:
                    print(f"      {line.strip()}")
    return 0


def run(patterns: list[str]) -> int:
    """Run mutmut with private servers, then print the report and the time it took."""
    from server.embedded import EmbeddedServices

    started = time.monotonic()
    services = EmbeddedServices(MUTANTS / ".recoup", database="recoup_test")
    database_url, redis_url = services.start()
    assert database_url
    assert redis_url
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    try:
        # One mutant at a time: see the module docstring.
        command = [str(BIN / "mutmut"), "run", "--max-children", "1", *patterns]
        code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    finally:
        services.stop()
    elapsed = time.monotonic() - started
    print()
    report(diff=False)
    print(f"\nmutation run took {elapsed / 60:.1f} min (mutmut exit code {code})")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run mutmut, then report")
    run_parser.add_argument("patterns", nargs="*", help="mutant name globs, e.g. 'domain.money.*'")
    report_parser = commands.add_parser("report", help="score per module and survivors")
    report_parser.add_argument("--diff", action="store_true", help="show each survivor's change")
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.command == "run":
        return run(args.patterns)
    return report(diff=args.diff)


if __name__ == "__main__":
    sys.exit(main())
