"""The private stack the fault scenarios share, and the table printed after them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.faults.ledger import ROWS, table
from tests.faults.stack import Stack


@pytest.fixture(scope="module")
async def fault_stack() -> AsyncIterator[Stack]:
    # Under /tmp, readable on the way down: as root, pgserver runs PostgreSQL as its own user.
    root = Path(tempfile.mkdtemp(prefix="recoup-faults-"))
    os.chmod(root, 0o755)
    # pgserver's lock files go to the process's runtime directory, which the first embedded
    # PostgreSQL of the process sets: the one the other tests' servers use, not this stack's
    # (removed after it).
    runtime = ROOT / ".recoup" / "test" / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    stack = Stack(root)
    try:
        await stack.start()
        yield stack
    except BaseException:
        print(stack.processes_log()[-5000:])
        raise
    finally:
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if ROWS:
        terminalreporter.write_sep("=", "fault suite")
        terminalreporter.write_line(table(ROWS))
