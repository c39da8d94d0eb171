"""A request whose body fails validation while its transaction is beginning: the task group
that resolves the handler's dependencies cancels the begin, and the connection still goes
back to the pool rolled back, without asyncpg resetting it (an error in the log)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from domain.db import Database
from tests.factories import SeededTenant


async def test_a_body_refused_while_the_transaction_begins_leaves_no_transaction_open(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, caplog: pytest.LogCaptureFixture
) -> None:
    headers = tenant.supervisor.headers
    late = {"field": "days_past_due", "op": "at_least", "value": 30}
    created = await client.post(
        "/api/v1/rules", json={"name": "Late", "conditions": [late]}, headers=headers
    )
    rule_id = created.json()["id"]
    caplog.set_level(logging.WARNING, logger="asyncio")
    answers = await asyncio.gather(
        *(
            client.patch(f"/api/v1/rules/{rule_id}", json={"task_type": "fax"}, headers=headers)
            for _ in range(20)
        )
    )
    assert [a.status_code for a in answers] == [422] * 20
    assert answers[0].json()["field"] == "task_type"
    await asyncio.sleep(0.05)  # the connections' way back runs in tasks of their own
    resets = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert resets == []
    # Every connection the pool holds is idle, none in a transaction; the rule is unchanged.
    pool = db.app_pool
    assert pool.get_idle_size() == pool.get_size()
    again = await client.get(f"/api/v1/rules/{rule_id}", headers=headers)
    assert again.json()["task_type"] == "call"
