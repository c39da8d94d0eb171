"""The private stack the fault scenarios share, and the table printed after them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest

from tests.faults.ledger import ROWS, table
from tests.faults.stack import Stack, stack_root


@pytest.fixture(scope="module")
async def fault_stack() -> AsyncIterator[Stack]:
    root = stack_root("recoup-faults-")
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
