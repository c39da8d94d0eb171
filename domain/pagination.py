"""Cursor pagination: ``{"items": [...], "next_cursor": "..."}``, cursors opaque to clients."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Generic, TypeVar, cast

import msgspec

from domain.errors import InvalidInput
from domain.validation import INT64_MAX, INT64_MIN

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_NOT_OURS = "cursor is not one this API gave out"


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).rstrip(b"=").decode()


def decode_cursor(cursor: str, types: type[T]) -> T:
    """Decode a cursor into ``types`` (a tuple type such as ``tuple[int]``); its integers
    are ids, so one a bigint cannot hold was never given out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw, type=types)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput(_NOT_OURS, field="cursor") from None
    values = cast(tuple[Any, ...], key)
    if any(isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX for v in values):
        raise InvalidInput(_NOT_OURS, field="cursor")
    return key


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


def page(rows: list[T], limit: int, key: Any) -> Page[T]:
    """Build a page from ``limit + 1`` fetched rows; ``key`` maps the last item to its cursor."""
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items=items, next_cursor=encode_cursor(*key(items[-1])) if more and items else None)
