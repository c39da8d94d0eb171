"""Worklist rows as the API shows them: tasks (with their account), queues and rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec

from domain.accounts.service import bucket_for, days_past_due
from domain.money import in_currency
from domain.tenancy.schemas import Tenant
from domain.worklist.schemas import (
    Condition,
    Queue,
    Rule,
    Strategy,
    Task,
    TaskAccount,
    TaskContact,
)

Row = Mapping[str, Any]


def task_account(row: Row, tenant: Tenant, today: dt.date) -> TaskAccount:
    dpd = days_past_due(row["due_date"], today)
    currency = row["currency"]
    return TaskAccount(
        id=row["account_id"] if "account_id" in row else row["id"],
        external_ref=row["external_ref"],
        debtor_id=row["debtor_id"],
        debtor_name=row["debtor_name"],
        currency=currency,
        balance=in_currency(row["principal"] + row["interest"] + row["fees"], currency),
        days_past_due=dpd,
        bucket=bucket_for(tenant, dpd),
        status=row["account_status"],
        owner_id=row["owner_id"],
    )


def to_task(row: Row, tenant: Tenant, today: dt.date, contact: TaskContact | None = None) -> Task:
    return Task(
        id=row["id"],
        account_id=row["account_id"],
        type=row["type"],
        title=row["title"],
        priority=row["priority"],
        due_at=row["due_at"],
        status=row["status"],
        assignee_id=row["assignee_id"],
        assignee_name=row["assignee_name"],
        group_id=row["group_id"],
        queue_id=row["queue_id"],
        rule_id=row["rule_id"],
        strategy=(row["strategy"] or {}).get("kind", "queue"),
        assigned_by=row["assigned_by"],
        assignment_reason=row["assignment_reason"],
        outcome=row["outcome"],
        notes=row["notes"],
        created_at=row["created_at"],
        assigned_at=row["assigned_at"],
        started_at=row["started_at"],
        completed_at=row["completed_at"],
        cancelled_at=row["cancelled_at"],
        updated_at=row["updated_at"],
        account=task_account(row, tenant, today),
        contact=contact,
    )


def audit_view(task: Task) -> dict[str, Any]:
    """What the audit log keeps of a task's state (the rest is in its events)."""
    return {
        "status": task.status,
        "assignee_id": task.assignee_id,
        "queue_id": task.queue_id,
        "priority": task.priority,
        "assigned_by": task.assigned_by,
        "assignment_reason": task.assignment_reason,
        "outcome": task.outcome,
    }


def to_queue(row: Row) -> Queue:
    return Queue(
        id=row["id"],
        name=row["name"],
        group_id=row["group_id"],
        agent_ids=list(row["agent_ids"] or []),
        age_boost_minutes=row["age_boost_minutes"],
        waiting=row["waiting"],
        oldest_since=row["oldest_since"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def to_rule(row: Row) -> Rule:
    return Rule(
        id=row["id"],
        name=row["name"],
        enabled=row["enabled"],
        conditions=msgspec.convert(row["conditions"], list[Condition]),
        task_type=row["task_type"],
        priority=row["priority"],
        due_offset_minutes=row["due_offset_minutes"],
        strategy=msgspec.convert(row["strategy"] or {}, Strategy),
        queue_id=row["queue_id"],
        cadence_minutes=row["cadence_minutes"],
        last_run_at=row["last_run_at"],
        last_created=row["last_created"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
