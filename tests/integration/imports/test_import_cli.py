"""``recoup import``: the same import from a terminal, with a progress bar and the rejected
rows listed; a second run of the same file changes nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from domain.db import Database
from domain.imports.mapping import MappingPresetCreate
from domain.imports.service import ImportService
from tests.conftest import RECOUP, recoup_env
from tests.factories import SeededTenant
from tests.integration.imports.files import MAPPING, placement_file

ROOT = Path(__file__).resolve().parents[3]


def _recoup(settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run(
        [*RECOUP, *args],
        cwd=ROOT,
        env={**recoup_env(settings), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def first_id(out: str) -> int:
    return int(out.split(":", 1)[0].removeprefix("import "))


async def test_the_command_imports_with_a_progress_bar_and_lists_the_rejected_rows(
    settings,
    db: Database,
    tenant: SeededTenant,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    async with db.tenant(tenant.id) as conn:
        await ImportService(conn, tenant.admin.actor).create_preset(
            MappingPresetCreate(name="DebtFlow daily", mapping=MAPPING)
        )
    path = tmp_path / "debtflow.csv"
    expected = placement_file(path, rows=3_000)
    args = (
        "import",
        str(path),
        "--mapping",
        "DebtFlow daily",
        "--tenant",
        tenant.slug,
        "--batch-rows",
        "1000",
        "--show-rejected",
        "3",
    )
    first = _recoup(settings, *args, LOG_LEVEL="INFO", LOG_JSON="true")
    assert first.returncode == 0, first.stderr
    rejected = len(expected)
    assert (
        f"3000 rows read, {3000 - rejected} created, 0 updated, 0 unchanged, "
        f"{rejected} rejected" in first.stdout
    )
    number, column, _ = expected[0]
    assert f"  row {number}, {column}: " in first.stdout
    assert f"... and {rejected - 3} more" in first.stdout
    # Not a terminal here: a line per batch where a terminal shows the bar.
    assert [line for line in first.stdout.splitlines() if line.endswith(" rows")] == [
        f"import {n}: {done}/3000 rows"
        for n, done in [
            (first_id(first.stdout), 1000),
            (first_id(first.stdout), 2000),
            (first_id(first.stdout), 3000),
            (first_id(first.stdout), 3000),
        ]
    ]
    # Its stdout is the progress and the result alone: log lines go to stderr.
    assert not [line for line in first.stdout.splitlines() if line.startswith("{")], first.stdout
    assert '"level":"info"' in first.stderr.replace(" ", ""), first.stderr
    again = _recoup(settings, *args)
    assert again.returncode == 0, again.stderr
    assert f"0 created, 0 updated, {3000 - rejected} unchanged" in again.stdout


async def test_an_unknown_mapping_or_tenant_is_refused(
    settings,
    tenant: SeededTenant,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "f.csv"
    placement_file(path, rows=10)
    unknown = _recoup(settings, "import", str(path), "--mapping", "nope", "--tenant", tenant.slug)
    assert unknown.returncode == 1
    assert "no mapping named 'nope'" in unknown.stderr
    nobody = _recoup(settings, "import", str(path), "--mapping", "nope", "--tenant", "no-such")
    assert nobody.returncode == 1
    assert "no tenant 'no-such'" in nobody.stderr


async def test_a_file_that_never_ends_is_refused_before_it_is_read(
    settings,
    tenant: SeededTenant,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """A device or a pipe would be read (and checksummed) for ever: refused by name; a
    symbolic link to a regular file is a regular file."""
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        refused = _recoup(settings, "import", path, "--mapping", "any", "--tenant", tenant.slug)
        assert refused.returncode == 2, refused
        assert f"'{path}' is not a regular file" in refused.stderr
        assert "Traceback" not in refused.stderr
    real = tmp_path / "f.csv"
    placement_file(real, rows=3)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    unknown = _recoup(settings, "import", str(link), "--mapping", "nope", "--tenant", tenant.slug)
    assert "no mapping named 'nope'" in unknown.stderr  # got past the file check
