"""Contact rules at their edges, through the API and the service with a fixed clock: the
minute calling hours open and close, the last day of a quiet period, and a cease request
that stops every channel but letters."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from domain.compliance.optout import PURPOSE
from domain.compliance.service import account_status, decision, decisions
from domain.debtors.schemas import DebtorCreate
from domain.errors import NotFound
from domain.signing import sign
from domain.tenancy.schemas import ContactRules
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
    window = (status.window_start, status.window_end, status.window_channels)
    assert window == ("08:00", "21:00", ["call", "sms"])


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


async def test_a_refused_call_names_the_field_every_rule_and_when_it_opens(
    client, tenant: SeededTenant, account
) -> None:
    day = yesterday()
    response = await contact(client, tenant, account, "call", at(day, 21, 30))
    assert response.status_code == 409, response.text
    problem = response.json()
    opens = at(day + dt.timedelta(days=1), 8).astimezone(dt.UTC)
    next_day = day + dt.timedelta(days=1)
    detail = (
        "call not allowed: call only between 08:00 and 21:00 debtor time (it is 21:30 there)"
        f"; next allowed {next_day:%a} {next_day.day} {next_day:%b %Y} 08:00"
        " debtor time (America/New_York)"
    )
    assert problem["detail"] == detail
    assert problem["field"] == "channel"
    assert problem["errors"] == [{"field": "channel", "message": detail}]
    assert problem["rules"] == ["contact_hours"]
    assert problem["next_allowed_at"] == opens.isoformat()


async def test_a_block_only_a_person_can_lift_says_so_and_lists_every_rule(
    client, tenant: SeededTenant, account
) -> None:
    disputed = await client.post(
        f"/api/v1/accounts/{account.id}/status-changes",
        json={"status": "disputed", "reason": "not_mine"},
        headers=tenant.supervisor.headers,
    )
    assert disputed.status_code == 200, disputed.text
    response = await contact(client, tenant, account, "call", at(yesterday(), 21, 30))
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["detail"] == (
        "call not allowed: contact is paused while a dispute is open"
        "; it stays closed until the block is lifted"
    )
    assert problem["field"] == "channel"
    assert problem["rule"] == "dispute_open"
    assert problem["rules"] == ["dispute_open", "contact_hours"]
    assert problem["next_allowed_at"] is None


async def test_the_seventh_call_in_seven_days_is_logged_and_the_eighth_refused(
    client, tenant: SeededTenant, account
) -> None:
    day = yesterday()
    # Seven days back is outside the window; the six days before this one are in it.
    await insert_calls(
        tenant, account, [at(day - dt.timedelta(days=n), 10) for n in range(7, 0, -1)], "no_answer"
    )
    seventh = await contact(client, tenant, account, "call", at(day, 10))
    assert seventh.status_code == 201, seventh.text
    eighth = await contact(client, tenant, account, "call", at(day, 11))
    assert eighth.status_code == 409, eighth.text
    assert eighth.json()["rules"] == ["call_frequency"]
    assert dt.datetime.fromisoformat(eighth.json()["next_allowed_at"]) == at(
        day + dt.timedelta(days=1), 8
    )


async def test_email_has_no_hours_but_a_text_at_the_same_minute_is_refused(
    client, tenant: SeededTenant, account
) -> None:
    late = at(yesterday(), 23)
    assert (await contact(client, tenant, account, "email", late)).status_code == 201
    sms = await contact(client, tenant, account, "sms", late)
    assert sms.status_code == 409, sms.text
    assert sms.json()["rule"] == "contact_hours"


async def test_do_not_contact_shows_on_every_channel_but_letters(
    client, tenant: SeededTenant, account
) -> None:
    marked = await client.patch(
        f"/api/v1/debtors/{account.debtor_id}",
        json={"do_not_contact": True},
        headers=tenant.admin.headers,
    )
    assert marked.status_code == 200, marked.text
    response = await client.get(
        f"/api/v1/accounts/{account.id}/contact-status", headers=tenant.collector.headers
    )
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["account_id"] == account.id
    by_channel = {c["channel"]: c for c in status["channels"]}
    assert list(by_channel) == ["call", "sms", "email", "letter"]
    for channel in ("call", "sms", "email"):
        assert by_channel[channel]["allowed"] is False
        assert by_channel[channel]["reasons"][0] == {
            "rule": "do_not_contact",
            "message": "the debtor is marked do-not-contact",
        }
        assert by_channel[channel]["opens_at"] is None
    assert by_channel["letter"] == {
        "channel": "letter",
        "allowed": True,
        "reasons": [],
        "opens_at": None,
    }
    email = await contact(client, tenant, account, "email", at(yesterday(), 12))
    assert email.status_code == 409, email.text
    assert email.json()["rule"] == "do_not_contact"


async def test_contact_status_before_hours_says_why_and_when(tenant: SeededTenant, account) -> None:
    day = dt.date(2026, 7, 15)
    now = at(day, 7, 59).astimezone(dt.UTC)
    async with tenant.db.tenant(tenant.id) as conn:
        status = await account_status(conn, tenant.collector.actor, account.id, lambda: now)
    assert status.account_id == account.id
    assert status.time_zone == ZONE
    by_channel = {c.channel: c for c in status.channels}
    for channel in ("call", "sms"):
        assert by_channel[channel].reasons == [
            {
                "rule": "contact_hours",
                "message": f"{channel} only between 08:00 and 21:00 debtor time (it is 07:59 there)",
            }
        ]
        assert by_channel[channel].opens_at == at(day, 8)
    assert (by_channel["email"].allowed, by_channel["email"].opens_at) == (True, None)


async def test_the_decision_for_an_account_that_is_not_there_is_not_found(
    tenant: SeededTenant,
) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        with pytest.raises(NotFound) as missing:
            await decision(conn, 0, "call", dt.datetime.now(dt.UTC), ContactRules())
    assert missing.value.detail == "account 0 not found"


async def test_a_signed_link_for_letters_is_not_an_opt_out_link(
    client, settings, tenant: SeededTenant, account
) -> None:
    token = sign(settings.secret_key, PURPOSE, [tenant.id, account.debtor_id, "letter"])
    page = await client.get(f"/optout/{token}")
    assert page.status_code == 404
    assert "this link is not valid" in page.text


async def test_contact_status_and_a_batch_decision_count_the_call_history(
    tenant: SeededTenant, account
) -> None:
    spoke, now = dt.date(2026, 7, 14), at(dt.date(2026, 7, 15), 12).astimezone(dt.UTC)
    await insert_calls(tenant, account, [at(spoke, 10)], "promise")
    async with tenant.db.tenant(tenant.id) as conn:
        status = await account_status(conn, tenant.collector.actor, account.id, lambda: now)
        batch = await decisions(conn, [account.id], "call", now, ContactRules())
        assert await decisions(conn, [], "call", now, ContactRules()) == {}
    call = next(c for c in status.channels if c.channel == "call")
    assert [r["rule"] for r in call.reasons] == ["conversation_quiet_period"]
    assert call.opens_at == at(spoke + dt.timedelta(days=7), 8)
    assert list(batch) == [account.id]
    assert [r.rule for r in batch[account.id].refusals] == ["conversation_quiet_period"]
    assert batch[account.id].opens_at == call.opens_at
