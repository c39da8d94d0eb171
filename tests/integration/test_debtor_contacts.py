"""A debtor's contact details over REST: numbers parsed in the debtor's country and kept in
E.164, e-mail addresses checked, one preferred per kind, consent with when and how, each
change audited and announced; other tenants' and other debtors' ids are not found; search
and a texted payment link read them."""

from __future__ import annotations

import importlib
from typing import Any

import httpx

from tests.factories import SeededTenant, TenantFactory
from tests.integration.supervisor_helpers import mark, written

API = "/api/v1"


def _contacts(debtor_id: int) -> str:
    return f"{API}/debtors/{debtor_id}/contacts"


async def _add(
    client: httpx.AsyncClient, tenant: SeededTenant, debtor_id: int, status: int = 201, **body: Any
) -> dict[str, Any]:
    response = await client.post(_contacts(debtor_id), json=body, headers=tenant.collector.headers)
    assert response.status_code == status, response.text
    return response.json()


async def _list(client: httpx.AsyncClient, tenant: SeededTenant, debtor_id: int) -> list[dict]:
    response = await client.get(_contacts(debtor_id), headers=tenant.supervisor.headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


async def _in_the_us(client: httpx.AsyncClient, tenant: SeededTenant, debtor_id: int) -> None:
    response = await client.patch(
        f"{API}/debtors/{debtor_id}", json={"country": "US"}, headers=tenant.supervisor.headers
    )
    assert response.status_code == 200, response.text


async def test_the_debtor_records_number_and_address_are_its_preferred_contacts(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    debtor_id = tenant.accounts[0].debtor_id
    contacts = await _list(client, tenant, debtor_id)
    assert [(c["kind"], c["type"], c["value"], c["preferred"]) for c in contacts] == [
        ("phone", "mobile", "+15555550100", True),
        ("email", "other", contacts[1]["value"], True),
    ]
    assert contacts[1]["value"].endswith("@example.com")
    phone = contacts[0]
    assert (phone["sms_consent"]["how"], phone["call_consent"]["how"]) == (
        "on the debtor record",
        "on the debtor record",
    )
    assert phone["email_consent"] is None


async def test_a_number_is_parsed_in_the_debtors_country_and_kept_in_e164(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    debtor_id = tenant.accounts[0].debtor_id
    # Without a country, a number needs its +: it is not known where it is dialled.
    refused = await _add(
        client, tenant, debtor_id, 422, kind="phone", type="home", value="(212) 555-0123"
    )
    assert refused["field"] == "value"
    assert "not a valid phone number" in refused["detail"]
    await _in_the_us(client, tenant, debtor_id)
    added = await _add(client, tenant, debtor_id, kind="phone", type="home", value="(212) 555-0123")
    assert (added["value"], added["type"], added["preferred"]) == ("+12125550123", "home", False)
    # The same number typed otherwise is the same number.
    again = await _add(
        client, tenant, debtor_id, 409, kind="phone", type="work", value="+1 212-555-0123"
    )
    assert "already has that contact" in again["detail"]
    for bad in ("555-0100", "+1 555 555 0199", "12", "not a number"):
        refused = await _add(client, tenant, debtor_id, 422, kind="phone", type="home", value=bad)
        assert refused["field"] == "value", refused
    # An e-mail address: checked, kept as typed without the spaces around it.
    email = await _add(
        client, tenant, debtor_id, kind="email", type="work", value="  Ann.Lee@mail.test "
    )
    assert email["value"] == "Ann.Lee@mail.test"
    for bad in ("ann@", "ann.mail.test", "ann @mail.test"):
        refused = await _add(client, tenant, debtor_id, 422, kind="email", type="work", value=bad)
        assert refused["field"] == "value", refused


async def test_addresses_and_consents_are_checked_naming_the_field(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    debtor_id = tenant.accounts[0].debtor_id
    line = "x" * 200
    address = await _add(
        client,
        tenant,
        debtor_id,
        kind="address",
        type="mailing",
        address_line1=line,
        city="Leeds",
        postal_code="LS1 4AP",
        country="GB",
    )
    assert (address["address_line1"], address["value"], address["preferred"]) == (line, None, True)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "address", "type": "home", "address_line1": "x" * 201}, "address_line1"),
        (
            {
                "kind": "address",
                "type": "home",
                "address_line1": "1 Main St",
                "postal_code": "x" * 21,
            },
            "postal_code",
        ),
        ({"kind": "address", "type": "home", "city": "Leeds"}, "address_line1"),
        ({"kind": "address", "type": "mobile", "address_line1": "1 Main St"}, "type"),
        ({"kind": "address", "type": "home", "address_line1": "1", "value": "x"}, "value"),
        ({"kind": "phone", "type": "mailing", "value": "+12125550123"}, "type"),
        ({"kind": "phone", "type": "home", "value": "+12125550123", "city": "Leeds"}, "city"),
        (
            {"kind": "phone", "type": "mobile", "value": "+12125550124", "sms_consent": True},
            "consent_how",
        ),
        (
            {
                "kind": "email",
                "type": "home",
                "value": "a@b.test",
                "sms_consent": True,
                "consent_how": "web form",
            },
            "sms_consent",
        ),
        (
            {
                "kind": "phone",
                "type": "home",
                "value": "+12125550125",
                "email_consent": True,
                "consent_how": "web form",
            },
            "email_consent",
        ),
    ]
    for body, field in cases:
        refused = await _add(client, tenant, debtor_id, 422, **body)
        assert refused["field"] == field, (body, refused)
    consented = await _add(
        client,
        tenant,
        debtor_id,
        kind="phone",
        type="mobile",
        value="+12125550126",
        sms_consent=True,
        consent_how="said yes on a call",
    )
    assert consented["sms_consent"]["how"] == "said yes on a call"
    assert consented["call_consent"] is None
    # Withdrawn, it is gone; given again, it is stamped again with how.
    url = f"{_contacts(debtor_id)}/{consented['id']}"
    withdrawn = await client.patch(
        url, json={"sms_consent": False}, headers=tenant.collector.headers
    )
    assert withdrawn.json()["sms_consent"] is None
    given = await client.patch(
        url, json={"call_consent": True, "consent_how": "letter"}, headers=tenant.collector.headers
    )
    assert (given.json()["sms_consent"], given.json()["call_consent"]["how"]) == (None, "letter")


async def test_one_preferred_per_kind_and_the_debtor_shows_it(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    debtor_id = account.debtor_id
    (old,) = [c for c in await _list(client, tenant, debtor_id) if c["kind"] == "phone"]
    since = await mark(tenant)
    new = await _add(
        client,
        tenant,
        debtor_id,
        kind="phone",
        type="mobile",
        value="+12125550127",
        preferred=True,
        sms_consent=True,
        consent_how="form",
    )
    phones = [
        (c["value"], c["preferred"])
        for c in await _list(client, tenant, debtor_id)
        if c["kind"] == "phone"
    ]
    assert phones == [("+12125550127", True), ("+15555550100", False)]
    debtor = await client.get(f"{API}/debtors/{debtor_id}", headers=tenant.collector.headers)
    assert debtor.json()["phone"] == "+12125550127"
    journal = await written(tenant, since)
    assert [(a["action"], a["entity_type"], a["entity_id"]) for a in journal.audit] == [
        ("debtor.contact_added", "debtor_contact", new["id"])
    ]
    (event,) = journal.of_type("debtor.updated")
    assert event["channels"] == {f"account:{account.id}"}
    assert (event["data"]["change"], event["data"]["contact"]["id"], event["data"]["phone"]) == (
        "added",
        new["id"],
        "+12125550127",
    )
    # The preferred one stays so until another is made preferred, and is not removed first.
    url = f"{_contacts(debtor_id)}/{new['id']}"
    unprefer = await client.patch(url, json={"preferred": False}, headers=tenant.collector.headers)
    assert (unprefer.status_code, unprefer.json()["field"]) == (409, "preferred")
    remove = await client.delete(url, headers=tenant.collector.headers)
    assert remove.status_code == 409
    back = await client.patch(
        f"{_contacts(debtor_id)}/{old['id']}",
        json={"preferred": True},
        headers=tenant.collector.headers,
    )
    assert (back.status_code, back.json()["preferred"]) == (200, True)
    since = await mark(tenant)
    remove = await client.delete(url, headers=tenant.collector.headers)
    assert remove.status_code == 204
    journal = await written(tenant, since)
    assert [(a["action"], a["after"]) for a in journal.audit] == [("debtor.contact_removed", None)]
    assert journal.of_type("debtor.updated")[0]["data"]["change"] == "removed"
    # The last one of its kind may go: the debtor has no number then.
    last = await client.delete(
        f"{_contacts(debtor_id)}/{old['id']}", headers=tenant.collector.headers
    )
    assert last.status_code == 204
    debtor = await client.get(f"{API}/debtors/{debtor_id}", headers=tenant.collector.headers)
    assert debtor.json()["phone"] is None


async def test_other_tenants_and_other_debtors_contacts_are_not_found(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    other = await tenants.new()
    mine, theirs = tenant.accounts[0].debtor_id, other.accounts[0].debtor_id
    their_contact = (await _list(client, other, theirs))[0]
    sibling = (await _list(client, tenant, tenant.accounts[1].debtor_id))[0]
    headers = tenant.supervisor.headers
    for response in (
        await client.get(_contacts(theirs), headers=headers),
        await client.post(
            _contacts(theirs),
            json={"kind": "email", "type": "home", "value": "x@y.test"},
            headers=headers,
        ),
        await client.patch(
            f"{_contacts(mine)}/{their_contact['id']}", json={"type": "work"}, headers=headers
        ),
        await client.delete(f"{_contacts(mine)}/{their_contact['id']}", headers=headers),
        await client.patch(
            f"{_contacts(mine)}/{sibling['id']}", json={"type": "work"}, headers=headers
        ),
        await client.delete(f"{_contacts(mine)}/{sibling['id']}", headers=headers),
    ):
        assert response.status_code == 404, response.text
    assert (await _list(client, other, theirs))[0] == their_contact
    # A collector sees the debtors of the accounts they may see, and no others.
    unseen = await client.get(_contacts(sibling["debtor_id"]), headers=tenant.collector.headers)
    assert unseen.status_code == 404


async def test_search_finds_an_added_number_and_address(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    debtor_id = tenant.accounts[0].debtor_id
    await _add(client, tenant, debtor_id, kind="phone", type="work", value="+1 212 555 0188")
    await _add(client, tenant, debtor_id, kind="email", type="work", value="zed.work@firm.test")
    for q in ("555-0188", "0188", "zed.work@", "ZED.WORK@FIRM"):
        found = await client.get(
            f"{API}/debtors", params={"q": q}, headers=tenant.supervisor.headers
        )
        assert [d["id"] for d in found.json()["items"]] == [debtor_id], q
    for q in ("0189", "zed.wor@k"):
        found = await client.get(
            f"{API}/debtors", params={"q": q}, headers=tenant.supervisor.headers
        )
        assert found.json()["items"] == [], q


async def test_a_texted_payment_link_goes_to_the_preferred_mobile_given_consent(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    send = f"{API}/accounts/{account.id}/payment-links/send"
    # Preferred, but no consent to texts: the number with consent is texted instead.
    await _add(
        client,
        tenant,
        account.debtor_id,
        kind="phone",
        type="home",
        value="+12125550140",
        preferred=True,
        call_consent=True,
        consent_how="call",
    )
    sent = await client.post(send, json={"channel": "sms"}, headers=tenant.collector.headers)
    assert (sent.status_code, sent.json()["to"]) == (201, "+15555550100")
    mobile = await _add(
        client,
        tenant,
        account.debtor_id,
        kind="phone",
        type="mobile",
        value="+12125550141",
        preferred=True,
        sms_consent=True,
        consent_how="said yes on a call",
    )
    sent = await client.post(send, json={"channel": "sms"}, headers=tenant.collector.headers)
    assert (sent.status_code, sent.json()["to"]) == (201, mobile["value"])


async def test_the_migration_moves_each_debtors_contact_data_over(tenant: SeededTenant) -> None:
    """The migration's one statement, run again on this tenant's debtors with their contact
    details gone (and rolled back): each number, e-mail address and address becomes the
    preferred one, with the consent the opt-outs leave."""
    move = importlib.import_module("migrations.recoup_2026_11_30t22_50_00_000000").MOVE
    debtor_id = tenant.accounts[0].debtor_id
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("SAVEPOINT move")
        try:
            await conn.execute(
                """UPDATE debtors SET opt_out_sms = true, address_line1 = '1 Quay St',
                  city = 'Leeds', country = 'GB' WHERE id = $1""",
                debtor_id,
            )
            await conn.execute("DELETE FROM debtor_contacts")
            await conn.execute(move)
            rows = await conn.fetch(
                """SELECT kind, type, value, address_line1, country, preferred,
                  sms_consent_at IS NOT NULL AS sms, call_consent_how, email_consent_how
                FROM debtor_contacts WHERE debtor_id = $1 ORDER BY kind""",
                debtor_id,
            )
            total = await conn.fetchval("SELECT count(*) FROM debtor_contacts")
        finally:
            await conn.execute("ROLLBACK TO SAVEPOINT move")
    assert [tuple(r) for r in rows] == [
        ("address", "home", None, "1 Quay St", "GB", True, False, None, None),
        ("email", "other", rows[1]["value"], None, None, True, False, None, "on the debtor record"),
        ("phone", "mobile", "+15555550100", None, None, True, False, "on the debtor record", None),
    ]
    # Three debtors, each with a number and an e-mail address; this one with an address too.
    assert total == 7


async def test_a_number_written_on_the_debtor_row_becomes_the_preferred_one(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    debtor_id = tenant.accounts[0].debtor_id
    other = await _add(client, tenant, debtor_id, kind="phone", type="work", value="+12125550150")
    changed = await client.patch(
        f"{API}/debtors/{debtor_id}",
        json={"phone": "+12125550150"},
        headers=tenant.supervisor.headers,
    )
    assert changed.status_code == 200, changed.text
    phones = [
        (c["value"], c["preferred"], c["type"])
        for c in await _list(client, tenant, debtor_id)
        if c["kind"] == "phone"
    ]
    # The same number kept already gives way to the preferred one, which takes it.
    assert phones == [("+12125550150", True, "mobile")]
    assert other["id"] not in [c["id"] for c in await _list(client, tenant, debtor_id)]
    cleared = await client.patch(
        f"{API}/debtors/{debtor_id}", json={"phone": None}, headers=tenant.supervisor.headers
    )
    assert cleared.status_code == 200, cleared.text
    assert [c["kind"] for c in await _list(client, tenant, debtor_id)] == ["email"]
