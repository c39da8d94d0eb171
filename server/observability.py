"""JSON logs carrying request id, tenant and user; Prometheus metrics; one middleware for both.

The middleware sits at the edge of the app, outside Litestar's router and its exception
handler, so that what those answer themselves (an unknown path, an error a middleware raised)
is logged and counted at its real status and carries the request id like any other answer.
Secrets that travel in URLs (payment and opt-out links, socket tickets) never reach a log line.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import sys
import time
from contextvars import ContextVar
from typing import IO, Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = structlog.get_logger("recoup.http")

HTTP_REQUESTS = Counter(
    "recoup_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "recoup_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
HTTP_IN_FLIGHT = Gauge("recoup_http_requests_in_flight", "HTTP requests being handled")


class _InFlight:
    """Requests being handled: a plain count (one event loop per process needs no lock),
    read by the gauge when Prometheus scrapes rather than set twice per request."""

    count = 0


HTTP_IN_FLIGHT.set_function(lambda: _InFlight.count)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# The links a debtor gets (their path segment is the credential) and query parameters that
# carry a credential (the socket's one-time ticket, above all).
# (A route's template, "/pay/{token:str}", is left as it is.)
_SECRET_SEGMENT = re.compile(r"(/(?:pay|optout|sandbox/checkout)/)[^/?#\s\"'{][^/?#\s\"']*")
_PARAMETER = re.compile(r"([?&;])([^=&#;\s\"'?]+)=([^&#;\s\"']*)")
# A query parameter is a credential when its name holds one of these words anywhere
# ("ticket", "access_token", "clientSecret", "X-Amz-Credential") ...
_SECRET_WORDS = (
    "ticket",
    "token",
    "secret",
    "passw",
    "signature",
    "credential",
    "auth",
    "session",
    "apikey",
    "jwt",
)
# ... or one of these as a part of it between "-", "_" or "." ("key", "api_key", "sig").
_SECRET_PARTS = frozenset({"key", "sig", "code", "otp", "pin", "pwd", "checkout", "nonce"})
_NAME_PARTS = re.compile(r"[-_.]")


def secret_parameter(name: str) -> bool:
    """Whether a query parameter called ``name`` carries a credential."""
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    return any(part in _SECRET_PARTS for part in _NAME_PARTS.split(lowered))


def _redact_parameter(match: re.Match[str]) -> str:
    separator, name, value = match.groups()
    if value and secret_parameter(name):
        return f"{separator}{name}={REDACTED}"
    return match[0]


REDACTED = "[redacted]"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Routes probed every few seconds: counted, not logged.
_QUIET = frozenset({"/health/live", "/health/ready", "/metrics"})


# The log context of the request being served: one dict in one context variable, set at the
# edge and completed once the caller is known, merged into every line logged meanwhile
# (structlog's own contextvars take a variable per key, set and reset on every request).
_request_log: ContextVar[dict[str, Any] | None] = ContextVar("recoup_request_log", default=None)


def log_caller(tenant_id: int, actor: str) -> None:
    """Name the caller in the log lines of the rest of the request."""
    context = _request_log.get()
    if context is not None:
        context["tenant_id"] = tenant_id
        context["actor"] = actor


def _merge_request_log(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    context = _request_log.get()
    if context:
        for key, value in context.items():
            event_dict.setdefault(key, value)
    return event_dict


def redact(text: str) -> str:
    """``text`` with the secrets of any URL in it replaced by ``[redacted]``."""
    if "/" not in text and "=" not in text:
        return text
    text = _SECRET_SEGMENT.sub(rf"\g<1>{REDACTED}", text)
    return _PARAMETER.sub(_redact_parameter, text) if "=" in text else text


def _redact_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A log processor: every text value of a line, ours or a library's (uvicorn logs socket
    URLs with their query string), is redacted before it is written."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


class _EveryJob(logging.Filter):
    """Drops taskiq's line for each job sent or run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.levelno == logging.INFO
            and isinstance(record.msg, str)
            and record.msg.startswith(("Executing task", "Sending task"))
        )


def configure_logging(
    level: str = "INFO", *, json: bool = True, stream: IO[str] | None = None
) -> None:
    """Structured logs on stdout (or ``stream``: a command whose stdout is its answer logs
    on stderr): JSON in production, readable lines when ``json`` is off."""
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _merge_request_log,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        _redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # below the level, drop the event before any work
            *processors,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=processors,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would repeat ours without the request id.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # taskiq says at INFO every job the scheduler sends and every job a worker runs: lines
    # every few seconds for ever, which bury everything else. Kept at DEBUG; its other lines
    # (started, stopping) stay.
    for name in ("taskiq.receiver.receiver", "taskiq.cli.scheduler.run"):
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, _EveryJob)]:
            logger.removeFilter(old)
        if root.level > logging.DEBUG:
            logger.addFilter(_EveryJob())


def request_id_of(scope: Scope) -> str | None:
    return scope.get("state", {}).get("request_id")  # type: ignore[union-attr]


# Request ids: random per process, then counted (unique without a system call each).
_ID_PREFIX = secrets.token_hex(6)
_next_id = itertools.count(1).__next__


class ObservabilityMiddleware:
    """Gives every request an id (or keeps a sane ``X-Request-ID``), logs it once, counts it,
    and adds ``headers`` (the security headers) to every answer that does not set its own:
    one wrapper of ``send`` at the edge for all of it."""

    def __init__(self, app: ASGIApp, *, headers: dict[bytes, bytes] | None = None) -> None:
        self.app = app
        self.headers = list((headers or {}).items())
        self.names = frozenset(name for name, _ in self.headers)
        self.logs_requests = logging.getLogger("recoup.http").isEnabledFor
        # The metrics' children by label values: looked up once, not on every request.
        self._counted: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def _metrics(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        children = self._counted.get(key)
        if children is None:
            children = self._counted[key] = (
                HTTP_REQUESTS.labels(method, route, str(status)),
                HTTP_LATENCY.labels(method, route),
            )
        return children

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = (
            incoming if incoming and _REQUEST_ID.match(incoming) else f"{_ID_PREFIX}{_next_id():x}"
        )
        scope.setdefault("state", {})["request_id"] = request_id  # type: ignore[typeddict-item]
        # The request's log context: its id now, the caller once known (``log_caller``).
        logged = _request_log.set({"request_id": request_id, "tenant_id": None, "actor": None})
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                present = {name for name, _ in headers}  # ASGI header names are lowercase
                if present.isdisjoint(self.names):
                    headers += self.headers
                else:
                    headers += [pair for pair in self.headers if pair[0] not in present]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers  # type: ignore[typeddict-unknown-key]
            await send(message)

        _InFlight.count += 1
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _InFlight.count -= 1
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"  # type: ignore[typeddict-item]
            method = scope["method"]
            # Any word is a method to the server: counted under a few, so labels stay few.
            requests, latency = self._metrics(
                method if method in _METHODS else "OTHER", route, status
            )
            requests.inc()
            latency.observe(elapsed)
            # An outage's 503 was logged once when the outage began (server.outage).
            failed = status >= 500 and "outage" not in scope["state"]  # type: ignore[typeddict-item]
            level = logging.WARNING if failed else logging.INFO
            if route not in _QUIET and self.logs_requests(level):
                # A refusal (4xx) is the client's business; only our own failures warn.
                (log.warning if failed else log.info)(
                    "request",
                    method=method,
                    path=redact(scope["path"]),
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            _request_log.reset(logged)


def metrics_payload() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
