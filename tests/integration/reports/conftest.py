"""The report tests' tenants: one with nothing but what a test writes, and another
tenant's rows that no report may count."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import SeededTenant, TenantFactory
from tests.integration.reports.rows import Rows, ny


@pytest.fixture
async def bare(tenants: TenantFactory) -> SeededTenant:
    return await tenants.new(with_accounts=False)


@pytest.fixture
async def stranger(tenants: TenantFactory) -> Rows:
    """Another tenant with a row of every kind inside every period below."""
    other = await tenants.new(with_accounts=False)
    rows = Rows(other)
    account = await rows.account(placed=ny(2026, 9, 15), due_date=dt.date(2020, 1, 1))
    agent = other.collector.id
    for at in (ny(2026, 9, 15, 12), ny(2026, 10, 2, 12), ny(2026, 10, 15, 12)):
        await rows.payment(account[0], "1000.00", at, by=agent)
        await rows.promise(account[0], at, "kept", by=agent)
        await rows.call(account, at, "right_party_contact", by=agent)
        await rows.task(account[0], agent, at - dt.timedelta(hours=1), at)
    return rows
