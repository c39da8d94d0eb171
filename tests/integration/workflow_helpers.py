"""What the workflow engine tests share: a clock the test moves, events put in the engine's
inbox as the relay puts them there, and the engine's jobs run as the worker runs them.

The events are written straight into ``workflow_inbox`` (the relay's staging is tested on
its own, through real processes): no outbox row of theirs reaches a relay, so no other
process takes these tenants' work, and the clock is set a month ahead of real time, so a
worker that runs meanwhile finds none of these runs or messages due.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx

from domain.clock import utcnow
from domain.db import Database
from domain.workflows.links import Links
from domain.workflows.messaging import DevSms, Mailbox, Transports
from tasks.workflows import process_tenant, settle
from tests.factories import SeededTenant

API = "/api/v1"
LINKS = Links(base_url="http://recoup.test", secret="test-secret-" + "x" * 40)
DEV = Transports(email=Mailbox(), sms=DevSms())


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def a_month_ahead() -> Clock:
    """Real time a month on: the same hour of the day (so a debtor whose zone is at midday
    now is at midday then), beyond anything a worker running on real time would find due."""
    return Clock((utcnow() + dt.timedelta(days=30)).replace(microsecond=0))


async def deliver(
    db: Database, tenant_id: int, type: str, data: dict[str, Any], event_id: uuid.UUID | None = None
) -> uuid.UUID:
    """An event in the engine's inbox, as the relay leaves it there."""
    event_id = event_id or uuid.uuid4()
    async with db.system() as conn:
        await conn.execute(
            "INSERT INTO workflow_inbox (tenant_id, event_id, type, data) VALUES ($1, $2, $3, $4)",
            tenant_id,
            event_id,
            type,
            data,
        )
    return event_id


def broken(account_id: int) -> dict[str, Any]:
    """A promise.broken event's data, as the promise judgement writes it."""
    return {
        "promise": {"id": 1, "account_id": account_id, "amount": "50.00", "status": "broken"},
        "account": {"id": account_id, "balance": "1075.00"},
    }


def received(account_id: int, payment_id: int, amount: str) -> dict[str, Any]:
    return {
        "payment": {
            "id": payment_id,
            "account_id": account_id,
            "amount": amount,
            "currency": "USD",
            "status": "succeeded",
            "method": "card",
        },
        "account": {"id": account_id},
    }


async def run_jobs(
    db: Database, tenant_id: int, clock: Clock, transports: Transports = DEV
) -> dict[str, int]:
    """What ``workflows.process`` does for a tenant, on the test's clock."""
    events = await process_tenant(db, tenant_id, LINKS, clock)
    figures = await settle(db, LINKS, transports, clock)
    return {"events": events, **figures}


async def template(
    client: httpx.AsyncClient, tenant: SeededTenant, channel: str, body: str, subject: str = ""
) -> int:
    response = await client.post(
        f"{API}/templates",
        json={
            "name": f"{channel}-{uuid.uuid4().hex[:8]}",
            "channel": channel,
            "subject": subject,
            "body": body,
        },
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def workflow(
    client: httpx.AsyncClient,
    tenant: SeededTenant,
    trigger: str,
    steps: list[dict[str, Any]],
    conditions: list[str] | None = None,
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/workflows",
        json={
            "name": f"wf-{uuid.uuid4().hex[:8]}",
            "enabled": True,
            "trigger": {"type": trigger},
            "conditions": conditions or [],
            "steps": steps,
        },
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def runs(client: httpx.AsyncClient, tenant: SeededTenant, workflow_id: int) -> list[dict]:
    response = await client.get(
        f"{API}/workflows/{workflow_id}/runs", headers=tenant.supervisor.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]
