"""Accounts over REST: create, read, filter, page, change; interactions newest first."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import SeededTenant, TenantFactory


@pytest.fixture
async def book(tenants: TenantFactory) -> SeededTenant:
    """A tenant whose accounts spread over statuses, lateness, owners and currencies."""
    t = await tenants.new(with_accounts=False)
    today = dt.date.today()
    await t.account(external_ref="CUR-1", due_date=today + dt.timedelta(days=10))
    await t.account(
        external_ref="EARLY-1", due_date=today - dt.timedelta(days=15), owner_id=t.collector.id
    )
    await t.account(external_ref="MID-1", due_date=today - dt.timedelta(days=45), status="promised")
    await t.account(
        external_ref="LATE-1",
        due_date=today - dt.timedelta(days=200),
        currency="EUR",
        owner_id=t.other_collector.id,
        status="disputed",
    )
    await t.account(external_ref="NODATE-1", due_date=None)
    return t


async def refs(client, tenant: SeededTenant, **params) -> list[str]:  # type: ignore[no-untyped-def]
    response = await client.get("/api/v1/accounts", params=params, headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    return sorted(a["external_ref"] for a in response.json()["items"])


async def test_create_with_a_new_debtor_and_read_back(client, tenant: SeededTenant) -> None:
    response = await client.post(
        "/api/v1/accounts",
        json={
            "external_ref": "NEW-1",
            "currency": "GBP",
            "principal": "1200.5",
            "interest": "0",
            "fees": "25",
            "due_date": "2026-01-15",
            "creditor": "Northwind",
            "debtor": {
                "first_name": "Ann",
                "last_name": "Smith",
                "email": "ann@example.com",
                "time_zone": "Europe/London",
                "phone": "+44 20 7946 0000",
            },
            "custom": {"product": "card", "score": 612},
        },
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 201, response.text
    account = response.json()
    assert account["principal"] == "1200.50"
    assert account["balance"] == "1225.50"
    assert account["debtor_name"] == "Ann Smith"
    assert account["custom"] == {"product": "card", "score": 612}
    assert account["version"] == 1
    fetched = (
        await client.get(f"/api/v1/accounts/{account['id']}", headers=tenant.admin.headers)
    ).json()
    assert fetched == account
    debtor = (
        await client.get(f"/api/v1/debtors/{account['debtor_id']}", headers=tenant.admin.headers)
    ).json()
    assert debtor["time_zone"] == "Europe/London"


async def test_days_past_due_and_bucket_follow_the_due_date(client, book: SeededTenant) -> None:
    listed = (await client.get("/api/v1/accounts", headers=book.admin.headers)).json()["items"]
    by_ref = {a["external_ref"]: a for a in listed}
    assert (by_ref["CUR-1"]["days_past_due"], by_ref["CUR-1"]["bucket"]) == (0, "current")
    assert (by_ref["EARLY-1"]["days_past_due"], by_ref["EARLY-1"]["bucket"]) == (15, "1-30")
    assert by_ref["MID-1"]["bucket"] == "31-60"
    assert by_ref["LATE-1"]["bucket"] == "90+"
    assert by_ref["NODATE-1"]["days_past_due"] == 0


async def test_filters(client, book: SeededTenant) -> None:
    assert await refs(client, book, status="disputed") == ["LATE-1"]
    assert await refs(client, book, status=["promised", "disputed"]) == ["LATE-1", "MID-1"]
    assert await refs(client, book, bucket="1-30") == ["EARLY-1"]
    assert await refs(client, book, bucket="current") == ["CUR-1", "NODATE-1"]
    assert await refs(client, book, dpd_min=10, dpd_max=60) == ["EARLY-1", "MID-1"]
    assert await refs(client, book, dpd_min=100) == ["LATE-1"]
    assert await refs(client, book, owner_id=book.collector.id) == ["EARLY-1"]
    assert await refs(client, book, unowned="true") == ["CUR-1", "MID-1", "NODATE-1"]
    assert await refs(client, book, currency="EUR") == ["LATE-1"]
    assert await refs(client, book, q="late") == ["LATE-1"]
    account = book.accounts[1]
    last_name = account.debtor_name.split()[1]
    assert await refs(client, book, q=f"pat {last_name.lower()}") == [account.external_ref]


async def test_search_finds_an_e_mail_address_and_a_phone_number_however_typed(
    client, book: SeededTenant
) -> None:
    mid = book.accounts[2]
    async with book.db.tenant(book.id) as conn:
        await conn.execute(
            "UPDATE debtors SET phone = '+12125550199', email = 'ann.lee@mail.test' WHERE id = $1",
            mid.debtor_id,
        )
    for typed in ("ann.lee@mail.test", "ANN.LEE@Mail", "+1 212 555 0199", "(212) 555-0199", "0199"):
        assert await refs(client, book, q=typed) == ["MID-1"], typed
    # Three digits are too few to be a search for a number; another address finds nothing.
    assert await refs(client, book, q="199") == []
    assert await refs(client, book, q="ann.lee@mail.tes") == ["MID-1"]
    assert await refs(client, book, q="ann.leee@mail.test") == []
    assert await refs(client, book, q="1 212 555 0198") == []


async def test_cursor_pagination_visits_every_account_once(client, book: SeededTenant) -> None:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/api/v1/accounts", params=params, headers=book.admin.headers)
        ).json()
        seen += [a["id"] for a in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == sorted({a.id for a in book.accounts}, reverse=True)


async def test_stale_version_is_refused_with_409(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    first = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"fees": "30.00", "version": account.version},
        headers=tenant.admin.headers,
    )
    assert first.status_code == 200
    assert first.json()["version"] == account.version + 1
    stale = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"fees": "40.00", "version": account.version},
        headers=tenant.admin.headers,
    )
    assert stale.status_code == 409
    assert stale.json()["current_version"] == account.version + 1


async def test_null_clears_and_absent_keeps(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    cleared = await client.patch(
        f"/api/v1/accounts/{account.id}", json={"owner_id": None}, headers=tenant.admin.headers
    )
    body = cleared.json()
    assert body["owner_id"] is None
    assert body["due_date"] == account.due_date.isoformat()


async def test_interactions_are_listed_newest_first(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    now = dt.datetime.now(dt.UTC)
    for minutes, notes in ((30, "oldest"), (1, "newest"), (10, "middle")):
        created = await client.post(
            f"/api/v1/accounts/{account.id}/interactions",
            json={
                "channel": "call",
                "direction": "outbound",
                "disposition": "no_answer",
                "notes": notes,
                "occurred_at": (now - dt.timedelta(minutes=minutes)).isoformat(),
            },
            headers=tenant.collector.headers,
        )
        assert created.status_code == 201, created.text
    first = (
        await client.get(
            f"/api/v1/accounts/{account.id}/interactions",
            params={"limit": 2},
            headers=tenant.admin.headers,
        )
    ).json()
    assert [i["notes"] for i in first["items"]] == ["newest", "middle"]
    rest = (
        await client.get(
            f"/api/v1/accounts/{account.id}/interactions",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=tenant.admin.headers,
        )
    ).json()
    assert [i["notes"] for i in rest["items"]] == ["oldest"]
    assert rest["next_cursor"] is None


async def test_interaction_in_the_future_is_refused(client, tenant: SeededTenant) -> None:
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    response = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/interactions",
        json={"channel": "call", "occurred_at": later},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "occurred_at"


async def test_tenant_buckets_can_be_redefined(client, book: SeededTenant) -> None:
    buckets = [
        {"name": "fresh", "min_days": 0, "max_days": 29},
        {"name": "stale", "min_days": 30, "max_days": None},
    ]
    response = await client.patch(
        "/api/v1/tenant", json={"buckets": buckets}, headers=book.admin.headers
    )
    assert response.status_code == 200, response.text
    assert await refs(client, book, bucket="stale") == ["LATE-1", "MID-1"]
    gap = await client.patch(
        "/api/v1/tenant",
        json={
            "buckets": [
                {"name": "a", "min_days": 0, "max_days": 10},
                {"name": "b", "min_days": 20, "max_days": None},
            ]
        },
        headers=book.admin.headers,
    )
    assert gap.status_code == 422
