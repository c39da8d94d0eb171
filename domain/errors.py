"""One error family for the domain; ``server`` turns each into an RFC 9457 problem document."""

from __future__ import annotations

from typing import Any, ClassVar


class RecoupError(Exception):
    """A failure a client can understand and act on."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra
        self.headers: dict[str, str] = {}

    @property
    def type(self) -> str:
        return f"urn:recoup:problem:{self.slug}"


class InvalidInput(RecoupError):
    status = 422
    slug = "invalid-input"
    title = "The request is not valid"


class NotFound(RecoupError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(RecoupError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class Unauthenticated(RecoupError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = "Bearer"


class Forbidden(RecoupError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class RateLimited(RecoupError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.headers["Retry-After"] = str(retry_after)


class UnsupportedMediaType(RecoupError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"
