"""Tenants and their settings: time zone and delinquency buckets."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import pairwise
from typing import Any

import msgspec

from channels import names
from domain.actor import system_actor
from domain.db import Connection, forget_tenant
from domain.errors import Conflict, InvalidInput
from domain.money import check_amount, check_currency
from domain.outbox import events
from domain.outbox.service import ChangeRecorder
from domain.service import Service
from domain.tenancy import queries
from domain.tenancy.schemas import (
    Bucket,
    ContactRules,
    Tenant,
    TenantSettings,
    TenantUpdate,
    to_tenant,
)
from domain.validation import check_time_zone

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# The parts of the settings an update replaces whole, each when sent.
SETTINGS_PARTS = ("contact", "promises", "payments", "worklist", "stats", "webhooks", "branding")


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
        raise InvalidInput(
            f"contact hours must start before they end: {rules.window_start} is not before "
            f"{rules.window_end}",
            field="contact.window_start",
        )
    unknown = set(rules.window_channels) - {"call", "sms", "email", "letter"}
    if unknown:
        raise InvalidInput(
            f"unknown channels: {', '.join(sorted(unknown))}", field="contact.window_channels"
        )


def check_targets(targets: dict[str, Decimal]) -> dict[str, Decimal]:
    """Daily targets in currencies in use, each a positive amount of that currency (with
    its decimals)."""
    if len(targets) > 50:
        raise InvalidInput("at most 50 daily targets", field="stats.daily_targets")
    checked = {}
    for currency, amount in sorted(targets.items()):
        field = f"stats.daily_targets.{currency}"
        check_currency(currency, field=field)
        checked[currency] = check_amount(amount, currency, field=field, positive=True)
    return checked


class TenantService(Service):
    async def current(self) -> Tenant:
        return await self.tenant()

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
        for part in SETTINGS_PARTS:
            value = getattr(data, part)
            if value is not msgspec.UNSET:
                settings = msgspec.structs.replace(settings, **{part: value})
        if data.contact is not msgspec.UNSET:
            check_contact_rules(data.contact)
        if data.stats is not msgspec.UNSET:
            targets = check_targets(data.stats.daily_targets)
            if data.stats.queue_age_alert_minutes <= data.stats.queue_age_warn_minutes:
                raise InvalidInput(
                    "the red threshold must be longer than the amber one",
                    field="stats.queue_age_alert_minutes",
                )
            settings = msgspec.structs.replace(
                settings, stats=msgspec.structs.replace(data.stats, daily_targets=targets)
            )
        if settings is not before.settings:
            changes["settings"] = msgspec.to_builtins(settings)
        if not changes:
            return before
        after = to_tenant(await queries.update(self.conn, before.id, changes))
        forget_tenant(self.conn, after.id)
        self.knows_tenant(after)
        await self.changes.record(
            action="tenant.update",
            entity_type="tenant",
            entity_id=after.id,
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
            event_type=events.TENANT_UPDATED,
            channels=[names.TENANT],
            data=msgspec.to_builtins(after),
        )
        if (after.time_zone, after.settings.contact) != (before.time_zone, before.settings.contact):
            agents = await queries.active_user_ids(self.conn)
            if agents:
                await self.changes.event(
                    events.CONTACT_RULES_CHANGED,
                    [names.agent(user_id) for user_id in agents],
                    {
                        "time_zone": after.time_zone,
                        "contact": msgspec.to_builtins(after.settings.contact),
                    },
                )
        return after


async def create_tenant(
    conn: Connection,
    *,
    slug: str,
    name: str,
    time_zone: str = "UTC",
    settings: TenantSettings | None = None,
    defaults: bool = True,
) -> Tenant:
    """Create a tenant (a system-role transaction: there is no tenant yet to be inside of).

    ``defaults``: with the shipped workflows and their templates (``domain.workflows.
    defaults``), enabled. Tests that count messages, tasks or interactions start without."""
    if not _SLUG.fullmatch(slug):
        raise InvalidInput(
            "slug must be 1 to 63 lower-case letters, digits and dashes, not starting with a dash",
            field="slug",
        )
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
        event_type=events.TENANT_CREATED,
        channels=[names.TENANT],
    )
    if defaults:
        # Imported here: workflows build on the services that build on tenancy.
        from domain.workflows import defaults as shipped

        await shipped.install(conn, tenant)
    return tenant


async def all_tenant_ids(conn: Connection) -> list[int]:
    """Every tenant's id, for jobs that visit each in turn (a system-role transaction)."""
    return await queries.all_ids(conn)


async def tenant_id_by_slug(conn: Connection, slug: str) -> int | None:
    """A tenant's id from its slug (a system-role transaction), None when there is none."""
    row = await queries.by_slug(conn, slug)
    return row["id"] if row is not None else None
