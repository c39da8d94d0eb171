"""The debtor's payment page over HTTP: the account behind a link, its checkouts and promises."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest

from domain.db import Database
from domain.errors import Forbidden
from domain.payments import debtor_page
from domain.payments.agency import DEBT_COLLECTOR_NOTICE
from domain.payments.provider_events import apply_provider_event
from domain.payments.providers import ProviderEvent
from domain.payments.schemas import DebtorPromise
from domain.promises.schemas import PromiseCreate
from domain.promises.service import PromiseService
from tests.factories import SeededTenant
from tests.helpers import keyed


async def link(client: httpx.AsyncClient, tenant: SeededTenant, account_id: int) -> str:
    response = await client.post(
        f"/api/v1/accounts/{account_id}/payment-links", json={}, headers=tenant.admin.headers
    )
    assert response.status_code == 201, response.text
    return "/pay/" + response.json()["url"].split("/pay/", 1)[1]


async def checkout(client: httpx.AsyncClient, page: str, amount: str) -> tuple[str, int]:
    """Start a checkout on the page: its id at the provider, and its payment's id."""
    response = await client.post(f"{page}/checkout", json={"amount": amount}, headers=keyed())
    assert response.status_code == 200, response.text
    url = response.json()["checkout_url"]
    assert url.startswith("/sandbox/checkout/pi_sandbox_")
    return url.rsplit("/", 1)[1], response.json()["payment_id"]


async def tenant_today(client: httpx.AsyncClient, tenant: SeededTenant) -> dt.date:
    """Today where the tenant works (what promise dates count from)."""
    zone = (await client.get("/api/v1/tenant", headers=tenant.admin.headers)).json()["time_zone"]
    return dt.datetime.now(ZoneInfo(zone)).date()


async def debtor_zone(tenant: SeededTenant, debtor_id: int) -> str:
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval("SELECT time_zone FROM debtors WHERE id = $1", debtor_id)


def in_a_week() -> dt.date:
    return dt.date.today() + dt.timedelta(days=7)


async def test_the_summary_shows_the_accounts_figures_and_its_open_or_kept_promises(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    due = in_a_week()
    async with tenant.db.tenant(tenant.id) as conn:
        promises = PromiseService(conn, tenant.admin.actor)
        for n, status in enumerate(("pending", "kept", "broken", "cancelled")):
            made = await promises.make(
                account.id,
                PromiseCreate(amount=Decimal(200 + n), due_date=due + dt.timedelta(days=n)),
                source="staff",
            )
            await conn.execute("UPDATE promises SET status = $2 WHERE id = $1", made[0].id, status)
    made = await client.post(
        f"/api/v1/accounts/{account.id}/payment-links",
        json={"expires_in_hours": 5},
        headers=tenant.admin.headers,
    )
    page = "/pay/" + made.json()["url"].split("/pay/", 1)[1]
    response = await client.get(f"{page}/summary")
    assert response.status_code == 200, response.text
    today = await tenant_today(client, tenant)
    zone = await debtor_zone(tenant, account.debtor_id)
    assert response.json() == {
        "creditor": "Test Bank",
        "reference": account.external_ref,
        "first_name": "Pat",
        "time_zone": zone,
        "agency": {
            "name": f"Tenant {tenant.slug}",
            "phone": "",
            "hours": "",
            "privacy_url": "",
            "logo_url": "",
            "notice": DEBT_COLLECTOR_NOTICE,
        },
        "link_expires_at": made.json()["expires_at"],
        "dispute": None,
        # The tenant's promise rules: from today up to 60 days ahead.
        "promise_dates": {
            "earliest": today.isoformat(),
            "latest": (today + dt.timedelta(days=60)).isoformat(),
        },
        "currency": "USD",
        "balance": "1075.00",
        "principal": "1000.00",
        "interest": "50.00",
        "fees": "25.00",
        "status": "promised",
        "promises": [
            {
                "amount": "201.00",
                "due_date": (due + dt.timedelta(days=1)).isoformat(),
                "status": "kept",
            },
            {"amount": "200.00", "due_date": due.isoformat(), "status": "pending"},
        ],
        "payments": [],
        "under_way": "0.00",
    }


async def test_a_checkout_pays_the_accounts_creditor(client, tenant: SeededTenant) -> None:
    page = await link(client, tenant, tenant.accounts[0].id)
    checkout_id, payment_id = await checkout(client, page, "12.34")
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT account_id, amount, status, provider, provider_ref FROM payments WHERE id = $1",
            payment_id,
        )
    assert dict(row) == {
        "account_id": tenant.accounts[0].id,
        "amount": Decimal("12.3400"),
        "status": "pending",
        "provider": "sandbox",
        "provider_ref": checkout_id,
    }
    shown = await client.get(f"/sandbox/checkout/{checkout_id}")
    assert "<h1>Pay Test Bank</h1>" in shown.text


async def test_a_checkout_on_an_account_naming_no_creditor_pays_your_creditor(
    client, tenant: SeededTenant
) -> None:
    account = await tenant.account(creditor="")
    checkout_id, _ = await checkout(client, await link(client, tenant, account.id), "5.00")
    shown = await client.get(f"/sandbox/checkout/{checkout_id}")
    assert "<h1>Pay your creditor</h1>" in shown.text


async def test_a_checkout_is_pending_until_the_provider_says_how_it_ended(
    client, db: Database, tenant: SeededTenant
) -> None:
    page = await link(client, tenant, tenant.accounts[0].id)
    checkout_id, payment_id = await checkout(client, page, "12.30")
    state = await client.get(f"{page}/checkout/{checkout_id}")
    assert state.status_code == 200, state.text
    assert state.json() == {
        "id": payment_id,
        "amount": "12.30",
        "status": "pending",
        "failure_reason": None,
        "receipt": None,
        "method": "card",
        "received_at": None,
    }
    declined = ProviderEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type="charge.failed",
        payment_ref=checkout_id,
        amount=Decimal("12.30"),
        currency="USD",
        failure_reason="Your card was declined.",
    )
    assert await apply_provider_event(db, "sandbox", declined, b"{}") == "processed"
    state = await client.get(f"{page}/checkout/{checkout_id}")
    assert state.json() == {
        "id": payment_id,
        "amount": "12.30",
        "status": "failed",
        "failure_reason": "Your card was declined.",
        "receipt": None,
        "method": "card",
        "received_at": None,
    }


async def paid_checkout(
    client: httpx.AsyncClient, db: Database, page: str, amount: str
) -> tuple[str, int]:
    """A checkout of ``amount`` the provider has said succeeded: its id and its payment's."""
    checkout_id, payment_id = await checkout(client, page, amount)
    paid = ProviderEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type="charge.succeeded",
        payment_ref=checkout_id,
        amount=Decimal(amount),
        currency="USD",
        failure_reason=None,
    )
    assert await apply_provider_event(db, "sandbox", paid, b"{}") == "processed"
    return checkout_id, payment_id


async def test_a_paid_checkout_and_the_payments_list_show_the_receipt_number(
    client, db: Database, tenant: SeededTenant
) -> None:
    """The number the receipt e-mail carries (R- and the payment's id), on the page too."""
    account = tenant.accounts[0]
    page = await link(client, tenant, account.id)
    checkout_id, payment_id = await paid_checkout(client, db, page, "25.00")
    state = await client.get(f"{page}/checkout/{checkout_id}")
    assert state.json() == {
        "id": payment_id,
        "amount": "25.00",
        "status": "succeeded",
        "failure_reason": None,
        "receipt": f"R-{payment_id}",
        "method": "card",
        "received_at": state.json()["received_at"],
    }
    assert state.json()["received_at"] is not None
    # A try that failed and one still at the provider are not payments the page lists.
    failed_id, _ = await checkout(client, page, "30.00")
    declined = ProviderEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type="charge.failed",
        payment_ref=failed_id,
        amount=Decimal("30.00"),
        currency="USD",
        failure_reason="Your card was declined.",
    )
    assert await apply_provider_event(db, "sandbox", declined, b"{}") == "processed"
    await checkout(client, page, "35.00")
    staff = await client.post(
        f"/api/v1/accounts/{account.id}/payments",
        json={"amount": "10.00", "currency": "USD"},
        headers=keyed(tenant.collector.headers),
    )
    assert staff.status_code == 201, staff.text
    summary = (await client.get(f"{page}/summary")).json()
    assert [(p["receipt"], p["amount"], p["status"], p["method"]) for p in summary["payments"]] == [
        (f"R-{staff.json()['id']}", "10.00", "succeeded", "card"),
        (f"R-{payment_id}", "25.00", "succeeded", "card"),
    ]
    assert all(p["received_at"] for p in summary["payments"])
    # The summary of another account's link lists none of these.
    other = await link(client, tenant, tenant.accounts[1].id)
    assert (await client.get(f"{other}/summary")).json()["payments"] == []


async def test_the_page_lists_the_last_ten_payments(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    made = []
    for n in range(11):
        response = await client.post(
            f"/api/v1/accounts/{account.id}/payments",
            json={"amount": f"{n + 1}.00", "currency": "USD"},
            headers=keyed(tenant.collector.headers),
        )
        made.append(f"R-{response.json()['id']}")
    summary = (await client.get(f"{await link(client, tenant, account.id)}/summary")).json()
    assert [p["receipt"] for p in summary["payments"]] == made[::-1][:10]


async def test_a_checkout_in_yen_shows_whole_yen(client, tenant: SeededTenant) -> None:
    account = await tenant.account(
        currency="JPY", principal=Decimal("50000"), interest=Decimal(0), fees=Decimal(0)
    )
    page = await link(client, tenant, account.id)
    checkout_id, _ = await checkout(client, page, "1200")
    state = await client.get(f"{page}/checkout/{checkout_id}")
    assert state.json()["amount"] == "1200"


async def test_a_checkout_of_another_account_or_none_at_all_is_not_found(
    client, tenant: SeededTenant
) -> None:
    mine = await link(client, tenant, tenant.accounts[0].id)
    theirs = await link(client, tenant, tenant.accounts[1].id)
    their_checkout, _ = await checkout(client, theirs, "10.00")
    for checkout_id in (their_checkout, "pi_sandbox_nothing"):
        response = await client.get(f"{mine}/checkout/{checkout_id}")
        assert response.status_code == 404, response.text
        assert response.json()["type"] == "urn:recoup:problem:not-found"
        assert response.json()["detail"] == "no such checkout for this account"


async def test_a_promise_without_an_amount_is_for_the_whole_balance(
    client, tenant: SeededTenant
) -> None:
    page = await link(client, tenant, tenant.accounts[0].id)
    due = in_a_week()
    response = await client.post(f"{page}/promise", json={"due_date": due.isoformat()})
    assert response.status_code == 201, response.text
    assert response.json() == [
        {"amount": "1075.00", "due_date": due.isoformat(), "status": "pending"}
    ]


async def test_a_promise_for_an_amount_is_the_debtors_own(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    page = await link(client, tenant, account.id)
    due = in_a_week()
    response = await client.post(
        f"{page}/promise", json={"due_date": due.isoformat(), "amount": "400.00"}
    )
    assert response.status_code == 201, response.text
    assert response.json() == [
        {"amount": "400.00", "due_date": due.isoformat(), "status": "pending"}
    ]
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT amount, source, created_by FROM promises WHERE account_id = $1", account.id
        )
    assert dict(row) == {"amount": Decimal("400.0000"), "source": "debtor", "created_by": None}


async def test_an_expired_link_shows_it_is_gone(client, tenant: SeededTenant) -> None:
    page = await link(client, tenant, tenant.accounts[0].id)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE payment_links SET expires_at = now() - interval '1 second'")
    response = await client.get(f"{page}/summary")
    assert response.status_code == 410, response.text
    assert response.json()["type"] == "urn:recoup:problem:link-gone"
    assert response.json()["detail"] == (
        f"this payment link has expired. Ask Tenant {tenant.slug} for a new one."
    )
    shown = await client.get(page)
    assert shown.status_code == 410
    # On the page, as a sentence.
    assert f"This payment link has expired. Ask Tenant {tenant.slug} for a new one." in shown.text


@pytest.mark.parametrize(
    "call",
    [
        lambda conn, actor, account: debtor_page.debtor_summary(conn, actor),
        lambda conn, actor, account: debtor_page.start_checkout(
            conn, actor, Decimal("1.00"), "pi_staff"
        ),
        lambda conn, actor, account: debtor_page.checkout_state(conn, actor, "pi_staff"),
        lambda conn, actor, account: debtor_page.promise(
            conn, actor, DebtorPromise(due_date=in_a_week())
        ),
    ],
    ids=["summary", "checkout", "checkout state", "promise"],
)
async def test_only_the_holder_of_a_link_has_a_payment_page(tenant: SeededTenant, call) -> None:  # type: ignore[no-untyped-def]
    async with tenant.db.tenant(tenant.id) as conn:
        with pytest.raises(Forbidden) as refused:
            await call(conn, tenant.admin.actor, tenant.accounts[0].id)
    assert refused.value.detail == "only the holder of a payment link has a payment page"


async def test_a_refunds_reason_is_the_managers_note_not_the_debtors_to_read(
    client, db: Database, tenant: SeededTenant
) -> None:
    """A decline says the provider's reason on the page; a refund's or reversal's reason is
    what a manager wrote, and neither the page's checkout nor its channel carries it."""
    account = tenant.accounts[0]
    page = await link(client, tenant, account.id)
    checkout_id, payment_id = await paid_checkout(client, db, page, "25.00")
    note = "goodwill: agreed with the client's account manager"
    refunded = await client.post(
        f"/api/v1/payments/{payment_id}/refund",
        json={"reason": note},
        headers=keyed(tenant.supervisor.headers),
    )
    assert refunded.status_code == 200, refunded.text
    state = (await client.get(f"{page}/checkout/{checkout_id}")).json()
    assert (state["status"], state["failure_reason"]) == ("refunded", None)
    async with db.tenant(tenant.id) as conn:
        heard = await conn.fetch(
            "SELECT channels, data::text AS data FROM outbox WHERE type = 'payment.refunded'"
        )
    on_page = [r["data"] for r in heard if f"pay:{account.id}" in r["channels"]]
    assert len(on_page) == 1
    assert note not in on_page[0]
    # The staff's own event keeps it.
    assert any(note in r["data"] for r in heard if f"account:{account.id}" in r["channels"])
