"""Contact rules at their edges, through the API and the service with a fixed clock: the
minute calling hours open and close, the last day of a quiet period, and a cease request
that stops every channel but letters."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from domain.compliance.service import account_status
from domain.debtors.schemas import DebtorCreate
from tests.factories import SeededTenant
from tests.integration.test_compliance import insert_calls

ZONE = "America/New_York"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(ZONE))


def yesterday() -> dt.date:
    """A past day in New York (calls are logged after the fact, never ahead of now)."""
    return (dt.datetime.now(ZoneInfo(ZONE)) - dt.timedelta(days=1)).date()


@pytest.fixture
async def account(tenant: SeededTenant):  # type: ignore[no-untyped-def]
    return await tenant.account(
        owner_id=tenant.collector.id,
        debtor=DebtorCreate(
            first_name="Ny",
            last_name=f"Debtor{uuid.uuid4().hex[:6]}",
            phone="+12125550100",
            email="ny@example.com",
            time_zone=ZONE,
        ),
    )


async def contact(client, tenant: SeededTenant, account, channel: str, when: dt.datetime):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/accounts/{account.id}/interactions",
        json={"channel": channel, "direction": "outbound", "occurred_at": when.isoformat()},
        headers=tenant.collector.headers,
    )


@pytest.mark.parametrize("channel", ["call", "sms"])
@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False), (21, 1, False)],
    ids=["07:59", "08:00", "20:59", "21:00", "21:01"],
)
async def test_calls_and_texts_from_eight_until_before_nine_debtor_time(
    client, tenant: SeededTenant, account, channel: str, hour: int, minute: int, allowed: bool
) -> None:
    response = await contact(client, tenant, account, channel, at(yesterday(), hour, minute))
    if allowed:
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["rule"] == "contact_hours"
    opens = yesterday() + dt.timedelta(days=1 if hour >= 21 else 0)
    assert dt.datetime.fromisoformat(problem["next_allowed_at"]) == at(opens, 8)


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False)],
    ids=["07:59", "08:00", "20:59", "21:00"],
)
async def test_contact_status_with_a_fixed_clock(
    tenant: SeededTenant, account, hour: int, minute: int, allowed: bool
) -> None:
    now = at(dt.date(2026, 7, 15), hour, minute).astimezone(dt.UTC)
    async with tenant.db.tenant(tenant.id) as conn:
        status = await account_status(conn, tenant.collector.actor, account.id, lambda: now)
    by_channel = {c.channel: c for c in status.channels}
    assert (by_channel["call"].allowed, by_channel["sms"].allowed) == (allowed, allowed)
    assert by_channel["email"].allowed
    assert status.debtor_local_time.strftime("%H:%M") == f"{hour:02d}:{minute:02d}"


async def test_the_last_day_of_a_quiet_period_is_quiet_and_the_next_is_not(
    client, tenant: SeededTenant, account
) -> None:
    after = yesterday()  # day 8: calls open again
    spoke = after - dt.timedelta(days=7)  # day 1, the conversation's day
    await insert_calls(tenant, account, [at(spoke, 20, 30)], "right_party_contact")
    last = await contact(client, tenant, account, "call", at(after - dt.timedelta(days=1), 20, 59))
    assert last.status_code == 409, last.text
    assert last.json()["rule"] == "conversation_quiet_period"
    assert dt.datetime.fromisoformat(last.json()["next_allowed_at"]) == at(after, 8)
    first = await contact(client, tenant, account, "call", at(after, 8))
    assert first.status_code == 201, first.text


async def test_a_cease_request_stops_calls_texts_and_emails_but_not_letters(
    client, tenant: SeededTenant, account
) -> None:
    ceased = await client.patch(
        f"/api/v1/debtors/{account.debtor_id}",
        json={"cease_requested": True},
        headers=tenant.admin.headers,
    )
    assert ceased.status_code == 200, ceased.text
    noon = at(yesterday(), 12)
    for channel in ("call", "sms", "email"):
        response = await contact(client, tenant, account, channel, noon)
        assert response.status_code == 409, (channel, response.text)
        assert response.json()["rule"] == "cease_requested"
        assert response.json()["next_allowed_at"] is None
    assert (await contact(client, tenant, account, "letter", noon)).status_code == 201
    status = (
        await client.get(
            f"/api/v1/accounts/{account.id}/contact-status", headers=tenant.collector.headers
        )
    ).json()
    by_channel = {c["channel"]: c for c in status["channels"]}
    assert {c: by_channel[c]["allowed"] for c in by_channel} == {
        "call": False,
        "sms": False,
        "email": False,
        "letter": True,
    }
    for channel in ("call", "sms", "email"):
        assert "cease_requested" in {r["rule"] for r in by_channel[channel]["reasons"]}
        assert by_channel[channel]["opens_at"] is None
