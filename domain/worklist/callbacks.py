"""Callbacks: "call back later" books a call task for the collector who booked it, at a
time the debtor named in their own time zone, held back until then.

The time must fall inside the contact window of the tenant's contact rules (the debtor's
local hours; 422 names the window in the debtor's zone) and must not be barred by a standing
block (do-not-contact, cease, an open dispute, a call opt-out: 409, as for any contact). The
rules on call frequency and the quiet days after a conversation are not applied: the debtor
asked for this call. The task waits out of everyone's work (``not_before``) until the
minute sweep lets it back, and the next assignment round gives it to its collector.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import msgspec

from domain.accounts.service import AccountService
from domain.compliance import service as compliance
from domain.compliance.rules import decide
from domain.errors import Forbidden, InvalidInput
from domain.outbox import events
from domain.worklist.base import WorklistService, check_strategy
from domain.worklist.queries import tasks as queries
from domain.worklist.schemas import CallbackCreate, Strategy, Task

# How far ahead a callback may be booked.
HORIZON = dt.timedelta(days=90)
TITLE = "Callback"


def _local(at: dt.datetime) -> str:
    return f"{at:%a} {at.day} {at:%b %Y %H:%M}"


class CallbackService(WorklistService):
    async def book(self, account_id: int, data: CallbackCreate) -> Task:
        if not self.actor.is_user or self.actor.id is None:
            raise Forbidden("a callback is booked by the collector who will make it")
        account = await self.using(AccountService).get(account_id)
        try:
            wall = dt.datetime.fromisoformat(data.at)
        except ValueError:
            raise InvalidInput(f"{data.at!r} is not a date and time", field="at") from None
        now = self.clock()
        zone_name, flags, _ = await compliance.load(self.conn, account.id, now)
        zone = ZoneInfo(zone_name)
        local = wall.replace(tzinfo=zone, second=0, microsecond=0)
        at = local.astimezone(dt.UTC)
        if at.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
            raise InvalidInput(
                f"{_local(local)} does not exist in {zone_name} (the clocks change then)",
                field="at",
            )
        if at <= now:
            raise InvalidInput(f"{_local(local)} ({zone_name}) has passed", field="at")
        if at > now + HORIZON:
            raise InvalidInput(
                f"a callback is booked at most {HORIZON.days} days ahead", field="at"
            )
        rules = (await self.tenant()).settings.contact
        found = decide("call", at, zone_name, rules, flags)
        standing = [r for r in found.refusals if r.rule != "contact_hours"]
        if standing:
            raise compliance.refusal("call", dataclasses.replace(found, refusals=tuple(standing)))
        if not found.allowed:
            raise InvalidInput(
                f"calls only between {rules.window_start} and {rules.window_end} in the "
                f"debtor's time zone ({zone_name}); {_local(local)} is outside",
                field="at",
                time_zone=zone_name,
                window_start=rules.window_start,
                window_end=rules.window_end,
            )
        strategy = Strategy(kind="agent", agent_id=self.actor.id)
        await check_strategy(self.conn, strategy, None)
        (task_id,) = await queries.insert_tasks(
            self.conn,
            self.actor.tenant_id,
            [
                {
                    "account_id": account.id,
                    "type": "call",
                    "title": TITLE,
                    "priority": data.priority,
                    "due_at": at,
                    "queue_id": None,
                    "group_id": None,
                    "strategy": msgspec.to_builtins(strategy),
                    "notes": data.notes.strip(),
                    "not_before": at,
                    "created_by": self.actor.id,
                }
            ],
            now,
        )
        tasks = await self.load([task_id])
        await self.announce("task.callback", events.TASK_CREATED, tasks)
        return tasks[0]
