"""Money on a schedule and in the background: promises judged, the sandbox provider's calls."""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import structlog
from taskiq import TaskiqDepends, TaskiqState

from config.settings import get_settings
from domain.clock import utcnow
from domain.db import Database
from domain.payments import providers
from domain.payments.idempotency import prune as prune_idempotency_keys
from domain.promises.service import settle_promises
from domain.tenancy.service import all_tenant_ids
from tasks.broker import broker

log = structlog.get_logger("recoup.jobs")

_ATTEMPTS = 6


def _db(state: Annotated[TaskiqState, TaskiqDepends()]) -> Database:
    return state.db


@broker.task(task_name="payments.deliver_sandbox_webhook")
async def deliver_sandbox_webhook(event_json: str) -> int:
    """Call Recoup's provider webhook as the sandbox provider, signed, retrying with backoff
    as a real provider would. Redelivery is harmless: the endpoint is idempotent."""
    settings = get_settings()
    body = event_json.encode()
    url = f"{settings.base_url}/api/v1/webhooks/payments/sandbox"
    delay = 0.5
    async with httpx.AsyncClient(timeout=10) as http:
        for attempt in range(1, _ATTEMPTS + 1):
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": providers.sign(settings.sandbox_webhook_secrets[0], body),
            }
            try:
                response = await http.post(url, content=body, headers=headers)
                if response.status_code < 300:
                    return response.status_code
                log.warning(
                    "sandbox webhook refused",
                    status=response.status_code,
                    attempt=attempt,
                    body=response.text[:300],
                )
            except httpx.HTTPError as exc:
                log.warning("sandbox webhook failed", error=str(exc), attempt=attempt)
            await asyncio.sleep(delay)
            delay *= 2
    raise RuntimeError(f"the sandbox webhook was not accepted after {_ATTEMPTS} attempts")


@broker.task(task_name="payments.settle_promises", schedule=[{"cron": "*/10 * * * *"}])
async def settle_all_promises(db: Annotated[Database, TaskiqDepends(_db)]) -> int:
    """Judge every tenant's pending promises (idempotent: a judged promise is not pending)."""
    async with db.system() as conn:
        tenant_ids = await all_tenant_ids(conn)
    settled = 0
    for tenant_id in tenant_ids:
        async with db.tenant(tenant_id) as conn:
            settled += len(await settle_promises(conn, tenant_id, utcnow()))
    if settled:
        log.info("promises settled", count=settled)
    return settled


@broker.task(task_name="payments.prune_idempotency_keys", schedule=[{"cron": "41 * * * *"}])
async def prune_keys(db: Annotated[Database, TaskiqDepends(_db)]) -> int:
    async with db.system() as conn:
        return await prune_idempotency_keys(conn, utcnow())
