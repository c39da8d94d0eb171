"""Liveness, readiness (database and Redis answer) and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from server.observability import metrics_payload

_CHECK_TIMEOUT = 2.0


@get("/health/live", opt={"exclude_from_auth": True}, include_in_schema=False)
async def live() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, _CHECK_TIMEOUT)
    except Exception as exc:  # a readiness probe reports every failure, whatever it is
        return name, f"error: {type(exc).__name__}: {exc}"[:200]
    return name, "ok"


@get("/health/ready", opt={"exclude_from_auth": True}, include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    resources = request.app.state.resources
    checks = dict(
        await asyncio.gather(
            _check("database", resources.db.ping()),
            _check("redis", resources.redis.ping()),
        )
    )
    ok = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE,
    )


@get("/metrics", opt={"exclude_from_auth": True}, include_in_schema=False)
async def metrics() -> Response[bytes]:
    body, content_type = metrics_payload()
    return Response(body, media_type=content_type)
