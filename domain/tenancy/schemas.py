from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
Days = Annotated[int, msgspec.Meta(ge=0, le=100_000)]


class Bucket(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A delinquency bucket: accounts whose days past due fall in [min_days, max_days]."""

    name: Name
    min_days: Days
    max_days: Days | None = None

    def contains(self, days: int) -> bool:
        return days >= self.min_days and (self.max_days is None or days <= self.max_days)


DEFAULT_BUCKETS: tuple[Bucket, ...] = (
    Bucket("current", 0, 0),
    Bucket("1-30", 1, 30),
    Bucket("31-60", 31, 60),
    Bucket("61-90", 61, 90),
    Bucket("90+", 91, None),
)


class TenantSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS


class Tenant(msgspec.Struct, kw_only=True):
    id: int
    slug: str
    name: str
    time_zone: str
    settings: TenantSettings
    created_at: dt.datetime


class TenantUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    time_zone: str | msgspec.UnsetType = msgspec.UNSET
    buckets: list[Bucket] | msgspec.UnsetType = msgspec.UNSET
