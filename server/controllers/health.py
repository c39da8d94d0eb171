"""Liveness, readiness (database and Redis answer, or which does not) and Prometheus metrics.

Metrics tell how busy the floor is and what fails: open in development, behind the
``METRICS_TOKEN`` bearer once one is set, and closed in production until it is.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

import structlog
from litestar import Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from prometheus_client import Gauge

from domain.errors import Unauthenticated
from domain.outbox import queries as outbox_queries
from server.observability import metrics_payload
from server.outage import DATABASE, REDIS, RETRY_AFTER_SECONDS, Outages

log = structlog.get_logger("recoup.health")

_CHECK_TIMEOUT = 2.0


@get("/health/live", opt={"exclude_from_auth": True}, include_in_schema=False)
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _check(outages: Outages, name: str, probe: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, _CHECK_TIMEOUT)
    except Exception as exc:  # a readiness probe reports every failure, whatever it is
        outages.noted(exc)  # the outage's one log line, if no request has said it yet
        return name, f"error: {type(exc).__name__}: {exc}"[:200]
    return name, "ok"


@get("/health/ready", opt={"exclude_from_auth": True}, include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 when the database and Redis answer; 503 with ``Retry-After`` naming what does
    not (``down``: ``database``, ``redis``), each check's error in ``checks``."""
    resources = request.app.state.resources
    checks = dict(
        await asyncio.gather(
            _check(resources.outages, DATABASE, resources.db.ping()),
            _check(resources.outages, REDIS, resources.redis.ping()),
        )
    )
    down = sorted(name for name, result in checks.items() if result != "ok")
    if not down:
        return Response({"status": "ok", "checks": checks}, status_code=HTTP_200_OK)
    request.scope["state"]["outage"] = down[0]  # type: ignore[typeddict-item]
    return Response(
        {"status": "unavailable", "down": down, "checks": checks},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


OUTBOX_PENDING = Gauge("recoup_outbox_pending", "Committed events the relay has not published")
OUTBOX_LAG = Gauge("recoup_outbox_lag_seconds", "Age of the oldest unpublished event")


def _check_metrics_access(request: Request[Any, Any, Any]) -> None:
    settings = request.app.state.resources.settings
    expected = settings.metrics_token
    if expected is None and settings.env != "production":
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(given.strip().encode(), expected.encode())
    ):
        raise Unauthenticated("send Authorization: Bearer <METRICS_TOKEN>")


@get("/metrics", opt={"exclude_from_auth": True}, include_in_schema=False)
async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    _check_metrics_access(request)
    try:
        async with request.app.state.resources.db.system() as conn:
            pending, oldest = await asyncio.wait_for(outbox_queries.lag(conn), _CHECK_TIMEOUT)
        OUTBOX_PENDING.set(pending)
        OUTBOX_LAG.set(oldest)
    except Exception as exc:  # metrics still answer while the database does not
        if request.app.state.resources.outages.noted(exc) is None:
            log.warning("outbox lag unavailable", error=str(exc))
    body, content_type = metrics_payload()
    return Response(body, media_type=content_type)
