"""Tenants and their settings: time zone and delinquency buckets."""

from __future__ import annotations

import datetime as dt
import re
from itertools import pairwise
from typing import Any

import asyncpg
import msgspec

from domain.actor import Actor, system_actor
from domain.db import Connection
from domain.errors import Conflict, InvalidInput, NotFound
from domain.outbox.service import ChangeRecorder
from domain.tenancy import queries
from domain.tenancy.schemas import Bucket, ContactRules, Tenant, TenantSettings, TenantUpdate
from domain.validation import check_time_zone

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def to_tenant(row: asyncpg.Record) -> Tenant:
    return Tenant(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        time_zone=row["time_zone"],
        settings=msgspec.convert(row["settings"] or {}, TenantSettings),
        created_at=row["created_at"],
    )


def check_buckets(buckets: list[Bucket] | tuple[Bucket, ...]) -> tuple[Bucket, ...]:
    """Buckets must start at 0, follow each other without gap or overlap, and end open."""
    if not buckets:
        raise InvalidInput("at least one bucket is needed", field="buckets")
    ordered = sorted(buckets, key=lambda b: b.min_days)
    if ordered[0].min_days != 0:
        raise InvalidInput("the first bucket must start at 0 days past due", field="buckets")
    names = [b.name for b in ordered]
    if len(set(names)) != len(names):
        raise InvalidInput("bucket names must be unique", field="buckets")
    for before, after in pairwise(ordered):
        if before.max_days is None or before.max_days + 1 != after.min_days:
            raise InvalidInput(
                f"bucket {after.name!r} must start the day after {before.name!r} ends",
                field="buckets",
            )
        if after.max_days is not None and after.max_days < after.min_days:
            raise InvalidInput(f"bucket {after.name!r} ends before it starts", field="buckets")
    if ordered[-1].max_days is not None:
        raise InvalidInput("the last bucket must have no upper bound", field="buckets")
    return tuple(ordered)


def check_contact_rules(rules: ContactRules) -> None:
    if rules.window_start >= rules.window_end:
        raise InvalidInput("window_start must come before window_end", field="contact.window_start")
    unknown = set(rules.window_channels) - {"call", "sms", "email", "letter"}
    if unknown:
        raise InvalidInput(
            f"unknown channels: {', '.join(sorted(unknown))}", field="contact.window_channels"
        )


def local_today(tenant: Tenant, now: dt.datetime) -> dt.date:
    """Today's date where the tenant works, which is what days past due count in."""
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(tenant.time_zone)).date()


class TenantService:
    def __init__(self, conn: Connection, actor: Actor) -> None:
        self.conn = conn
        self.actor = actor

    async def current(self) -> Tenant:
        row = await queries.current(self.conn)
        if row is None:
            raise NotFound("tenant not found")
        return to_tenant(row)

    async def update(self, data: TenantUpdate) -> Tenant:
        before = await self.current()
        changes: dict[str, Any] = {}
        if data.name is not msgspec.UNSET:
            changes["name"] = data.name
        if data.time_zone is not msgspec.UNSET:
            changes["time_zone"] = check_time_zone(data.time_zone)
        settings = before.settings
        if data.buckets is not msgspec.UNSET:
            settings = msgspec.structs.replace(settings, buckets=check_buckets(data.buckets))
        for part in ("contact", "promises", "payments", "worklist"):
            value = getattr(data, part)
            if value is not msgspec.UNSET:
                settings = msgspec.structs.replace(settings, **{part: value})
        if data.contact is not msgspec.UNSET:
            check_contact_rules(data.contact)
        if settings is not before.settings:
            changes["settings"] = msgspec.to_builtins(settings)
        if not changes:
            return before
        after = to_tenant(await queries.update(self.conn, before.id, changes))
        await ChangeRecorder(self.conn, self.actor).record(
            action="tenant.update",
            entity_type="tenant",
            entity_id=after.id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type="tenant.updated",
            data=msgspec.to_builtins(after),
        )
        return after


async def create_tenant(
    conn: Connection,
    *,
    slug: str,
    name: str,
    time_zone: str = "UTC",
    settings: TenantSettings | None = None,
) -> Tenant:
    """Create a tenant (a system-role transaction: there is no tenant yet to be inside of)."""
    if not _SLUG.match(slug):
        raise InvalidInput("slug must be lower-case letters, digits and dashes", field="slug")
    check_time_zone(time_zone)
    settings = settings or TenantSettings()
    check_buckets(settings.buckets)
    if await queries.by_slug(conn, slug) is not None:
        raise Conflict(f"a tenant {slug!r} already exists", field="slug")
    tenant = to_tenant(
        await queries.insert(conn, slug, name, time_zone, msgspec.to_builtins(settings))
    )
    await ChangeRecorder(conn, system_actor(tenant.id)).record(
        action="tenant.create",
        entity_type="tenant",
        entity_id=tenant.id,
        before=None,
        after=msgspec.to_builtins(tenant),
        event_type="tenant.created",
    )
    return tenant
