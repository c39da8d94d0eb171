"""Cursor pagination: ``{"items": [...], "next_cursor": "..."}``, cursors opaque to clients."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast, get_args

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


def encode_cursor(*key: Any, tenant_id: int | None = None) -> str:
    """A cursor of ``key``; with ``tenant_id``, one good only for that tenant."""
    if tenant_id is not None:
        key = (tenant_id, *key)
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).rstrip(b"=").decode()


def decode_cursor(cursor: str, types: type[T], *, tenant_id: int | None = None) -> T:
    """Decode a cursor into ``types`` (a tuple type such as ``tuple[int]``); its integers
    are ids, so one a bigint cannot hold was never given out. With ``tenant_id``, the cursor
    must have been given to that tenant (``encode_cursor(..., tenant_id=)``): another
    tenant's is refused as one this API did not give out."""
    full: Any = tuple[(int, *get_args(types))] if tenant_id is not None else types
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw, type=full)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput(_NOT_OURS, field="cursor") from None
    values = cast(tuple[Any, ...], key)
    if any(isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX for v in values):
        raise InvalidInput(_NOT_OURS, field="cursor")
    if tenant_id is not None:
        if values[0] != tenant_id:
            raise InvalidInput(_NOT_OURS, field="cursor")
        return cast(T, values[1:])
    return key


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


def page(rows: list[T], limit: int, key: Any, *, tenant_id: int | None = None) -> Page[T]:
    """Build a page from ``limit + 1`` fetched rows; ``key`` maps the last item to its cursor
    (good only for ``tenant_id``, when given)."""
    more = len(rows) > limit
    items = rows[:limit]
    if not (more and items):
        return Page(items=items, next_cursor=None)
    return Page(items=items, next_cursor=encode_cursor(*key(items[-1]), tenant_id=tenant_id))


def decode_tenant_cursor(cursor: str, tenant_id: int, types: type[T]) -> T:
    """The key of a cursor given out to ``tenant_id`` (``types`` starts with that id): a
    cursor another tenant was given is refused as one this API did not give out."""
    key = decode_cursor(cursor, types)
    if cast(tuple[Any, ...], key)[0] != tenant_id:
        raise InvalidInput(_NOT_OURS, field="cursor")
    return key


def page_in_order(
    items: list[T],
    *,
    tenant_id: int,
    cursor: str | None,
    limit: int,
    key: Callable[[T], int] = lambda item: item.id,  # type: ignore[attr-defined]
    max_limit: int = MAX_LIMIT,
) -> Page[T]:
    """A page of a short list read whole in its own order (a tenant's groups, queues, rules,
    keys...). The cursor names the tenant, the last item given and how many were given: the
    next page starts right after that item wherever it now is, or at the same count when it
    is gone; a cursor another tenant was given is refused."""
    if not 1 <= limit <= max_limit:
        raise InvalidInput(f"limit must be between 1 and {max_limit}", field="limit")
    start = 0
    if cursor:
        _, last, given = decode_tenant_cursor(cursor, tenant_id, tuple[int, int, int])
        ids = [key(item) for item in items]
        start = ids.index(last) + 1 if last in ids else min(max(given, 0), len(items))
    chunk = items[start : start + limit]
    more = start + len(chunk) < len(items)
    return Page(
        items=chunk,
        next_cursor=encode_cursor(tenant_id, key(chunk[-1]), start + len(chunk)) if more else None,
    )
