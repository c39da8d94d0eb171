"""What the engine works with: a workflow version's plan, the runs on their way through
their steps, and what a step did; which account an event is about, and which arm of a
branch an account lands in."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import msgspec

from domain.workflows import conditions
from domain.workflows.schemas import TIME_TRIGGERS, Action, Branch, Definition


@dataclass(frozen=True, slots=True)
class Plan:
    workflow_id: int
    version: int
    name: str
    definition: Definition


@dataclass(frozen=True, slots=True)
class Trigger:
    """The enabled workflows of one trigger, grouped by their conditions (workflows that
    share them are matched once), and every condition as one batch."""

    groups: dict[tuple[str, ...], list[Plan]]
    batch: conditions.Batch

    @classmethod
    def of(cls, plans: list[Plan]) -> Trigger:
        groups: dict[tuple[str, ...], list[Plan]] = {}
        for plan in plans:
            groups.setdefault(tuple(plan.definition.conditions), []).append(plan)
        return cls(groups, conditions.Batch([c for group in groups for c in group]))


@dataclass(slots=True)
class Going:
    """A run on its way in this transaction: where it stands in its own list of steps."""

    run: Mapping[str, Any]
    plan: Plan
    subject: asyncpg.Record
    steps: list[Action] = field(init=False)
    position: int = field(init=False)

    def __post_init__(self) -> None:
        self.steps = steps_for(self.plan.definition, self.run["arm"])
        self.position = self.run["position"]


@dataclass(slots=True)
class Outcome:
    """What one step did; ``hold`` keeps the run at this step (a message on its way, a
    window not yet open) until ``resume_at`` or until the sender wakes it."""

    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    resume_at: dt.datetime | None = None
    hold: bool = False
    stop: bool = False


@dataclass(slots=True)
class Progress:
    """What runs did in a transaction, to be saved together: where each run ends up
    (``ends``, by run id), its steps, the messages its steps queue (each with the detail
    of its step, which names the message once it is made) and each workflow's last error."""

    ends: dict[int, dict[str, Any]] = field(default_factory=dict)
    steps: list[tuple] = field(default_factory=list)
    messages: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    def end(
        self,
        run_id: int,
        status: str,
        position: int,
        at: dt.datetime,
        *,
        resume_at: dt.datetime | None = None,
        error: str | None = None,
    ) -> None:
        self.ends[run_id] = {
            "status": status,
            "position": position,
            "resume_at": resume_at,
            "error": error,
            "finished_at": at if status in ("completed", "stopped", "failed") else None,
        }


class StepFailed(Exception):
    """A step that cannot succeed: the run stops with this reason."""


def account_of(type: str, data: Mapping[str, Any]) -> int | None:
    """The account an event is about: the account itself, or the account its payment,
    promise, task or interaction is on. None for an event that names none (the debtor's
    page's own copies, which carry no ids)."""
    if type.startswith("account.") and type not in TIME_TRIGGERS:
        return _id(data.get("id"))
    found = _id(data.get("account_id"))
    if found is not None:
        return found
    for key in ("payment", "promise", "task", "interaction"):
        nested = data.get(key)
        if isinstance(nested, dict) and _id(nested.get("account_id")) is not None:
            return _id(nested.get("account_id"))
    account = data.get("account")
    return _id(account.get("id")) if isinstance(account, dict) else None


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def arm_for(workflow_id: int, version: int, account_id: int, branch: Branch) -> str:
    """The arm an account lands in: the same for a workflow version, whatever the order."""
    digest = hashlib.blake2b(
        f"{workflow_id}:{version}:{account_id}".encode(), digest_size=8
    ).digest()
    point = int.from_bytes(digest, "big") % sum(arm.weight for arm in branch.arms)
    for arm in branch.arms:
        if point < arm.weight:
            return arm.name
        point -= arm.weight
    raise AssertionError("unreachable: the weights cover every point")


def branch_of(definition: Definition) -> Branch | None:
    return next((s for s in definition.steps if isinstance(s, Branch)), None)


def steps_for(definition: Definition, arm: str | None) -> list[Action]:
    """The run's own list of steps: its arm's in place of the branch."""
    out: list[Action] = []
    for step in definition.steps:
        if isinstance(step, Branch):
            out += next((list(a.steps) for a in step.arms if a.name == arm), [])
        else:
            out.append(step)
    return out


_PLANS: dict[tuple[int, int], Definition] = {}


def definition_of(workflow_id: int, version: int, stored: Any) -> Definition:
    """A version's definition, decoded once per process (a version never changes)."""
    key = (workflow_id, version)
    found = _PLANS.get(key)
    if found is None:
        if len(_PLANS) > 10_000:
            _PLANS.clear()
        found = _PLANS[key] = msgspec.convert(stored, Definition)
    return found


def reason(exc: BaseException) -> str:
    return getattr(exc, "detail", None) or str(exc) or type(exc).__name__


# A wait until a time of day ("08:00"), or until a local date and time ("2026-12-24T09:00").
CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):([0-5]\d)$")


def wait_until(until: str, now: dt.datetime, zone: Any) -> dt.datetime:
    """The moment ``until`` names in ``zone``: a time of day's next occurrence after
    ``now``, or a local date and time (in the past, it is ``now``)."""
    if CLOCK_TIME.match(until):
        hours, minutes = (int(p) for p in until.split(":"))
        local = now.astimezone(zone)
        moment = local.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        if moment <= local:
            moment = (local + dt.timedelta(days=1)).replace(
                hour=hours, minute=minutes, second=0, microsecond=0, fold=0
            )
        return moment.astimezone(dt.UTC)
    moment = dt.datetime.fromisoformat(until).replace(tzinfo=zone).astimezone(dt.UTC)
    return max(moment, now)
