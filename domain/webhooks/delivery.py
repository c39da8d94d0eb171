"""Sending deliveries: signed requests, the retry schedule, dead letters.

Each endpoint's due deliveries are claimed with a lease, renewed every third of it while they
are out (a worker that dies mid-request lets go within one lease, and the retry job sends
them again: the receiver gets the same ``webhook-id`` and de-duplicates by it; the attempt
the dead worker began is recorded as interrupted when another takes the delivery over), sent,
and their outcome recorded with an attempt row, each in its own short transaction: no
transaction is open during a request. A delivery already recorded is never sent again (only
a replay puts it back in line), and an outcome is recorded only by the worker that still
holds the lease.
Endpoints are sent to concurrently, so a slow or dead one never delays another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import structlog

from channels import names
from domain.actor import system_actor
from domain.db import Database
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.webhooks import queries
from domain.webhooks.signing import SecretBox, signatures
from domain.webhooks.urls import UrlPolicy, delivery_client, refusal

log = structlog.get_logger("recoup.webhooks")

TIMEOUT_SECONDS = 15.0
# After the first attempt fails, the next ones come this long after the previous one (with
# jitter): eight attempts in all over about 28 hours, then the delivery is dead-lettered.
SCHEDULE = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=10),
)
ATTEMPTS = len(SCHEDULE) + 1
# A Retry-After longer than this is held to it.
MAX_RETRY_AFTER = dt.timedelta(hours=24)
# An endpoint that has answered nothing but failures for this long is disabled.
FAILING_LIMIT = dt.timedelta(days=5)
# How long a claimed delivery stays with its worker unless renewed (WEBHOOKS_LEASE_SECONDS).
LEASE = dt.timedelta(seconds=20)
BATCH = 20
PER_ENDPOINT = 4
EXCERPT = 1000


def jitter() -> float:
    return random.uniform(0.9, 1.1)


def retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """A Retry-After header, in seconds or as an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = dt.timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        wait = when - now
    return max(dt.timedelta(0), min(wait, MAX_RETRY_AFTER))


def next_attempt(
    attempts: int, now: dt.datetime, asked: dt.timedelta | None, spread: float
) -> dt.datetime | None:
    """When to try again after ``attempts`` failed ones; None once the schedule is over."""
    if attempts >= ATTEMPTS:
        return None
    wait = SCHEDULE[attempts - 1] * spread
    if asked is not None and asked > wait:
        wait = asked
    return now + wait


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None
    latency_ms: int
    response: str | None
    error: str | None
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Sender:
    """What sending needs: the server's key (to open secrets), the deployment's address
    policy and, in tests, the clock of the schedule and the jitter."""

    db: Database
    box: SecretBox
    allow_local: bool = False
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    spread: Callable[[], float] = jitter
    timeout: float = TIMEOUT_SECONDS
    lease: dt.timedelta = LEASE

    async def deliver_tenant(self, tenant_id: int) -> dict[str, int]:
        """Every due delivery of the tenant, each endpoint on its own."""
        async with self.db.tenant(tenant_id) as conn:
            endpoints = await queries.due_endpoints(conn, self.clock())
        if not endpoints:
            return {}
        policy = UrlPolicy(allow_local=self.allow_local)
        async with delivery_client(policy, self.timeout) as client:
            results = await asyncio.gather(
                *(self.deliver_endpoint(client, tenant_id, e) for e in endpoints)
            )
        figures: dict[str, int] = {}
        for result in results:
            for key, value in result.items():
                figures[key] = figures.get(key, 0) + value
        return figures

    async def deliver_endpoint(
        self, client: httpx.AsyncClient, tenant_id: int, endpoint_id: int
    ) -> dict[str, int]:
        figures: dict[str, int] = {}
        limit = asyncio.Semaphore(PER_ENDPOINT)
        while True:
            now = self.clock()
            async with self.db.tenant(tenant_id) as conn:
                endpoint = await queries.endpoint_for_delivery(conn, endpoint_id)
                if endpoint is None or not endpoint["enabled"]:
                    return figures
                token = uuid.uuid4()
                claimed = await queries.claim(conn, endpoint_id, now, self.lease, BATCH, token)
            if not claimed:
                return figures
            secrets = self._secrets(endpoint, now)
            refused = await refusal(endpoint["url"], UrlPolicy(allow_local=self.allow_local))

            async def one(
                row: dict,
                secrets: list[str] = secrets,
                url: str = endpoint["url"],
                refused: str | None = refused,
            ) -> Outcome:
                async with limit:
                    return await self._send(client, url, secrets, row, refused)

            holder = asyncio.create_task(self._hold(tenant_id, [r["id"] for r in claimed], token))
            try:
                outcomes = await asyncio.gather(*(one(r) for r in claimed))
            finally:
                holder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await holder
            disabled = await self._record(tenant_id, endpoint_id, claimed, outcomes, token)
            for outcome in outcomes:
                key = "succeeded" if outcome.ok else "failed"
                figures[key] = figures.get(key, 0) + 1
            if disabled:
                return figures

    async def _hold(self, tenant_id: int, ids: list[int], token: uuid.UUID) -> None:
        """Renew the lease every third of it while the requests are out."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.db.tenant(tenant_id) as conn:
                    await queries.renew(conn, ids, token, self.clock() + self.lease)
            except Exception:
                # The next renewal may pass: the lease holds till then.
                log.warning("webhook lease not renewed", exc_info=True)

    def _secrets(self, endpoint: dict, now: dt.datetime) -> list[str]:
        found = [self.box.open(endpoint["secret_enc"])]
        until = endpoint["previous_secret_until"]
        if endpoint["previous_secret_enc"] and until is not None and until > now:
            found.append(self.box.open(endpoint["previous_secret_enc"]))
        return found

    async def _send(
        self,
        client: httpx.AsyncClient,
        url: str,
        secrets: list[str],
        row: dict,
        refused: str | None = None,
    ) -> Outcome:
        """One request; ``refused``: why the URL's host may not be reached now."""
        body = row["payload"].encode()
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "Recoup-Webhooks/1",
            "webhook-id": row["webhook_id"],
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures(secrets, row["webhook_id"], timestamp, body),
        }
        started = time.perf_counter()
        if not url.lower().startswith("https://") and not self.allow_local:
            # Saved while the tenant allowed plain http; checked again at every attempt.
            tenant_http = await self._tenant_allows_http(row["tenant_id"])
            if not tenant_http:
                return Outcome(None, 0, None, "plain http is no longer allowed")
        if refused is not None:
            return Outcome(None, 0, None, refused)
        try:
            async with (
                asyncio.timeout(self.timeout),
                client.stream("POST", url, content=body, headers=headers) as response,
            ):
                excerpt = b""
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT:
                        break
                latency = round((time.perf_counter() - started) * 1000)
                return Outcome(
                    response.status_code,
                    latency,
                    excerpt[:EXCERPT].decode("utf-8", "replace"),
                    None,
                    response.headers.get("retry-after"),
                )
        except (TimeoutError, httpx.TimeoutException):
            # httpx's timeouts are per connection, read or write: the whole request is held to
            # the same time (a receiver that trickles its answer is cut too).
            latency = round((time.perf_counter() - started) * 1000)
            return Outcome(None, latency, None, f"no answer within {self.timeout:g} s")
        except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError) as exc:
            # Whatever one endpoint does, it is its delivery's failed attempt, never the job's.
            latency = round((time.perf_counter() - started) * 1000)
            reason = f"{type(exc).__name__}: {exc}"[:500]
            return Outcome(None, latency, None, reason)

    async def _tenant_allows_http(self, tenant_id: int) -> bool:
        async with self.db.tenant(tenant_id) as conn:
            value = await conn.fetchval(
                "SELECT coalesce((settings -> 'webhooks' ->> 'allow_http')::boolean, false) "
                "FROM tenants WHERE id = $1",
                tenant_id,
            )
        return bool(value)

    async def _record(
        self,
        tenant_id: int,
        endpoint_id: int,
        claimed: list,
        outcomes: list[Outcome],
        token: uuid.UUID,
    ) -> bool:
        """Each attempt and what follows from it; True if the endpoint was disabled."""
        now = self.clock()
        gone = any(o.status == 410 for o in outcomes)
        async with self.db.tenant(tenant_id) as conn:
            for row, outcome in zip(claimed, outcomes, strict=True):
                attempts = row["attempts"] + 1
                if outcome.ok:
                    status, when = "succeeded", now
                elif outcome.status == 410:
                    status, when = "failed", now
                else:
                    asked = retry_after(outcome.retry_after, now)
                    later = next_attempt(attempts, now, asked, self.spread())
                    status, when = ("pending", later) if later is not None else ("dead", now)
                kept = await queries.record_attempt(
                    conn,
                    row["id"],
                    token,
                    at=now,
                    status=outcome.status,
                    latency_ms=outcome.latency_ms,
                    response=outcome.response,
                    error=outcome.error,
                    outcome=status,
                    next_attempt_at=when,
                )
                if not kept:
                    log.warning("webhook lease lost before the outcome", delivery=row["id"])
            any_ok = any(o.ok for o in outcomes)
            reason = None
            if gone:
                reason = "the receiver answered 410 Gone"
            elif not any_ok:
                endpoint = await queries.endpoint_for_delivery(conn, endpoint_id)
                since = endpoint["failing_since"] if endpoint else None
                if since is not None and now - since >= FAILING_LIMIT:
                    reason = "failing for 5 days"
            row = await queries.endpoint_outcome(
                conn, endpoint_id, ok=any_ok, disable=reason, at=now
            )
            if row is not None and row["disabled_now"]:
                await ChangeRecorder(conn, system_actor(tenant_id), self.clock).record(
                    action="webhook_endpoint.disable",
                    entity_type="webhook_endpoint",
                    entity_id=endpoint_id,
                    before=None,
                    after={"enabled": False, "disabled_reason": reason},
                    event_type=events.WEBHOOK_ENDPOINT_DISABLED,
                    channels=[names.TENANT],
                    data={"id": endpoint_id, "url": row["url"], "reason": reason},
                )
                log.warning("webhook endpoint disabled", endpoint=endpoint_id, reason=reason)
                return True
        return False
