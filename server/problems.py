"""Every error leaves as an RFC 9457 problem document (``application/problem+json``)."""

from __future__ import annotations

import keyword
import re
from typing import Any

import asyncpg
import msgspec
import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    SerializationException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from domain.errors import RecoupError
from server.observability import request_id_of
from server.outage import RETRY_AFTER_SECONDS, dependency_of, unavailable_detail
from server.refusal_words import in_words

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("recoup.errors")

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    410: "Gone",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "The request is not valid",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_SLUGS = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    410: "gone",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


def problem(
    request: Request[Any, Any, Any],
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"urn:recoup:problem:{slug or _SLUGS.get(status, 'error')}",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = request_id_of(request.scope)
    if request_id:
        body["request_id"] = request_id
    # A field and errors only when there are some; other extensions as given (a null
    # next_allowed_at says "not before the block is lifted").
    body.update({k: v for k, v in extra.items() if v is not None or k not in ("errors", "field")})
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_bytes(status: int, detail: str, instance: str) -> bytes:
    """The problem document of a refusal written below Litestar (a request the HTTP or
    WebSocket parser could not read), encoded."""
    return msgspec.json.encode(
        {
            "type": f"urn:recoup:problem:{_SLUGS.get(status, 'error')}",
            "title": TITLES.get(status, "Error"),
            "status": status,
            "detail": detail,
            "instance": instance,
        }
    )


def recoup_error(request: Request[Any, Any, Any], exc: RecoupError) -> Response[dict[str, Any]]:
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
    return problem(
        request,
        exc.status,
        exc.detail,
        slug=exc.slug,
        title=exc.title,
        headers=exc.headers,
        field=exc.field,
        errors=errors,
        **exc.extra,
    )


_UNKNOWN_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def field_of(key: str | None, message: str) -> str | None:
    """Litestar names the parameter; msgspec names the path inside the body (``$.amount``)."""
    path = message.rsplit("at `$", 1)[1].rstrip("`").lstrip(".") if "at `$" in message else ""
    if unknown := _UNKNOWN_FIELD.search(message):
        return f"{path}.{unknown[1]}" if path else unknown[1]
    if key and key.endswith("_") and keyword.iskeyword(key[:-1]):
        key = key[:-1]  # a parameter named as a Python keyword (``from``), as the client sent it
    return path or key or None


def validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            if message == repr(item.get("key")):
                # Litestar's KeyError for a defaulted field not sent (an optional body),
                # listed when another field fails: not an error of the request.
                continue
            field = field_of(item.get("key"), message)
            if field == "data":  # Litestar's name for the whole body
                field = "body"
            elif item.get("source") == "header" and field:
                # Named as the client sent it (Idempotency-Key), not as the handler calls it.
                field = "-".join(part.capitalize() for part in field.split("_"))
            errors.append({"field": field or "body", "message": in_words(message)})
    if not errors and _sent_nothing(request):
        # Litestar's "Validation failed for POST ..." for a body that is required and absent.
        return problem(request, 422, "the request needs a JSON body", field="body")
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or str(exc.detail)
    field = errors[0]["field"] if errors else None
    return problem(request, 422, detail, field=field, errors=errors or None)


def _sent_nothing(request: Request[Any, Any, Any]) -> bool:
    headers = request.headers
    return headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers


# msgspec's words for a body that is not JSON, where they would mislead: it says "truncated"
# of a lone \uD800-\uDFFF escape as well as of a body that stops early.
_JSON_WORDS = {
    "Input data was truncated": "it ends before its JSON does, or a \\uD800-\\uDFFF escape "
    "stands alone where it must be half of a pair",
}


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    detail = exc.detail if exc.detail and exc.detail != TITLES.get(status) else None
    if isinstance(exc, NotAuthorizedException):
        return problem(
            request,
            401,
            detail or "sign in, or send a valid bearer token or API key",
            headers={"WWW-Authenticate": "Bearer", **(exc.headers or {})},
        )
    if isinstance(exc, PermissionDeniedException):
        return problem(request, 403, detail or "your role does not allow this")
    if status == 404:
        return problem(request, 404, detail or f"nothing at {request.url.path}")
    if status == 405:
        return problem(
            request, 405, detail or f"{request.method} is not allowed here", headers=exc.headers
        )
    if status == 400 and isinstance(exc.__cause__, SerializationException):
        why = _JSON_WORDS.get(str(exc.detail), exc.detail)
        return problem(
            request,
            400,
            f"the request body is not valid JSON ({why})",
            slug="malformed-json",
            title="Malformed request body",
        )
    if status == 413:
        return problem(request, 413, "the request body is larger than this server accepts")
    return problem(request, status, detail or TITLES.get(status, "error"), headers=exc.headers)


def unavailable(request: Request[Any, Any, Any], dependency: str) -> Response[dict[str, Any]]:
    """503 while ``dependency`` is out of reach: the outage is logged once (``Outages``),
    and the request's own log line stays at INFO."""
    request.scope.setdefault("state", {})["outage"] = dependency  # type: ignore[typeddict-item]
    return problem(
        request,
        503,
        unavailable_detail(dependency),
        slug="dependency-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        dependency=dependency,
        retry_after=RETRY_AFTER_SECONDS,
    )


def outage_of(request: Request[Any, Any, Any], exc: BaseException) -> str | None:
    """The dependency ``exc`` says is down (noted once for the process), or None."""
    resources = getattr(request.app.state, "resources", None)
    outages = getattr(resources, "outages", None)
    return outages.noted(exc) if outages is not None else dependency_of(exc)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    if dependency := outage_of(request, exc):
        return unavailable(request, dependency)
    log.exception("unhandled error", exc_info=exc, path=request.url.path)
    return problem(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "something went wrong on our side; nothing was changed. Quote the request id if it "
        "happens again.",
    )


# What PostgreSQL refuses of a value itself; asyncpg raises DataError too for a parameter it
# cannot encode (too large for its column type: an OverflowError underneath).
_REFUSED_VALUES = (
    asyncpg.CharacterNotInRepertoireError,
    asyncpg.UntranslatableCharacterError,
    asyncpg.NumericValueOutOfRangeError,
    asyncpg.DatetimeFieldOverflowError,
)


def unstorable_input(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """A value the checks at the edge let through and PostgreSQL refused, or one too large
    or too deep for Python: the client's input, not our failure. Nothing was stored."""
    if isinstance(exc, asyncpg.DataError) and not (
        isinstance(exc, _REFUSED_VALUES) or isinstance(exc.__cause__, OverflowError)
    ):
        return internal_error(request, exc)  # our SQL or our parameters are wrong
    log.warning("input refused late", error=f"{type(exc).__name__}: {exc}"[:300])
    return problem(
        request,
        422,
        "a value in the request is out of range, nested too deeply, or holds a character "
        "that cannot be stored",
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    RecoupError: recoup_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    # Safety nets behind server/input.py and the schemas' bounds.
    OverflowError: unstorable_input,
    RecursionError: unstorable_input,
    asyncpg.DataError: unstorable_input,
    Exception: internal_error,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_JSON",
    "TITLES",
    "MediaType",
    "outage_of",
    "problem",
    "unavailable",
]
