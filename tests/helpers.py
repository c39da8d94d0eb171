"""Small helpers tests share."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from typing import Any


async def eventually(condition: Callable[[], object], within: float = 5.0) -> None:
    """Wait until ``condition()`` is true, failing after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def keyed(headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """``headers`` with a fresh Idempotency-Key, which every request that moves money needs."""
    return {**(headers or {}), "Idempotency-Key": f"key-{uuid.uuid4()}"}


def plan_nodes(plan: Any) -> list[dict[str, Any]]:
    """Every node of a JSON plan (``EXPLAIN (FORMAT JSON)``), depth first."""
    found = []
    if isinstance(plan, dict):
        if "Node Type" in plan:
            found.append(plan)
        for value in plan.values():
            found += plan_nodes(value)
    elif isinstance(plan, list):
        for value in plan:
            found += plan_nodes(value)
    return found
