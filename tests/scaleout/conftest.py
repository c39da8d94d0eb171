"""The two-machine stack the scale-out tests share."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest

from tests.faults.stack import stack_root
from tests.redis_cluster import available as cluster_available
from tests.scaleout.machines import available as machines_available
from tests.scaleout.stack import ScaleOutStack, nginx_available


@pytest.fixture(scope="module")
async def scaleout() -> AsyncIterator[ScaleOutStack]:
    for missing in (machines_available(), cluster_available(), nginx_available()):
        if missing:
            pytest.fail(missing)
    root = stack_root("recoup-scaleout-")
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
