"""A payment link from creation to expiry or withdrawal: what it opens, and what is recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from domain.actor import Actor
from domain.db import Database
from domain.errors import NotFound
from domain.payments.links import PURPOSE, LinkGone, PaymentLinkService, link_token, open_link
from domain.payments.schemas import PaymentLink
from domain.signing import InvalidToken, sign
from tests.conftest import SECRET
from tests.factories import SeededTenant

MADE_AT = dt.datetime(2030, 3, 4, 9, 30, tzinfo=dt.UTC)
WITHDRAWN_AT = dt.datetime(2030, 3, 4, 11, 15, tzinfo=dt.UTC)
BASE_URL = "https://pay.example.test"


def at(instant: dt.datetime):  # type: ignore[no-untyped-def]
    return lambda: instant


async def make(tenant: SeededTenant, account: int = 0, hours: int = 5) -> PaymentLink:
    async with tenant.db.tenant(tenant.id) as conn:
        links = PaymentLinkService(
            conn, tenant.admin.actor, at(MADE_AT), secret=SECRET, base_url=BASE_URL
        )
        return await links.create(tenant.accounts[account].id, hours)


async def withdraw(tenant: SeededTenant, link_id: int, instant: dt.datetime) -> PaymentLink:
    async with tenant.db.tenant(tenant.id) as conn:
        links = PaymentLinkService(
            conn, tenant.admin.actor, at(instant), secret=SECRET, base_url=BASE_URL
        )
        return await links.revoke(link_id)


async def journal(tenant: SeededTenant, link_id: int) -> tuple[list[dict], list[dict]]:
    """The link's audit rows, and every event of the tenant since the first of them."""
    async with tenant.db.tenant(tenant.id) as conn:
        audit = await conn.fetch(
            """SELECT action, entity_type, entity_id, actor_type, actor_id, before, after
            FROM audit_log WHERE entity_type = 'payment_link' AND entity_id = $1 ORDER BY id""",
            link_id,
        )
        outbox = await conn.fetch(
            """SELECT type, channels, data FROM outbox
            WHERE type LIKE 'payment_link.%' OR type = 'access.changed' ORDER BY id"""
        )
    return [dict(r) for r in audit], [dict(r) for r in outbox]


def iso(instant: dt.datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


async def test_a_link_expires_the_hours_asked_after_it_is_made(tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    link = await make(tenant, hours=5)
    assert link == PaymentLink(
        id=link.id,
        account_id=account.id,
        url=f"{BASE_URL}/pay/{link_token(SECRET, tenant.id, link.id)}",
        expires_at=MADE_AT + dt.timedelta(hours=5),
        revoked_at=None,
        created_at=link.created_at,
    )
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT account_id, created_by, expires_at, revoked_at FROM payment_links WHERE id = $1",
            link.id,
        )
    assert dict(row) == {
        "account_id": account.id,
        "created_by": tenant.admin.id,
        "expires_at": MADE_AT + dt.timedelta(hours=5),
        "revoked_at": None,
    }


async def test_making_a_link_is_audited_and_announced_without_its_url(
    tenant: SeededTenant,
) -> None:
    account = tenant.accounts[0]
    link = await make(tenant, hours=1)
    recorded: dict[str, Any] = {
        "id": link.id,
        "account_id": account.id,
        "expires_at": iso(MADE_AT + dt.timedelta(hours=1)),
        "revoked_at": None,
        "created_at": iso(link.created_at),
    }
    audit, outbox = await journal(tenant, link.id)
    assert audit == [
        {
            "action": "payment_link.create",
            "entity_type": "payment_link",
            "entity_id": link.id,
            "actor_type": "user",
            "actor_id": tenant.admin.id,
            "before": None,
            "after": recorded,
        }
    ]
    assert outbox == [
        {
            "type": "payment_link.created",
            "channels": [f"account:{account.id}", "wallboard", f"agent:{tenant.collector.id}"],
            "data": recorded,
        }
    ]


async def test_a_link_made_with_an_api_key_names_no_creator(client, tenant: SeededTenant) -> None:
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "links", "scopes": ["payments:write"]},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    response = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payment-links",
        json={"expires_in_hours": 2},
        headers={"Authorization": f"Bearer {created.json()['key']}"},
    )
    assert response.status_code == 201, response.text
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT created_by, expires_at - created_at AS lasts FROM payment_links WHERE id = $1",
            response.json()["id"],
        )
    assert row["created_by"] is None
    # The link's clock is read a moment after the transaction began (created_at).
    assert dt.timedelta(hours=2) <= row["lasts"] < dt.timedelta(hours=2, seconds=10)


async def test_a_link_on_an_account_the_caller_cannot_see_is_not_made(
    client, tenant: SeededTenant
) -> None:
    theirs = tenant.accounts[1]
    response = await client.post(
        f"/api/v1/accounts/{theirs.id}/payment-links", headers=tenant.collector.headers
    )
    assert response.status_code == 404, response.text
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM payment_links") == 0


async def test_withdrawing_a_link_is_audited_and_ends_its_sockets(tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    link = await make(tenant)
    withdrawn = await withdraw(tenant, link.id, WITHDRAWN_AT)
    assert withdrawn == PaymentLink(
        id=link.id,
        account_id=account.id,
        url=link.url,
        expires_at=link.expires_at,
        revoked_at=WITHDRAWN_AT,
        created_at=link.created_at,
    )
    recorded: dict[str, Any] = {
        "id": link.id,
        "account_id": account.id,
        "expires_at": iso(link.expires_at),
        "revoked_at": iso(WITHDRAWN_AT),
        "created_at": iso(link.created_at),
    }
    audit, outbox = await journal(tenant, link.id)
    assert audit[1:] == [
        {
            "action": "payment_link.revoke",
            "entity_type": "payment_link",
            "entity_id": link.id,
            "actor_type": "user",
            "actor_id": tenant.admin.id,
            "before": None,
            "after": recorded,
        }
    ]
    assert outbox[1:] == [
        {
            "type": "payment_link.revoked",
            "channels": [f"account:{account.id}", "wallboard", f"agent:{tenant.collector.id}"],
            "data": recorded,
        },
        {"type": "access.changed", "channels": ["access"], "data": {"links": [link.id]}},
    ]


async def test_a_link_withdrawn_twice_keeps_the_first_time(tenant: SeededTenant) -> None:
    link = await make(tenant)
    await withdraw(tenant, link.id, WITHDRAWN_AT)
    again = await withdraw(tenant, link.id, WITHDRAWN_AT + dt.timedelta(hours=1))
    assert again.revoked_at == WITHDRAWN_AT


async def test_withdrawing_a_link_that_is_not_there_is_not_found(tenant: SeededTenant) -> None:
    with pytest.raises(NotFound) as refused:
        await withdraw(tenant, 2_000_000_000, WITHDRAWN_AT)
    assert refused.value.detail == "payment link 2000000000 not found"


async def test_a_link_opens_as_its_debtor_on_its_one_account(
    db: Database, tenant: SeededTenant
) -> None:
    link = await make(tenant, account=2)
    token = link.url.rsplit("/", 1)[1]
    actor = await open_link(db, SECRET, token, at(MADE_AT))
    assert actor == Actor(
        tenant_id=tenant.id, type="debtor", id=link.id, account_id=tenant.accounts[2].id
    )


async def test_a_link_works_until_the_instant_it_expires(
    db: Database, tenant: SeededTenant
) -> None:
    link = await make(tenant, hours=5)
    token = link.url.rsplit("/", 1)[1]
    last = link.expires_at - dt.timedelta(microseconds=1)
    assert (await open_link(db, SECRET, token, at(last))).id == link.id
    for instant in (link.expires_at, link.expires_at + dt.timedelta(days=1)):
        with pytest.raises(LinkGone) as gone:
            await open_link(db, SECRET, token, at(instant))
        assert gone.value.detail == (
            f"this payment link has expired. Ask Tenant {tenant.slug} for a new one."
        )
        assert gone.value.status == 410


async def test_a_withdrawn_link_is_gone_before_and_after_it_expires(
    db: Database, tenant: SeededTenant
) -> None:
    link = await make(tenant, hours=5)
    await withdraw(tenant, link.id, WITHDRAWN_AT)
    token = link.url.rsplit("/", 1)[1]
    for instant in (MADE_AT, link.expires_at):
        with pytest.raises(LinkGone) as gone:
            await open_link(db, SECRET, token, at(instant))
        assert gone.value.detail == (
            f"this payment link was withdrawn. Ask Tenant {tenant.slug} for a new one."
        )


@pytest.mark.parametrize(
    "payload",
    [
        lambda t, link: [t, link, 1],
        lambda t, link: [t],
        lambda t, link: [t, str(link)],
        lambda t, link: [str(t), link],
        lambda t, link: {"tenant": t, "link": link},
        lambda t, link: f"{t}:{link}",
        lambda t, link: [t, 2_000_000_000],
    ],
    ids=["three", "one", "text link", "text tenant", "object", "text", "no such link"],
)
async def test_a_payload_signed_for_links_but_of_another_shape_is_not_valid(
    db: Database, tenant: SeededTenant, payload
) -> None:  # type: ignore[no-untyped-def]
    link = await make(tenant)
    token = sign(SECRET, PURPOSE, payload(tenant.id, link.id))
    with pytest.raises(InvalidToken) as refused:
        await open_link(db, SECRET, token, at(MADE_AT))
    assert refused.value.detail == "this link is not valid"


async def test_a_link_of_one_tenant_does_not_open_under_another(
    db: Database, tenant: SeededTenant, tenants
) -> None:  # type: ignore[no-untyped-def]
    other = await tenants.new()
    link = await make(other)
    with pytest.raises(InvalidToken) as refused:
        await open_link(db, SECRET, link_token(SECRET, tenant.id, link.id), at(MADE_AT))
    assert refused.value.detail == "this link is not valid"


async def test_a_link_signed_with_another_secret_is_mistyped(
    db: Database, tenant: SeededTenant
) -> None:
    link = await make(tenant)
    with pytest.raises(InvalidToken) as refused:
        await open_link(db, SECRET, link_token("another secret", tenant.id, link.id), at(MADE_AT))
    assert refused.value.detail == "this link is not valid (it may have been mistyped)"
