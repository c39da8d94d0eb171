"""Workflow runs as the API shows them."""

from __future__ import annotations

import asyncpg

from domain.workflows.schemas import Run, RunStep


def to_run(row: asyncpg.Record, steps: list[asyncpg.Record] = ()) -> Run:  # type: ignore[assignment]
    return Run(
        id=row["id"],
        workflow_id=row["workflow_id"],
        workflow_name=row["workflow_name"],
        version=row["version"],
        account_id=row["account_id"],
        account_ref=row["account_ref"],
        trigger_event_id=row["event_id"],
        trigger_type=row["trigger_type"],
        arm=row["arm"],
        status=row["status"],
        position=row["position"],
        resume_at=row["resume_at"],
        error=row["error"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        steps=[
            RunStep(
                position=s["position"],
                kind=s["kind"],
                outcome=s["outcome"],
                detail=s["detail"],
                error=s["error"],
                started_at=s["started_at"],
                finished_at=s["finished_at"],
            )
            for s in steps
        ],
    )


def hide_addresses(runs: list[Run]) -> None:
    """Leave out where each message went: the debtor's address or number, contact data that
    an API key reads only with debtors:read."""
    for run in runs:
        for step in run.steps:
            if step.kind in ("send_email", "send_sms") and isinstance(step.detail, dict):
                step.detail = {k: v for k, v in step.detail.items() if k != "to"}
