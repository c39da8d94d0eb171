"""Contact compliance through the API: refused calls name the rule and the next allowed time."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from domain.debtors.schemas import DebtorCreate
from tests.factories import SeededTenant

ZONE = "America/New_York"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(ZONE))


@pytest.fixture
async def account(tenant: SeededTenant):  # type: ignore[no-untyped-def]
    """An account whose debtor lives in New York."""
    return await tenant.account(
        owner_id=tenant.collector.id,
        debtor=DebtorCreate(
            first_name="Ny",
            last_name=f"Debtor{uuid.uuid4().hex[:6]}",
            phone="+12125550100",
            time_zone=ZONE,
        ),
    )


def day_before_yesterday() -> dt.date:
    return (dt.datetime.now(ZoneInfo(ZONE)) - dt.timedelta(days=2)).date()


async def insert_calls(
    tenant: SeededTenant, account, moments: list[dt.datetime], disposition: str
) -> None:  # type: ignore[no-untyped-def]
    async with tenant.db.tenant(tenant.id) as conn:
        for moment in moments:
            await conn.execute(
                """INSERT INTO interactions (tenant_id, account_id, debtor_id, channel, direction,
                  disposition, occurred_at) VALUES ($1, $2, $3, 'call', 'outbound', $4, $5)""",
                tenant.id,
                account.id,
                account.debtor_id,
                disposition,
                moment,
            )


async def log_call(client, tenant: SeededTenant, account, when: dt.datetime, **extra):  # type: ignore[no-untyped-def]
    body = {
        "channel": "call",
        "direction": "outbound",
        "disposition": "no_answer",
        "occurred_at": when.isoformat(),
        **extra,
    }
    return await client.post(
        f"/api/v1/accounts/{account.id}/interactions", json=body, headers=tenant.collector.headers
    )


async def test_the_eighth_call_attempt_in_seven_days_is_refused(client, tenant, account) -> None:
    day = day_before_yesterday()
    await insert_calls(
        tenant, account, [at(day - dt.timedelta(days=n), 10) for n in range(6, -1, -1)], "no_answer"
    )
    response = await log_call(client, tenant, account, at(day, 15))
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "urn:recoup:problem:contact-not-allowed"
    assert problem["rule"] == "call_frequency"
    # The oldest attempt leaves the 7-day window the next day, at the start of calling hours.
    assert dt.datetime.fromisoformat(problem["next_allowed_at"]) == at(
        day + dt.timedelta(days=1), 8
    )
    assert "7 call attempts in 7 consecutive days" in problem["detail"]


async def test_a_call_three_days_after_a_conversation_is_refused(client, tenant, account) -> None:
    day = day_before_yesterday()
    await insert_calls(tenant, account, [at(day - dt.timedelta(days=3), 11)], "right_party_contact")
    response = await log_call(client, tenant, account, at(day, 12))
    assert response.status_code == 409
    problem = response.json()
    assert problem["rule"] == "conversation_quiet_period"
    # The conversation's day is day 1, so calls open on day 8 at 08:00 debtor time.
    assert dt.datetime.fromisoformat(problem["next_allowed_at"]) == at(
        day + dt.timedelta(days=4), 8
    )


async def test_a_call_at_half_past_nine_in_the_evening_debtor_time_is_refused(
    client, tenant, account
) -> None:
    day = day_before_yesterday()
    response = await log_call(client, tenant, account, at(day, 21, 30))
    assert response.status_code == 409
    problem = response.json()
    assert problem["rule"] == "contact_hours"
    assert "21:30" in problem["detail"]
    assert dt.datetime.fromisoformat(problem["next_allowed_at"]) == at(
        day + dt.timedelta(days=1), 8
    )
    ok = await log_call(client, tenant, account, at(day, 20, 59))
    assert ok.status_code == 201


async def test_a_call_to_a_debtor_who_opted_out_is_refused(client, tenant, account) -> None:
    await client.patch(
        f"/api/v1/debtors/{account.debtor_id}",
        json={"opt_out_call": True},
        headers=tenant.admin.headers,
    )
    response = await log_call(client, tenant, account, at(day_before_yesterday(), 12))
    assert response.status_code == 409
    assert response.json()["rule"] == "opted_out"
    assert response.json()["next_allowed_at"] is None
    inbound = await log_call(
        client,
        tenant,
        account,
        at(day_before_yesterday(), 12),
        direction="inbound",
        disposition="right_party_contact",
    )
    assert inbound.status_code == 201  # the debtor may always call us


async def test_an_open_dispute_stops_every_channel(client, tenant, account) -> None:
    await client.post(
        f"/api/v1/accounts/{account.id}/status-changes",
        json={"status": "disputed", "reason": "not_mine"},
        headers=tenant.supervisor.headers,
    )
    status = (
        await client.get(
            f"/api/v1/accounts/{account.id}/contact-status", headers=tenant.collector.headers
        )
    ).json()
    assert {c["channel"]: c["allowed"] for c in status["channels"]} == {
        "call": False,
        "sms": False,
        "email": False,
        "letter": False,
    }
    assert all(c["reasons"][0]["rule"] == "dispute_open" for c in status["channels"])


async def test_contact_status_says_per_channel_why_and_when(client, tenant, account) -> None:
    await client.patch(
        f"/api/v1/debtors/{account.debtor_id}",
        json={"opt_out_email": True},
        headers=tenant.admin.headers,
    )
    status = (
        await client.get(
            f"/api/v1/accounts/{account.id}/contact-status", headers=tenant.collector.headers
        )
    ).json()
    assert status["time_zone"] == ZONE
    by_channel = {c["channel"]: c for c in status["channels"]}
    assert by_channel["email"]["allowed"] is False
    assert by_channel["email"]["reasons"][0]["rule"] == "opted_out"
    assert by_channel["letter"]["allowed"] is True
    local_now = dt.datetime.fromisoformat(status["debtor_local_time"])
    inside = dt.time(8) <= local_now.time() < dt.time(21)
    assert by_channel["call"]["allowed"] == inside
    if not inside:
        assert by_channel["call"]["opens_at"] is not None


async def test_stop_by_text_and_the_opt_out_link_are_honoured_at_once(
    client, settings, tenant, account
) -> None:
    day = day_before_yesterday()
    stop = await client.post(
        f"/api/v1/accounts/{account.id}/interactions",
        json={"channel": "sms", "direction": "inbound", "notes": " stop "},
        headers=tenant.collector.headers,
    )
    assert stop.status_code == 201
    debtor = (
        await client.get(f"/api/v1/debtors/{account.debtor_id}", headers=tenant.admin.headers)
    ).json()
    assert debtor["opt_out_sms"] is True
    sms = await client.post(
        f"/api/v1/accounts/{account.id}/interactions",
        json={"channel": "sms", "occurred_at": at(day, 12).isoformat()},
        headers=tenant.collector.headers,
    )
    assert sms.status_code == 409

    from domain.compliance.optout import optout_url

    url = optout_url("", settings.secret_key, tenant.id, account.debtor_id, "email")
    page = await client.get(url)
    assert page.status_code == 200
    assert "Stop e-mails" in page.text
    done = await client.post(url)
    assert done.status_code == 200
    debtor = (
        await client.get(f"/api/v1/debtors/{account.debtor_id}", headers=tenant.admin.headers)
    ).json()
    assert debtor["opt_out_email"] is True
    forged = await client.get(url[:-4] + "xxxx")
    assert forged.status_code == 404
