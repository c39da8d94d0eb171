"""Tenants and their settings as the API shows and accepts them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

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


ClockTime = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class ContactRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When a debtor may be contacted (Regulation F by default)."""

    max_calls_per_7_days: Annotated[int, msgspec.Meta(ge=1, le=100)] = 7
    quiet_days_after_conversation: Annotated[int, msgspec.Meta(ge=0, le=30)] = 7
    window_start: ClockTime = "08:00"
    window_end: ClockTime = "21:00"
    window_channels: tuple[str, ...] = ("call", "sms")


class PromiseRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a promise to pay may look like."""

    min_share_percent: Annotated[int, msgspec.Meta(ge=0, le=100)] = 10
    max_days_ahead: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 60
    max_instalments: Annotated[int, msgspec.Meta(ge=1, le=120)] = 6
    grace_days: Annotated[int, msgspec.Meta(ge=0, le=60)] = 3


class PaymentRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    hold_overpayment_as_credit: bool = False


class WorklistRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How long assigned work may wait unstarted, and what happens when a collector vanishes."""

    # Assigned work not started within this many minutes goes back to its queue.
    assignment_timeout_minutes: Annotated[int, msgspec.Meta(ge=1, le=10_080)] = 30
    # A collector whose sockets have all been gone this long becomes offline.
    offline_after_minutes: Annotated[int, msgspec.Meta(ge=1, le=1_440)] = 10
    # What happens to an offline collector's open tasks: kept, or returned to their queues.
    offline_tasks: Literal["keep", "return"] = "keep"
    # "Next task" takes another while one is under way; off: it gives back the one under way.
    parallel_tasks: bool = False


class StatsRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the wallboard measures the day against."""

    # Money to collect each day, per currency: {"USD": "5000.00"}.
    daily_targets: dict[str, Decimal] = msgspec.field(default_factory=dict)
    # A queue whose oldest waiting task has waited this long shows amber, then red.
    queue_age_warn_minutes: Annotated[int, msgspec.Meta(ge=1, le=10_080)] = 15
    queue_age_alert_minutes: Annotated[int, msgspec.Meta(ge=1, le=10_080)] = 60


class WebhookRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Plain http endpoints (to public addresses), for a development receiver; off: https only.
    allow_http: bool = False


Phone = Annotated[str, msgspec.Meta(max_length=32, pattern=r"^(\+?[0-9][0-9 ()./-]{3,30})?$")]
# Printable ASCII but quotes and angle brackets (and, in a path, backslash), spelled out:
# "\s" differs between Python and the JSON Schema (ECMA) reading of the same pattern, so a
# control character one of them takes as space the other would let through.
WebAddress = Annotated[str, msgspec.Meta(max_length=500, pattern=r"^(https://[!#-&(-;=?-~]+)?$")]
# A path on this server: the page loads nothing from elsewhere (its content policy).
OwnPath = Annotated[
    str,
    msgspec.Meta(max_length=500, pattern=r"^(/[A-Za-z0-9._~%!$&()*+,;=:@-][!#-&(-;=?-\[\]-~]*)?$"),
]


class Branding(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who the debtor deals with: the agency the payment page names, with how to reach it.

    Empty fields are not shown; an empty name shows the tenant's own name."""

    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    phone: Phone = ""
    # When the phone is answered, in words: "Monday to Friday, 8 am to 8 pm Eastern".
    hours: Annotated[str, msgspec.Meta(max_length=200)] = ""
    privacy_url: WebAddress = ""
    # The agency's logo, served by Recoup (for example under /static/).
    logo_url: OwnPath = ""


class TenantSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    buckets: tuple[Bucket, ...] = DEFAULT_BUCKETS
    contact: ContactRules = ContactRules()
    promises: PromiseRules = PromiseRules()
    payments: PaymentRules = PaymentRules()
    worklist: WorklistRules = WorklistRules()
    stats: StatsRules = msgspec.field(default_factory=StatsRules)
    webhooks: WebhookRules = WebhookRules()
    branding: Branding = Branding()


class Tenant(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    slug: str
    name: str
    time_zone: str
    settings: TenantSettings
    # Bumped by every change: what a process holds is confirmed against it (domain/db.py).
    version: int
    created_at: dt.datetime


def to_tenant(row: Mapping[str, Any]) -> Tenant:
    return Tenant(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        time_zone=row["time_zone"],
        settings=msgspec.convert(row["settings"] or {}, TenantSettings),
        version=row["version"],
        created_at=row["created_at"],
    )


def local_today(tenant: Tenant, now: dt.datetime) -> dt.date:
    """Today's date where the tenant works, which is what days past due count in."""
    return now.astimezone(ZoneInfo(tenant.time_zone)).date()


class TenantUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    time_zone: str | msgspec.UnsetType = msgspec.UNSET
    buckets: list[Bucket] | msgspec.UnsetType = msgspec.UNSET
    contact: ContactRules | msgspec.UnsetType = msgspec.UNSET
    promises: PromiseRules | msgspec.UnsetType = msgspec.UNSET
    payments: PaymentRules | msgspec.UnsetType = msgspec.UNSET
    worklist: WorklistRules | msgspec.UnsetType = msgspec.UNSET
    stats: StatsRules | msgspec.UnsetType = msgspec.UNSET
    webhooks: WebhookRules | msgspec.UnsetType = msgspec.UNSET
    branding: Branding | msgspec.UnsetType = msgspec.UNSET
