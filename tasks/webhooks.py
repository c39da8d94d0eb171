"""Outbound webhooks in the background.

The relay stages a delivery for each event and each endpoint that takes it, in its own
transaction (so none is lost), then kicks ``deliver`` once per tenant and batch. ``retry``,
every few seconds, sends what is due again (retries, and deliveries whose kick was lost or whose
worker died mid-request). Each endpoint's deliveries go out on their own, so a slow or dead
endpoint never holds up another's. A worker process keeps one sender for both jobs: one lane
per endpoint at a time, and each endpoint's connections kept open between jobs.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated

import structlog
from taskiq import AsyncBroker, TaskiqDepends, TaskiqState

from config.settings import get_settings
from domain.clock import Clock, utcnow
from domain.db import Database
from domain.webhooks import queries
from domain.webhooks.delivery import Sender
from domain.webhooks.signing import SecretBox
from tasks.broker import broker
from tasks.relay import Handoff

log = structlog.get_logger("recoup.webhooks")

RETRY_SECONDS = 5


@cache
def box() -> SecretBox:
    return SecretBox(get_settings().secret_key)


def sender(db: Database, clock: Clock = utcnow, *, keep: bool = False) -> Sender:
    settings = get_settings()
    return Sender(
        db,
        box(),
        allow_local=settings.webhooks_allow_local,
        clock=clock,
        lease=dt.timedelta(seconds=settings.webhooks_lease_seconds),
        keep=keep,
    )


def _sender(state: Annotated[TaskiqState, TaskiqDepends()]) -> Sender:
    """The worker process's sender (closed with the worker's resources)."""
    found = getattr(state, "webhooks", None)
    if found is None:
        found = state.webhooks = sender(state.db, keep=True)
    return found


async def retry_due(sender: Sender) -> dict[str, int]:
    """Every tenant's due deliveries out; the figures of what happened."""
    async with sender.db.system() as conn:
        tenants = await queries.due_tenants(conn, sender.clock())
    figures: dict[str, int] = {}
    for tenant_id in tenants:
        for key, value in (await sender.deliver_tenant(tenant_id)).items():
            figures[key] = figures.get(key, 0) + value
    return figures


@broker.task(task_name="webhooks.deliver")
async def deliver(tenant_id: int, sender: Sender = TaskiqDepends(_sender)) -> dict[str, int]:
    """The tenant's newly staged deliveries out."""
    return await sender.deliver_tenant(tenant_id)


@broker.task(task_name="webhooks.retry", schedule=[{"interval": RETRY_SECONDS}])
async def retry(sender: Annotated[Sender, TaskiqDepends(_sender)]) -> dict[str, int]:
    """Every few seconds (the first retry comes 5 s after a failure): retries that are due,
    and deliveries a lost kick or a dead worker left (once its lease, WEBHOOKS_LEASE_SECONDS,
    is over). Runs that overlap send nothing twice: each batch is leased to the job that
    claimed it, which renews the lease while the batch's requests are out."""
    figures = await retry_due(sender)
    if figures:
        log.info("webhook retries", **figures)
    return figures


def webhook_handoff(jobs: AsyncBroker) -> Handoff:
    """The relay's hand-off to ``deliver``: deliveries staged in the statement that marks
    the batch published, then one job per tenant that got any."""

    async def kick(tenant_ids: list[int]) -> None:
        for tenant_id in tenant_ids:
            await deliver.kicker().with_broker(jobs).kiq(tenant_id)

    return Handoff(wants=lambda _type, _data: False, kick=kick, stage=queries.STAGE)
