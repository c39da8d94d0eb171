"""Who may read the supervisor's reports, and what a period and a step may be: exact
statuses on both sides of every limit, the problem naming the parameter as it was sent."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import SeededTenant
from tests.integration.reports.rows import API, ROUTES


@pytest.mark.parametrize("name", ROUTES)
async def test_collectors_and_readonly_users_may_not_read_reports(
    client: httpx.AsyncClient, tenant: SeededTenant, name: str
) -> None:
    for user in (tenant.collector, tenant.readonly):
        got = await client.get(f"{API}/{name}", headers=user.headers)
        assert got.status_code == 403, got.text
    assert (await client.get(f"{API}/{name}", headers=tenant.admin.headers)).status_code == 200


@pytest.mark.parametrize("name", [r for r in ROUTES if not r.startswith("aging")])
@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2026-10-15", "to": "2026-10-15"}, 200),
        ({"from": "2026-10-16", "to": "2026-10-15"}, 422),
        ({"from": "2025-01-01", "to": "2026-12-31"}, 200),  # 730 days
        ({"from": "2024-12-31", "to": "2026-12-31"}, 200),  # 731 days
        ({"from": "2024-12-30", "to": "2026-12-31"}, 422),  # 732 days
        ({"from": "2000-01-01", "to": "2000-01-01"}, 200),
        ({"from": "1999-12-31", "to": "2000-01-01"}, 422),
        ({"from": "2099-12-31", "to": "2099-12-31"}, 200),
        ({"from": "2099-12-31", "to": "2100-01-01"}, 422),
        ({"from": "2026-02-30", "to": "2026-03-01"}, 422),
        ({"from": "yesterday"}, 422),
        ({"from": "2999-01-01"}, 422),  # after today, its default
    ],
)
async def test_a_period_must_be_real_in_order_and_at_most_731_days(
    client: httpx.AsyncClient, tenant: SeededTenant, name: str, params: dict, status: int
) -> None:
    got = await client.get(f"{API}/{name}", params=params, headers=tenant.supervisor.headers)
    assert got.status_code == status, got.text
    if status == 422:
        assert got.headers["content-type"] == "application/problem+json"
        # The problem names a parameter as the client sent it.
        assert got.json()["field"] in params, got.text


@pytest.mark.parametrize("name", ["promises", "promises.csv"])
async def test_promises_step_is_a_month_or_a_week(
    client: httpx.AsyncClient, tenant: SeededTenant, name: str
) -> None:
    for by, status in (("week", 200), ("month", 200), ("day", 422), ("", 422)):
        got = await client.get(
            f"{API}/{name}", params={"by": by}, headers=tenant.supervisor.headers
        )
        assert got.status_code == status, (by, got.text)
