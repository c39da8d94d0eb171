"""The two-machine stack the scale-out tests share."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.redis_cluster import available as cluster_available
from tests.scaleout.machines import available as machines_available
from tests.scaleout.stack import ScaleOutStack, nginx_available


@pytest.fixture(scope="module")
async def scaleout() -> AsyncIterator[ScaleOutStack]:
    for missing in (machines_available(), cluster_available(), nginx_available()):
        if missing:
            pytest.fail(missing)
    # Under /tmp, readable on the way down: as root, pgserver runs PostgreSQL as its own user.
    root = Path(tempfile.mkdtemp(prefix="recoup-scaleout-"))
    os.chmod(root, 0o755)
    runtime = ROOT / ".recoup" / "test" / "run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    stack = ScaleOutStack(root)
    try:
        await stack.start()
        yield stack
    except BaseException:
        print(stack.processes_log()[-5000:])
        print(stack.nginx_log()[-2000:])
        raise
    finally:
        await stack.stop()
        shutil.rmtree(root, ignore_errors=True)
