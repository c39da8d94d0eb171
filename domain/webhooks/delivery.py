"""Sending deliveries: signed requests, the retry schedule, dead letters.

Each endpoint's due deliveries are claimed in batches, each batch under one lease that is
renewed every third of it while the batch's requests are out (a worker that dies
mid-request lets go within one lease, and the retry job sends them again: the receiver gets
the same ``webhook-id`` and de-duplicates by it; the attempt the dead worker began is
recorded as interrupted when another takes the delivery over), sent, and their outcomes
recorded with their attempt rows in one statement, each step in its own short transaction:
no transaction is open during a request. A delivery already recorded is never sent again
(only a replay puts it back in line), and an outcome is recorded only by the worker that
still holds the lease. Endpoints are sent to concurrently, each with its own connections and
its own bound on requests in flight, so a slow or dead one never delays another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import structlog

from channels import names
from domain.actor import system_actor
from domain.db import Database
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.webhooks import queries
from domain.webhooks.signing import SecretBox, signatures
from domain.webhooks.urls import DeliveryClient, SSRFProtectionError, UrlPolicy, delivery_client

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
# How long a claimed batch stays with its worker unless renewed (WEBHOOKS_LEASE_SECONDS).
LEASE = dt.timedelta(seconds=20)
BATCH = 50
# Requests in flight to one endpoint from one worker process (and its open connections).
PER_ENDPOINT = 8
# Endpoints whose clients (and connections) a worker keeps between jobs.
KEEP_CLIENTS = 1000
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
    policy and, in tests, the clock of the schedule and the jitter.

    A worker keeps one sender (``keep``): each endpoint has one lane in the process at a
    time (a job that finds it running asks it to go round once more instead of starting
    another) and its own pooled client, whose connections stay open between deliveries and
    jobs. At most ``PER_ENDPOINT`` requests of an endpoint are in flight in a process, so an
    endpoint that never answers holds that many connections and its own lane, nothing that
    another endpoint's deliveries wait for."""

    db: Database
    box: SecretBox
    allow_local: bool = False
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))
    spread: Callable[[], float] = jitter
    timeout: float = TIMEOUT_SECONDS
    lease: dt.timedelta = LEASE
    keep: bool = False
    _lanes: dict[int, asyncio.Task[dict[str, int]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _again: set[int] = field(default_factory=set, init=False, repr=False)
    _clients: dict[int, DeliveryClient] = field(default_factory=dict, init=False, repr=False)

    async def deliver_tenant(self, tenant_id: int) -> dict[str, int]:
        """Every due delivery of the tenant, each endpoint on its own lane."""
        async with self.db.tenant(tenant_id) as conn:
            endpoints = await queries.due_endpoints(conn, self.clock())
        started: dict[int, asyncio.Task[dict[str, int]]] = {}
        for endpoint_id in endpoints:
            lane = self._lanes.get(endpoint_id)
            if lane is not None and not lane.done():
                self._again.add(endpoint_id)
                continue
            lane = asyncio.create_task(self.deliver_endpoint(tenant_id, endpoint_id))
            self._lanes[endpoint_id] = started[endpoint_id] = lane
        try:
            results = await asyncio.gather(*started.values(), return_exceptions=True)
        finally:
            for endpoint_id, lane in started.items():
                if self._lanes.get(endpoint_id) is lane:
                    del self._lanes[endpoint_id]
                if not self.keep:
                    await self._close(endpoint_id)
        figures: dict[str, int] = {}
        for result in results:
            if isinstance(result, BaseException):
                raise result
            for key, value in result.items():
                figures[key] = figures.get(key, 0) + value
        return figures

    async def close(self) -> None:
        for endpoint_id in list(self._clients):
            await self._close(endpoint_id)

    async def _close(self, endpoint_id: int) -> None:
        client = self._clients.pop(endpoint_id, None)
        if client is not None:
            await client.aclose()

    async def _client(self, endpoint_id: int) -> DeliveryClient:
        client = self._clients.get(endpoint_id)
        if client is None:
            if len(self._clients) >= KEEP_CLIENTS:
                # Those of endpoints without a lane running go first (the oldest first).
                idle = [e for e in self._clients if e not in self._lanes]
                for endpoint in idle[: KEEP_CLIENTS // 4]:
                    await self._close(endpoint)
            policy = UrlPolicy(allow_local=self.allow_local)
            client = self._clients[endpoint_id] = delivery_client(
                policy, self.timeout, connections=PER_ENDPOINT
            )
        return client

    async def deliver_endpoint(self, tenant_id: int, endpoint_id: int) -> dict[str, int]:
        figures: dict[str, int] = {}
        limit = asyncio.Semaphore(PER_ENDPOINT)
        while True:
            now = self.clock()
            self._again.discard(endpoint_id)
            async with self.db.tenant(tenant_id) as conn:
                endpoint = await queries.endpoint_for_delivery(conn, endpoint_id)
                if endpoint is None or not endpoint["enabled"]:
                    return figures
                token = uuid.uuid4()
                claimed = await queries.claim(conn, endpoint_id, now, self.lease, BATCH, token)
            if not claimed:
                if endpoint_id in self._again:
                    continue  # a job asked while the claim was on its way
                return figures
            # The batch's lease is renewed while its requests are out.
            holder = asyncio.create_task(self._hold(tenant_id, [r["id"] for r in claimed], token))
            try:
                outcomes = await self._send_batch(tenant_id, endpoint, claimed, now, limit)
            finally:
                holder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await holder
            disabled = await self._record(tenant_id, endpoint, claimed, outcomes, token)
            for outcome in outcomes:
                key = "succeeded" if outcome.ok else "failed"
                figures[key] = figures.get(key, 0) + 1
            if disabled:
                return figures

    async def _send_batch(
        self,
        tenant_id: int,
        endpoint: dict,
        claimed: list,
        now: dt.datetime,
        limit: asyncio.Semaphore,
    ) -> list[Outcome]:
        url = endpoint["url"]
        plain = not url.lower().startswith("https://") and not self.allow_local
        # Saved while the tenant allowed plain http; checked again for every batch.
        if plain and not await self._tenant_allows_http(tenant_id):
            return [Outcome(None, 0, None, "plain http is no longer allowed") for _ in claimed]
        client = await self._client(endpoint["id"])
        secrets = self._secrets(endpoint, now)

        async def one(row: dict) -> Outcome:
            async with limit:
                return await self._send(client, url, secrets, row)

        return list(await asyncio.gather(*(one(r) for r in claimed)))

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
        self, client: DeliveryClient, url: str, secrets: list[str], row: dict
    ) -> Outcome:
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
        try:
            # The whole request, the answer's start included (a receiver that trickles it
            # is cut too), to the second.
            async with asyncio.timeout(self.timeout):
                status, start, asked = await client.post(url, body, headers, EXCERPT)
        except TimeoutError:
            latency = round((time.perf_counter() - started) * 1000)
            return Outcome(None, latency, None, f"no answer within {self.timeout:g} s")
        except SSRFProtectionError as exc:
            # Refused before anything connected: the reason as the save would give it.
            return Outcome(None, 0, None, str(exc))
        except (aiohttp.ClientError, OSError, UnicodeError, ValueError) as exc:
            # Whatever one endpoint does, it is its delivery's failed attempt, never the job's.
            latency = round((time.perf_counter() - started) * 1000)
            return Outcome(None, latency, None, described(exc)[:500])
        latency = round((time.perf_counter() - started) * 1000)
        return Outcome(status, latency, start.decode("utf-8", "replace"), None, asked)

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
        endpoint: dict,
        claimed: list,
        outcomes: list[Outcome],
        token: uuid.UUID,
    ) -> bool:
        """Each attempt and what follows from it, in one statement, for the deliveries still
        leased under ``token``; True if the endpoint was disabled."""
        now = self.clock()
        endpoint_id = endpoint["id"]
        gone = any(o.status == 410 for o in outcomes)
        found = []
        for row, outcome in zip(claimed, outcomes, strict=True):
            if outcome.ok:
                status, when = "succeeded", now
            elif outcome.status == 410:
                status, when = "failed", now
            else:
                asked = retry_after(outcome.retry_after, now)
                later = next_attempt(row["attempts"] + 1, now, asked, self.spread())
                status, when = ("pending", later) if later is not None else ("dead", now)
            found.append(
                queries.Attempt(
                    row["id"],
                    outcome.status,
                    outcome.latency_ms,
                    outcome.response,
                    outcome.error,
                    status,
                    when,
                )
            )
        any_ok = any(o.ok for o in outcomes)
        async with self.db.tenant(tenant_id) as conn:
            kept = await queries.record_attempts(conn, now, token, found)
            if len(kept) < len(found):
                lost = sorted({a.delivery_id for a in found} - set(kept))
                log.warning("webhook lease lost before the outcome", deliveries=lost)
            if any_ok and not gone and endpoint["failing_since"] is None:
                return False  # nothing to change on the endpoint (the common case)
            reason = None
            if gone:
                reason = "the receiver answered 410 Gone"
            elif not any_ok:
                current = await queries.endpoint_for_delivery(conn, endpoint_id)
                since = current["failing_since"] if current else None
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
                    channels=[names.WEBHOOKS],
                    data={"id": endpoint_id, "url": row["url"], "reason": reason},
                )
                log.warning("webhook endpoint disabled", endpoint=endpoint_id, reason=reason)
                return True
        return False


def described(exc: BaseException) -> str:
    """Why a delivery failed, in words an admin reads on the endpoint's page."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"the receiver's TLS certificate was not accepted ({exc.host}:{exc.port})"
    if isinstance(exc, aiohttp.ClientSSLError):
        return f"the TLS handshake with {exc.host}:{exc.port} failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        error = exc.os_error
        why = (os.strerror(error.errno) if error.errno else str(error)).lower() if error else ""
        return f"could not connect to {exc.host}:{exc.port}" + (f": {why}" if why else "")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the receiver closed the connection without answering"
    if isinstance(exc, aiohttp.InvalidURL):
        return "the URL is not one a request can be sent to"
    if isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientResponseError)):
        return f"the receiver's answer could not be read: {exc}"
    if isinstance(exc, UnicodeError):
        return "the URL's host name cannot be written in ASCII"
    if isinstance(exc, OSError) and exc.strerror:
        return f"the network failed: {exc.strerror.lower()}"
    if str(exc):
        return f"the request failed: {exc}"
    return f"the request failed ({type(exc).__name__})"
