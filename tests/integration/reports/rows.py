"""Rows for the report tests, counted by hand: accounts, payments, promises and work at
known instants in the tenant's time zone; the report routes; a tenant with none."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.factories import SeededTenant

API = "/api/v1/reports"
NEW_YORK = ZoneInfo("America/New_York")
TICK = dt.timedelta(microseconds=1)
ROUTES = [
    "aging",
    "aging.csv",
    "liquidation",
    "liquidation.csv",
    "promises",
    "promises.csv",
    "collectors",
    "collectors.csv",
]


def ny(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


class Rows:
    """Rows of one tenant written straight into its tables."""

    def __init__(self, tenant: SeededTenant) -> None:
        self.tenant = tenant

    async def run(self, sql: str, *args: Any) -> Any:
        async with self.tenant.db.tenant(self.tenant.id) as conn:
            return await conn.fetchval(sql, *args)

    async def account(self, *, placed: dt.datetime | None = None, **values: Any) -> tuple[int, int]:
        account = await self.tenant.account(**values)
        if placed is not None:
            await self.run("UPDATE accounts SET created_at = $1 WHERE id = $2", placed, account.id)
        return account.id, account.debtor_id

    async def payment(
        self,
        account_id: int,
        amount: str,
        at: dt.datetime,
        *,
        currency: str = "USD",
        status: str = "succeeded",
        by: int | None = None,
    ) -> None:
        await self.run(
            """INSERT INTO payments (tenant_id, account_id, amount, currency, status, method,
              source, created_by, received_at)
            VALUES ($1, $2, $3, $4, $5, 'cash', 'staff', $6, $7)""",
            self.tenant.id,
            account_id,
            Decimal(amount),
            currency,
            status,
            by,
            at,
        )

    async def promise(
        self, account_id: int, made: dt.datetime, status: str, *, by: int | None = None
    ) -> None:
        await self.run(
            """INSERT INTO promises (tenant_id, account_id, amount, currency, due_date, status,
              created_by, created_at)
            VALUES ($1, $2, 10, 'USD', $3, $4, $5, $6)""",
            self.tenant.id,
            account_id,
            made.date() + dt.timedelta(days=7),
            status,
            by,
            made,
        )

    async def call(
        self,
        account: tuple[int, int],
        at: dt.datetime,
        disposition: str | None,
        *,
        by: int,
        direction: str = "outbound",
        channel: str = "call",
    ) -> None:
        await self.run(
            """INSERT INTO interactions (tenant_id, account_id, debtor_id, user_id, channel,
              direction, disposition, occurred_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            self.tenant.id,
            *account,
            by,
            channel,
            direction,
            disposition,
            at,
        )

    async def task(
        self,
        account_id: int,
        by: int,
        started: dt.datetime | None,
        completed: dt.datetime,
        status: str = "completed",
    ) -> None:
        await self.run(
            """INSERT INTO tasks (tenant_id, account_id, status, assignee_id, started_at,
              completed_at)
            VALUES ($1, $2, $3, $4, $5, $6)""",
            self.tenant.id,
            account_id,
            status,
            by,
            started,
            completed,
        )


async def in_zone(client: httpx.AsyncClient, tenant: SeededTenant, zone: str) -> None:
    changed = await client.patch(
        "/api/v1/tenant", json={"time_zone": zone}, headers=tenant.admin.headers
    )
    assert changed.status_code == 200, changed.text


async def report(
    client: httpx.AsyncClient, tenant: SeededTenant, name: str, **params: Any
) -> tuple[dict[str, Any], list[list[str]]]:
    """The report as JSON and its CSV, parsed."""
    got = await client.get(f"{API}/{name}", params=params, headers=tenant.supervisor.headers)
    assert got.status_code == 200, got.text
    sheet = await client.get(f"{API}/{name}.csv", params=params, headers=tenant.supervisor.headers)
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8"
    assert sheet.headers["content-disposition"].startswith("attachment; filename=")
    assert sheet.text.endswith("\r\n")
    return got.json(), list(csv.reader(io.StringIO(sheet.text)))


def local_today_unlike_utc() -> tuple[str, dt.date]:
    """A time zone whose date is not UTC's right now, and its date."""
    now = dt.datetime.now(dt.UTC)
    zone = "Etc/GMT-14" if now.hour >= 12 else "Etc/GMT+12"
    today = now.astimezone(ZoneInfo(zone)).date()
    assert today != now.date()
    return zone, today
