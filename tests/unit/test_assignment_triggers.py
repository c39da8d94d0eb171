"""Which events call for an assignment round (the relay hands their tenants on)."""

from __future__ import annotations

import msgspec
import pytest

from domain.worklist.triggers import assignment_due


def task(**fields: object) -> str:
    return msgspec.json.encode(
        {"task": {"status": "open", "strategy": "fewest_open", **fields}}
    ).decode()


@pytest.mark.parametrize(
    ("event_type", "data", "due"),
    [
        ("task.created", task(), True),
        ("task.created", task(strategy="queue"), False),  # waits to be pulled
        ("task.created", msgspec.json.encode({"rule_id": 1, "bulk": True}).decode(), True),
        ("task.assigned", task(status="in_progress", strategy="queue"), False),  # a pull
        ("task.assigned", task(status="open"), True),  # back to its queue
        ("task.completed", task(status="completed"), True),  # capacity freed
        ("task.updated", task(status="cancelled"), True),
        ("task.updated", task(status="open", strategy="queue"), False),
        ("agent.status", msgspec.json.encode({"id": 1, "status": "available"}).decode(), True),
        ("agent.status", msgspec.json.encode({"id": 1, "status": "away"}).decode(), False),
        ("interaction.logged", "{}", False),
    ],
)
def test_assignment_is_due_after_events_that_can_move_work(
    event_type: str, data: str, due: bool
) -> None:
    assert assignment_due(event_type, data) is due
