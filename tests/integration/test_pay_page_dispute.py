"""The debtor disputes the debt from the payment page: the account becomes disputed (which
pauses contact), once, audited and announced to whoever watches the account."""

from __future__ import annotations

import httpx

from channels import names
from tests.factories import SeededTenant
from tests.helpers import keyed
from tests.integration.supervisor_helpers import mark, written
from tests.integration.test_pay_page import link


async def test_a_dispute_from_the_page_pauses_contact_and_tells_the_collectors(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    page = await link(client, tenant, account.id)
    # The debtor has the page open (its first opening is journalled on its own).
    assert (await client.get(f"{page}/summary")).status_code == 200
    since = await mark(tenant)
    response = await client.post(
        f"{page}/dispute", json={"reason": "already_paid", "details": "  Paid in March.  "}
    )
    assert response.status_code == 200, response.text
    opened_at = response.json()["opened_at"]
    assert response.json() == {"reason": "already_paid", "opened_at": opened_at}

    seen = await client.get(f"/api/v1/accounts/{account.id}", headers=tenant.admin.headers)
    assert seen.json()["status"] == "disputed"
    contact = await client.get(
        f"/api/v1/accounts/{account.id}/contact-status", headers=tenant.admin.headers
    )
    for channel in contact.json()["channels"]:
        assert channel["allowed"] is False, channel
        assert "dispute_open" in [r["rule"] for r in channel["reasons"]], channel

    journal = await written(tenant, since)
    dispute = {
        "reason": "already_paid",
        "details": "Paid in March.",
        "opened_at": opened_at,
        "source": "debtor",
    }
    assert [(a["action"], a["actor_type"], a["before"], a["after"]) for a in journal.audit] == [
        (
            "account.dispute",
            "debtor",
            {"status": "active"},
            {"status": "disputed", "dispute": dispute},
        )
    ]
    [event] = journal.of_type("account.updated")
    assert account.owner_id is not None
    assert event["channels"] == {
        names.account(account.id),
        names.WALLBOARD,
        names.agent(account.owner_id),
    }
    assert event["data"]["status"] == "disputed"
    assert event["data"]["changed"] == ["status"]
    assert event["data"]["dispute"] == dispute

    summary = await client.get(f"{page}/summary")
    assert summary.json()["status"] == "disputed"
    assert summary.json()["dispute"] == {"reason": "already_paid", "opened_at": opened_at}


async def test_disputing_again_answers_the_dispute_already_open(
    client, tenant: SeededTenant
) -> None:
    page = await link(client, tenant, tenant.accounts[0].id)
    first = await client.post(f"{page}/dispute", json={"reason": "not_mine"})
    assert first.status_code == 200, first.text
    since = await mark(tenant)
    again = await client.post(f"{page}/dispute", json={"reason": "wrong_amount", "details": "x"})
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    journal = await written(tenant, since)
    assert journal.audit == []
    assert journal.events == []


async def test_a_paid_account_has_nothing_to_dispute(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    page = await link(client, tenant, account.id)
    paid = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "1075.00", "currency": "USD"},
        headers=keyed(tenant.collector.headers),
    )
    assert paid.status_code == 201, paid.text
    refused = await client.post(f"{page}/dispute", json={"reason": "not_mine"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == "this account is paid: there is nothing left to dispute"


async def test_a_dispute_needs_a_known_reason_and_details_of_at_most_2000_characters(
    client, tenant: SeededTenant
) -> None:
    page = await link(client, tenant, tenant.accounts[0].id)

    async def send(body: dict[str, str]) -> httpx.Response:
        return await client.post(f"{page}/dispute", json=body)

    assert (await send({"reason": "bored"})).status_code == 422
    assert (await send({"reason": "other", "details": "x" * 2001})).status_code == 422
    accepted = await send({"reason": "other", "details": "x" * 2000})
    assert accepted.status_code == 200, accepted.text


async def test_a_forged_or_expired_link_cannot_dispute(client, tenant: SeededTenant) -> None:
    page = await link(client, tenant, tenant.accounts[0].id)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE payment_links SET expires_at = now() - interval '1 second'")
    assert (await client.post(f"{page}/dispute", json={"reason": "other"})).status_code == 410
    forged = await client.post("/pay/not-a-real-link/dispute", json={"reason": "other"})
    assert forged.status_code == 404
    seen = await client.get(
        f"/api/v1/accounts/{tenant.accounts[0].id}", headers=tenant.admin.headers
    )
    assert seen.json()["status"] == "active"
