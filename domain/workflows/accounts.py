"""What workflows ask of the tenant's accounts as a whole: how many a condition holds for
now (the editor's count), and which reach a time trigger's point today."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from domain.service import Service
from domain.workflows import conditions, queries
from domain.workflows.schemas import Trigger
from domain.workflows.variables import variables

# Accounts a condition is tried on while it is typed (the editor's "matches now").
MATCH_SAMPLE = 5_000
# The counting shares the web process's loop: it lets others run every ``MATCH_YIELD``
# accounts and stops, counting what it reached, after ``MATCH_BUDGET`` seconds.
MATCH_YIELD = 100
MATCH_BUDGET = 2.0


class TimeTriggers(Service):
    """Points in time accounts reach today (in the tenant's calendar): the events of the
    tenant's time-triggered workflows, put in the inbox once per workflow, account and day."""

    async def stage(self, workflows: list[Mapping[str, Any]]) -> int:
        tenant = await self.tenant()
        today = await self.today()
        staged = 0
        for row in workflows:
            trigger = msgspec.convert(row["trigger"], Trigger)
            if trigger.type == "promise.due_in":
                due = today + dt.timedelta(days=trigger.days or 0)
                staged += await queries.stage_due_promises(self.conn, row["id"], due, today)
                continue
            if trigger.type == "account.days_past_due":
                days = trigger.days or 0
            else:
                bucket = next(
                    (b for b in tenant.settings.buckets if b.name == trigger.bucket), None
                )
                if bucket is None:
                    continue  # the bucket was renamed or removed since the workflow was saved
                days = bucket.min_days
            due_date = today - dt.timedelta(days=days)
            staged += await queries.stage_due_accounts(
                self.conn, row["id"], trigger.type, due_date, today
            )
        return staged


async def count_matches(service: Service, condition: str, trigger: str) -> tuple[int, int]:
    """How many of the tenant's accounts (of the first ``MATCH_SAMPLE``, or of those reached
    within ``MATCH_BUDGET``) the condition holds for now, with an empty event of ``trigger``:
    the count, and of how many accounts."""
    subjects = await queries.first_subjects(service.conn, MATCH_SAMPLE)
    tenant = await service.tenant()
    today = await service.today()
    event = {"id": "", "type": trigger, "data": {}, "amount_minor": None}
    matches = 0
    deadline = time.monotonic() + MATCH_BUDGET
    for n, row in enumerate(subjects):
        if n and n % MATCH_YIELD == 0:
            if time.monotonic() > deadline:
                return matches, n
            await asyncio.sleep(0)
        try:
            if conditions.holds(
                condition, conditions.context(variables(row, tenant, today, event))
            ):
                matches += 1
        except ValueError:
            continue
    return matches, len(subjects)
