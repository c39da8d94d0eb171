"""A collector sends the debtor a payment link by text or e-mail: through the messaging of
workflows (the contact rules, a wait for the debtor's hours, an interaction on the account),
to the caller's own accounts only, idempotent under a key."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.db import Database
from domain.workflows.messaging import send_due
from tests.conftest import SmtpSink
from tests.factories import SeededTenant
from tests.integration.workflow_helpers import API, DEV, Clock


def _send(account_id: int) -> str:
    return f"{API}/accounts/{account_id}/payment-links/send"


def night_zone() -> str:
    """A time zone where it is about three in the morning now: outside texting hours."""
    offset = 3 - dt.datetime.now(dt.UTC).hour
    if offset < -12:
        offset += 24
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


async def _messages(client: httpx.AsyncClient, tenant: SeededTenant, account_id: int) -> list:
    response = await client.get(
        f"{API}/accounts/{account_id}/messages", headers=tenant.supervisor.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _counts(db: Database, tenant_id: int) -> tuple[int, int]:
    async with db.tenant(tenant_id) as conn:
        return (
            await conn.fetchval("SELECT count(*) FROM messages"),
            await conn.fetchval("SELECT count(*) FROM payment_links"),
        )


async def _debtor(
    db: Database, tenant: SeededTenant, account_id: int, sql: str, *args: Any
) -> None:
    async with db.tenant(tenant.id) as conn:
        debtor_id = await conn.fetchval("SELECT debtor_id FROM accounts WHERE id = $1", account_id)
        await conn.execute(sql, debtor_id, *args)


async def test_a_text_with_the_link_goes_out_and_is_logged_on_the_account(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]  # the collector's own
    response = await client.post(
        _send(account.id), json={"channel": "sms"}, headers=tenant.collector.headers
    )
    assert response.status_code == 201, response.text
    sent = response.json()
    assert (sent["outcome"], sent["channel"], sent["to"], sent["reason"]) == (
        "sending",
        "sms",
        "+15555550100",
        None,
    )
    assert sent["link"]["account_id"] == account.id
    assert "/pay/" in sent["link"]["url"]
    expires = dt.datetime.fromisoformat(sent["link"]["expires_at"])
    made = dt.datetime.fromisoformat(sent["link"]["created_at"])
    assert abs(expires - made - dt.timedelta(hours=72)) < dt.timedelta(seconds=1)
    (queued,) = await _messages(client, tenant, account.id)
    # Queued, unless a worker of the session's own processes was quicker than this test.
    assert (queued["id"], queued["run_id"]) == (sent["message_id"], None)
    assert queued["status"] in ("queued", "sent")
    assert queued["body"].startswith(
        f"Tenant {tenant.slug}: you can pay your account {account.external_ref} "
        f"(balance $1,075.00) here: {sent['link']['url']} Opt out: "
    )
    # What the worker does (the relay hands it the message's event).
    await send_due(db, DEV)
    (message,) = await _messages(client, tenant, account.id)
    assert (message["status"], message["transport"], message["send_at"]) == (
        "sent",
        "dev-sms",
        None,
    )
    timeline = await client.get(
        f"{API}/accounts/{account.id}/interactions", headers=tenant.collector.headers
    )
    (logged,) = timeline.json()["items"]
    assert (logged["channel"], logged["direction"]) == ("sms", "outbound")
    async with db.tenant(tenant.id) as conn:
        audit = await conn.fetchrow(
            "SELECT actor_id, after FROM audit_log WHERE action = 'payment_link.send'"
        )
        event = await conn.fetchrow(
            "SELECT channels, data FROM outbox WHERE type = 'message.queued'"
        )
    assert audit["actor_id"] == tenant.collector.id
    assert audit["after"]["to"] == "+15555550100"
    assert event["data"]["id"] == sent["message_id"]
    assert f"account:{account.id}" in event["channels"]


async def test_an_email_with_the_link_reaches_the_mail_server_through_relay_and_worker(
    relay, worker, client: httpx.AsyncClient, tenant: SeededTenant, smtp_sink: SmtpSink
) -> None:
    account = tenant.accounts[0]
    address = f"link-{tenant.id}@example.com"
    await _debtor(
        tenant.db, tenant, account.id, "UPDATE debtors SET email = $2 WHERE id = $1", address
    )
    response = await client.post(
        _send(account.id),
        json={"channel": "email", "expires_in_hours": 24},
        headers=tenant.collector.headers,
    )
    assert response.status_code == 201, response.text
    sent = response.json()
    for _ in range(400):
        if smtp_sink.to(address):
            break
        await asyncio.sleep(0.05)
    (mail,) = smtp_sink.to(address)
    assert mail["Subject"] == f"Your payment link for account {account.external_ref}"
    body = mail.get_content().replace("\r\n", "\n")
    assert f"\n{sent['link']['url']}\n" in body
    assert re.search(r"To stop these e-mails: http://\S+/optout/\S+", body)
    # The link in the e-mail opens the debtor's page.
    token = sent["link"]["url"].rsplit("/", 1)[1]
    page = await client.get(f"/pay/{token}/summary")
    assert (page.status_code, page.json()["reference"]) == (200, account.external_ref)
    for _ in range(100):
        (message,) = await _messages(client, tenant, account.id)
        if message["status"] == "sent":
            break
        await asyncio.sleep(0.05)
    assert (message["status"], message["transport"]) == ("sent", "smtp")
    timeline = await client.get(
        f"{API}/accounts/{account.id}/interactions", headers=tenant.collector.headers
    )
    assert [i["channel"] for i in timeline.json()["items"]] == ["email"]


async def test_only_a_caller_who_may_work_the_account_sends_a_link(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    mine, theirs = tenant.accounts[0], tenant.accounts[1]
    before = await _counts(db, tenant.id)
    other = await client.post(
        _send(theirs.id), json={"channel": "sms"}, headers=tenant.collector.headers
    )
    assert (other.status_code, other.headers["content-type"]) == (404, "application/problem+json")
    missing = await client.post(
        _send(2**62), json={"channel": "sms"}, headers=tenant.collector.headers
    )
    assert missing.status_code == 404
    looker = await client.post(
        _send(mine.id), json={"channel": "sms"}, headers=tenant.readonly.headers
    )
    assert looker.status_code == 403
    nobody = await client.post(_send(mine.id), json={"channel": "sms"})
    assert nobody.status_code == 401
    assert await _counts(db, tenant.id) == before
    # A supervisor may send on any account of the tenant.
    supervised = await client.post(
        _send(theirs.id), json={"channel": "sms"}, headers=tenant.supervisor.headers
    )
    assert supervised.status_code == 201, supervised.text


@pytest.mark.parametrize(
    ("setup", "channel", "rule"),
    [
        ("UPDATE debtors SET opt_out_sms = true WHERE id = $1", "sms", "opted_out"),
        ("UPDATE debtors SET opt_out_email = true WHERE id = $1", "email", "opted_out"),
        ("UPDATE debtors SET do_not_contact = true WHERE id = $1", "sms", "do_not_contact"),
        ("UPDATE debtors SET cease_requested_at = now() WHERE id = $1", "email", "cease_requested"),
    ],
)
async def test_a_channel_the_debtor_may_not_receive_is_refused_and_nothing_is_made(
    client: httpx.AsyncClient,
    db: Database,
    tenant: SeededTenant,
    setup: str,
    channel: str,
    rule: str,
) -> None:
    account = tenant.accounts[0]
    await _debtor(db, tenant, account.id, setup)
    before = await _counts(db, tenant.id)
    response = await client.post(
        _send(account.id), json={"channel": channel}, headers=tenant.collector.headers
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert (problem["field"], problem["next_allowed_at"]) == ("channel", None)
    assert problem["rule"] == rule, problem
    assert problem["detail"].startswith(f"{channel} not allowed: ")
    assert await _counts(db, tenant.id) == before


async def test_an_opt_out_of_texts_leaves_email_open(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    await _debtor(db, tenant, account.id, "UPDATE debtors SET opt_out_sms = true WHERE id = $1")
    response = await client.post(
        _send(account.id), json={"channel": "email"}, headers=tenant.collector.headers
    )
    assert (response.status_code, response.json()["outcome"]) == (201, "sending")


async def test_a_disputed_account_gets_no_link(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    async with db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE accounts SET status = 'disputed' WHERE id = $1", account.id)
    response = await client.post(
        _send(account.id), json={"channel": "sms"}, headers=tenant.collector.headers
    )
    assert (response.status_code, response.json()["rule"]) == (409, "dispute_open")


async def test_a_text_at_night_waits_for_eight_in_the_debtors_morning(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    zone = night_zone()
    await _debtor(db, tenant, account.id, "UPDATE debtors SET time_zone = $2 WHERE id = $1", zone)
    response = await client.post(
        _send(account.id), json={"channel": "sms"}, headers=tenant.collector.headers
    )
    assert response.status_code == 201, response.text
    sent = response.json()
    send_at = dt.datetime.fromisoformat(sent["send_at"])
    local = send_at.astimezone(ZoneInfo(zone))
    assert (sent["outcome"], local.hour, local.minute) == ("waiting", 8, 0)
    assert dt.timedelta(hours=4) < send_at - dt.datetime.now(dt.UTC) < dt.timedelta(hours=6)
    assert "08:00" in sent["reason"] or "hours" in sent["reason"]
    # Not yet: the sender leaves it queued.
    await send_due(db, DEV)
    (message,) = await _messages(client, tenant, account.id)
    assert (message["status"], message["send_at"]) == (
        "queued",
        sent["send_at"].replace("+00:00", "Z"),
    )
    # At eight, debtor time, it goes.
    await send_due(db, DEV, Clock(send_at + dt.timedelta(seconds=1)))
    (message,) = await _messages(client, tenant, account.id)
    assert message["status"] == "sent"


async def test_an_email_at_night_goes_at_once(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    """The tenant's window covers calls and texts by default, not e-mail."""
    account = tenant.accounts[0]
    await _debtor(
        db, tenant, account.id, "UPDATE debtors SET time_zone = $2 WHERE id = $1", night_zone()
    )
    response = await client.post(
        _send(account.id), json={"channel": "email"}, headers=tenant.collector.headers
    )
    assert (response.status_code, response.json()["outcome"]) == (201, "sending")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({}, "channel"),
        ({"channel": "sms", "expires_in_hours": 0}, "expires_in_hours"),
        ({"channel": "sms", "expires_in_hours": 721}, "expires_in_hours"),
        ({"channel": "sms", "expires_in_hours": "24"}, "expires_in_hours"),
        ({"channel": "sms", "to": "+15555550199"}, "to"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, body: dict, field: str
) -> None:
    before = await _counts(db, tenant.id)
    response = await client.post(
        _send(tenant.accounts[0].id), json=body, headers=tenant.collector.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text
    assert await _counts(db, tenant.id) == before


@pytest.mark.parametrize("hours", [1, 720])
async def test_a_link_lasts_from_one_hour_to_thirty_days(
    client: httpx.AsyncClient, tenant: SeededTenant, hours: int
) -> None:
    response = await client.post(
        _send(tenant.accounts[0].id),
        json={"channel": "sms", "expires_in_hours": hours},
        headers=tenant.collector.headers,
    )
    assert response.status_code == 201, response.text
    link = response.json()["link"]
    lasts = dt.datetime.fromisoformat(link["expires_at"]) - dt.datetime.fromisoformat(
        link["created_at"]
    )
    assert abs(lasts - dt.timedelta(hours=hours)) < dt.timedelta(seconds=1)


async def test_a_debtor_without_a_phone_number_gets_no_text(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    await _debtor(db, tenant, account.id, "UPDATE debtors SET phone = NULL WHERE id = $1")
    response = await client.post(
        _send(account.id), json={"channel": "sms"}, headers=tenant.collector.headers
    )
    assert (response.status_code, response.json()["field"]) == (422, "channel")
    assert response.json()["detail"] == "the debtor has no phone number"


async def test_a_retry_with_the_same_key_sends_nothing_more(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    headers = {**tenant.collector.headers, "Idempotency-Key": "send-link-1"}
    first = await client.post(_send(account.id), json={"channel": "sms"}, headers=headers)
    again = await client.post(_send(account.id), json={"channel": "sms"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await _counts(db, tenant.id) == (1, 1)
    other = await client.post(_send(account.id), json={"channel": "email"}, headers=headers)
    assert (other.status_code, other.json()["field"]) == (422, "Idempotency-Key")
    # A caller who lost the account since gets no replay either.
    async with db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE accounts SET owner_id = $2 WHERE id = $1", account.id, tenant.other_collector.id
        )
    lost = await client.post(_send(account.id), json={"channel": "sms"}, headers=headers)
    assert lost.status_code == 404
    assert await _counts(db, tenant.id) == (1, 1)
