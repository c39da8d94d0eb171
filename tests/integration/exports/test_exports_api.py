"""Exports over REST: the file exactly, filters, who sees what, refusals before the file."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from domain.actor import system_actor
from domain.interactions.schemas import InteractionCreate
from domain.interactions.service import InteractionService
from domain.payments.schemas import PaymentCreate
from domain.payments.service import PaymentService
from tests.factories import SeededTenant, TenantFactory

ACCOUNTS = "/api/v1/exports/accounts.csv"
PAYMENTS = "/api/v1/exports/payments.csv"
INTERACTIONS = "/api/v1/exports/interactions.csv"
TODAY = dt.date.today()


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
async def book(tenants: TenantFactory) -> SeededTenant:
    t = await tenants.new(with_accounts=False)
    for ref in ("=SUM(A1)", "+1", "-2", "@cmd", "\tTAB", "\rCR", "PLAIN"):
        await t.account(external_ref=ref, creditor="Bank", owner_id=t.collector.id)
    await t.account(
        external_ref="EUR-1",
        currency="EUR",
        principal=Decimal("10.5"),
        interest=Decimal(0),
        fees=Decimal(0),
        due_date=TODAY - dt.timedelta(days=200),
        owner_id=t.other_collector.id,
    )
    await t.account(
        external_ref="JPY-1",
        currency="JPY",
        principal=Decimal(1000),
        interest=Decimal(0),
        fees=Decimal(0),
        due_date=None,
        creditor='=HYPERLINK("x")',
    )
    return t


async def test_accounts_file_exactly(client, book: SeededTenant) -> None:
    response = await client.get(ACCOUNTS, headers=book.admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="accounts-{TODAY}.csv"'
    )
    text = response.text
    header = text.split("\r\n" if "\r\n" in text else "\n", 1)[0]
    assert header == (
        "id,external_ref,debtor_id,debtor_name,creditor,currency,principal,interest,fees,"
        "balance,due_date,days_past_due,bucket,status,owner_id,created_at,updated_at"
    )
    got = rows(text)
    assert [r["external_ref"] for r in got] == [
        "'=SUM(A1)",
        "'+1",
        "'-2",
        "'@cmd",
        "'\tTAB",
        "'\rCR",
        "PLAIN",
        "EUR-1",
        "JPY-1",
    ]
    by_ref = {r["external_ref"]: r for r in got}
    ids = [a.id for a in book.accounts]
    assert [int(r["id"]) for r in got] == sorted(ids)
    plain = by_ref["PLAIN"]
    account = book.accounts[6]
    assert plain == {
        "id": str(account.id),
        "external_ref": "PLAIN",
        "debtor_id": str(account.debtor_id),
        "debtor_name": account.debtor_name,
        "creditor": "Bank",
        "currency": "USD",
        "principal": "1000.00",
        "interest": "50.00",
        "fees": "25.00",
        "balance": "1075.00",
        "due_date": (TODAY - dt.timedelta(days=45)).isoformat(),
        "days_past_due": "45",
        "bucket": "31-60",
        "status": "active",
        "owner_id": str(book.collector.id),
        "created_at": account.created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated_at": account.updated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert by_ref["EUR-1"]["balance"] == "10.50"
    assert by_ref["EUR-1"]["owner_id"] == str(book.other_collector.id)
    jpy = by_ref["JPY-1"]
    assert (jpy["principal"], jpy["balance"], jpy["due_date"], jpy["days_past_due"]) == (
        "1000",
        "1000",
        "",
        "0",
    )
    assert jpy["creditor"] == '\'=HYPERLINK("x")'
    assert jpy["owner_id"] == ""


async def test_account_filters_apply(client, book: SeededTenant) -> None:
    async def refs(**params: object) -> list[str]:
        response = await client.get(ACCOUNTS, params=params, headers=book.admin.headers)
        assert response.status_code == 200, response.text
        return [r["external_ref"] for r in rows(response.text)]

    assert await refs(currency="EUR") == ["EUR-1"]
    assert await refs(dpd_min=100) == ["EUR-1"]
    assert await refs(unowned="true") == ["JPY-1"]
    assert await refs(owner_id=book.other_collector.id) == ["EUR-1"]
    assert await refs(q="PLAIN") == ["PLAIN"]
    assert await refs(dpd_min=10, dpd_max=5) == []
    assert await refs(limit=2) == ["'=SUM(A1)", "'+1"]
    assert len(await refs(limit=9)) == 9


async def test_a_collector_exports_only_their_accounts(client, book: SeededTenant) -> None:
    response = await client.get(ACCOUNTS, headers=book.other_collector.headers)
    assert [r["external_ref"] for r in rows(response.text)] == ["EUR-1"]
    response = await client.get(ACCOUNTS, headers=book.collector.headers)
    assert len(rows(response.text)) == 7
    readonly = await client.get(ACCOUNTS, headers=book.readonly.headers)
    assert len(rows(readonly.text)) == 9


async def test_another_tenants_rows_never_appear(client, book: SeededTenant, tenants) -> None:
    other = await tenants.new()
    response = await client.get(ACCOUNTS, headers=other.admin.headers)
    assert {r["external_ref"] for r in rows(response.text)} == {
        a.external_ref for a in other.accounts
    }
    for url in (PAYMENTS, INTERACTIONS):
        answer = await client.get(
            url, params={"account_id": book.accounts[0].id}, headers=other.admin.headers
        )
        assert answer.status_code == 404, answer.text


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (ACCOUNTS, {"limit": 0}, "limit"),
        (ACCOUNTS, {"limit": 10_000_001}, "limit"),
        (ACCOUNTS, {"bucket": "nope"}, "bucket"),
        (ACCOUNTS, {"status": "gone"}, "status"),
        (ACCOUNTS, {"dpd_min": -1}, "dpd_min"),
        (ACCOUNTS, {"currency": "usd"}, "currency"),
        (PAYMENTS, {"status": "lost"}, "status"),
        (PAYMENTS, {"from": "2026-02-01", "to": "2026-01-31"}, "from"),
        (INTERACTIONS, {"channel": "fax"}, "channel"),
        (INTERACTIONS, {"from": "yesterday"}, "from"),
    ],
)
async def test_bad_filters_and_limits_are_422_before_the_file(
    client, book: SeededTenant, url: str, params: dict[str, object], field: str
) -> None:
    response = await client.get(url, params=params, headers=book.admin.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def test_limits_at_their_bounds_are_taken(client, book: SeededTenant) -> None:
    for limit in (1, 10_000_000):
        response = await client.get(ACCOUNTS, params={"limit": limit}, headers=book.admin.headers)
        assert response.status_code == 200, response.text


async def _activity(book: SeededTenant) -> None:
    actor = system_actor(book.id)
    async with book.db.tenant(book.id) as conn:
        payments = PaymentService(conn, actor)
        await payments.record(
            book.accounts[6].id,
            PaymentCreate(amount=Decimal("12.5"), currency="USD", reference="@ref"),
            source="staff",
        )
        await payments.record(
            book.accounts[7].id, PaymentCreate(amount=Decimal("3"), currency="EUR"), source="staff"
        )
        notes = InteractionService(conn, actor)
        await notes.log(book.accounts[6].id, InteractionCreate(channel="note", notes="-rude"))
        await notes.log(book.accounts[7].id, InteractionCreate(channel="call", notes="hi"))


async def test_payments_and_interactions_with_filters_and_visibility(
    client, book: SeededTenant
) -> None:
    await _activity(book)
    got = rows((await client.get(PAYMENTS, headers=book.admin.headers)).text)
    assert [(r["account_ref"], r["amount"], r["currency"], r["reference"]) for r in got] == [
        ("PLAIN", "12.50", "USD", "'@ref"),
        ("EUR-1", "3.00", "EUR", ""),
    ]
    assert got[0]["created_at"].endswith("Z")
    mine = rows((await client.get(PAYMENTS, headers=book.other_collector.headers)).text)
    assert [r["account_ref"] for r in mine] == ["EUR-1"]
    one = await client.get(
        PAYMENTS, params={"account_id": book.accounts[6].id}, headers=book.other_collector.headers
    )
    assert one.status_code == 404
    today = {"from": TODAY.isoformat(), "to": TODAY.isoformat()}
    assert (
        len(rows((await client.get(PAYMENTS, params=today, headers=book.admin.headers)).text)) == 2
    )
    later = {"from": (TODAY + dt.timedelta(days=2)).isoformat()}
    assert rows((await client.get(PAYMENTS, params=later, headers=book.admin.headers)).text) == []

    got = rows((await client.get(INTERACTIONS, headers=book.admin.headers)).text)
    assert [(r["account_ref"], r["channel"], r["notes"]) for r in got] == [
        ("PLAIN", "note", "'-rude"),
        ("EUR-1", "call", "hi"),
    ]
    calls = await client.get(INTERACTIONS, params={"channel": "call"}, headers=book.admin.headers)
    assert [r["notes"] for r in rows(calls.text)] == ["hi"]
    mine = await client.get(INTERACTIONS, headers=book.collector.headers)
    assert [r["notes"] for r in rows(mine.text)] == ["'-rude"]
