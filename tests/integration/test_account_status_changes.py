"""Status changes from the desk: dispute, cease, bankruptcy, death, settlement and a dispute
resolved; who may make each, from which statuses, what stops contact, audit and event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from channels import names
from domain.workflows import queries as workflow_queries
from tests.factories import SeededTenant
from tests.integration.supervisor_helpers import mark, written
from tests.integration.workflow_helpers import (
    a_month_ahead,
    broken,
    deliver,
    run_jobs,
    runs,
    workflow,
)

ACCOUNTS = "/api/v1/accounts"
STARTS = ("active", "promised", "promise_broken", "disputed", "paid", "closed")
STARTS += ("bankrupt", "deceased", "settled")
# The statuses each change may start from (the service's table, written out again here).
ALLOWED = {
    "disputed": {"active", "promised", "promise_broken"},
    "cease": {"active", "promised", "promise_broken", "disputed", "bankrupt"},
    "bankrupt": {"active", "promised", "promise_broken", "disputed"},
    "deceased": {"active", "promised", "promise_broken", "disputed", "bankrupt"},
    "settled": {"active", "promised", "promise_broken"},
    "active": {"disputed"},
}


def body(change: str) -> dict[str, str]:
    reason = "not_mine" if change == "disputed" else "told on the phone"
    return {"status": change, "reason": reason, "details": "  Said so.  "}


async def put_status(client: httpx.AsyncClient, tenant: SeededTenant, account_id: int, status: str):
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE accounts SET status = $2 WHERE id = $1", account_id, status)


@pytest.mark.parametrize("change", sorted(ALLOWED))
async def test_each_change_is_allowed_from_its_statuses_and_refused_from_the_rest(
    client, tenant: SeededTenant, change: str
) -> None:
    account = tenant.accounts[0]
    url = f"{ACCOUNTS}/{account.id}/status-changes"
    for start in STARTS:
        await put_status(client, tenant, account.id, start)
        async with tenant.db.tenant(tenant.id) as conn:
            await conn.execute(
                "UPDATE debtors SET cease_requested_at = NULL WHERE id = $1", account.debtor_id
            )
        answer = await client.post(url, json=body(change), headers=tenant.supervisor.headers)
        if start in ALLOWED[change]:
            assert answer.status_code == 200, (start, answer.text)
            expected = start if change == "cease" else change
            assert answer.json()["account"]["status"] == expected, start
        else:
            assert answer.status_code == 409, (start, answer.text)
            assert answer.json()["detail"] == (
                f"an account that is {start} cannot be marked {change}"
            )
            seen = await client.get(f"{ACCOUNTS}/{account.id}", headers=tenant.admin.headers)
            assert seen.json()["status"] == start


@pytest.mark.parametrize(
    ("change", "rule", "letters"),
    [
        ("disputed", "dispute_open", False),
        ("cease", "cease_requested", True),
        ("bankrupt", "bankruptcy", False),
        ("deceased", "deceased", False),
    ],
)
async def test_contact_is_refused_after_each_stopping_change_with_its_reason(
    client, tenant: SeededTenant, change: str, rule: str, letters: bool
) -> None:
    account = tenant.accounts[0]
    status_url = f"{ACCOUNTS}/{account.id}/contact-status"
    before = await client.get(status_url, headers=tenant.admin.headers)
    assert all(rule not in [r["rule"] for r in c["reasons"]] for c in before.json()["channels"])
    answer = await client.post(
        f"{ACCOUNTS}/{account.id}/status-changes",
        json=body(change),
        headers=tenant.supervisor.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["stops_contact"] is True
    after = await client.get(status_url, headers=tenant.admin.headers)
    for channel in after.json()["channels"]:
        refused = rule in [r["rule"] for r in channel["reasons"]]
        if channel["channel"] == "letter" and letters:
            assert not refused, channel
        else:
            assert refused, channel
            assert channel["allowed"] is False
            assert channel["opens_at"] is None


async def test_settled_does_not_stop_contact_rules(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    answer = await client.post(
        f"{ACCOUNTS}/{account.id}/status-changes",
        json=body("settled"),
        headers=tenant.supervisor.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["stops_contact"] is False


@pytest.mark.parametrize(
    ("change", "allowed"),
    [
        ("disputed", True),
        ("cease", True),
        ("bankrupt", False),
        ("deceased", False),
        ("settled", False),
    ],
)
async def test_a_collector_records_a_dispute_or_a_cease_and_nothing_else(
    client, tenant: SeededTenant, change: str, allowed: bool
) -> None:
    account = tenant.accounts[0]
    assert account.owner_id == tenant.collector.id
    answer = await client.post(
        f"{ACCOUNTS}/{account.id}/status-changes",
        json=body(change),
        headers=tenant.collector.headers,
    )
    assert answer.status_code == (200 if allowed else 403), answer.text


async def test_only_a_manager_resolves_a_dispute(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    url = f"{ACCOUNTS}/{account.id}/status-changes"
    opened = await client.post(url, json=body("disputed"), headers=tenant.collector.headers)
    assert opened.status_code == 200, opened.text
    refused = await client.post(url, json=body("active"), headers=tenant.collector.headers)
    assert refused.status_code == 403, refused.text
    readonly = await client.post(url, json=body("disputed"), headers=tenant.readonly.headers)
    assert readonly.status_code == 403
    resolved = await client.post(url, json=body("active"), headers=tenant.supervisor.headers)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["account"]["status"] == "active"
    async with tenant.db.tenant(tenant.id) as conn:
        row = await conn.fetchrow(
            "SELECT disputed_at, dispute_reason, dispute_details FROM accounts WHERE id = $1",
            account.id,
        )
    assert dict(row) == {"disputed_at": None, "dispute_reason": None, "dispute_details": None}


async def test_a_dispute_reason_is_one_of_the_dispute_reasons(client, tenant: SeededTenant) -> None:
    url = f"{ACCOUNTS}/{tenant.accounts[0].id}/status-changes"
    wrong = {"status": "disputed", "reason": "because"}
    answer = await client.post(url, json=wrong, headers=tenant.supervisor.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == (
        "a dispute's reason is one of not_mine, already_paid, wrong_amount, identity_theft, other"
    )
    empty = {"status": "bankrupt", "reason": ""}
    assert (
        await client.post(url, json=empty, headers=tenant.supervisor.headers)
    ).status_code == 422
    short = {"status": "bankrupt", "reason": "x"}
    assert (
        await client.post(url, json=short, headers=tenant.supervisor.headers)
    ).status_code == 200


async def test_another_tenants_account_is_not_found(client, tenants, tenant: SeededTenant) -> None:
    other = await tenants.new()
    answer = await client.post(
        f"{ACCOUNTS}/{other.accounts[0].id}/status-changes",
        json=body("bankrupt"),
        headers=tenant.supervisor.headers,
    )
    assert answer.status_code == 404, answer.text


async def test_a_change_is_audited_and_announced(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    since = await mark(tenant)
    answer = await client.post(
        f"{ACCOUNTS}/{account.id}/status-changes",
        json=body("bankrupt"),
        headers=tenant.supervisor.headers,
    )
    assert answer.status_code == 200, answer.text
    at = answer.json()["changed_at"]
    journal = await written(tenant, since)
    told = {"change": "bankrupt", "reason": "told on the phone", "details": "Said so.", "at": at}
    assert [(a["action"], a["before"], a["after"]) for a in journal.audit] == [
        (
            "account.status.bankrupt",
            {"status": "active"},
            {"status": "bankrupt", "status_change": told},
        )
    ]
    [event] = journal.of_type("account.updated")
    assert event["channels"] == {
        names.account(account.id),
        names.WALLBOARD,
        names.agent(account.owner_id),
    }
    assert event["data"]["status"] == "bankrupt"
    assert event["data"]["status_change"] == told


async def test_a_cease_is_recorded_once_for_the_debtor(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    url = f"{ACCOUNTS}/{account.id}/status-changes"
    first = await client.post(url, json=body("cease"), headers=tenant.collector.headers)
    assert first.status_code == 200, first.text
    debtor = await client.get(f"/api/v1/debtors/{account.debtor_id}", headers=tenant.admin.headers)
    assert debtor.json()["cease_requested_at"] == first.json()["changed_at"]
    again = await client.post(url, json=body("cease"), headers=tenant.collector.headers)
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == "the debtor already asked that contact cease"


async def test_a_due_date_workflow_leaves_settled_bankrupt_and_deceased_accounts_alone(
    tenant: SeededTenant,
) -> None:
    due = dt.date(2026, 1, 5)
    first, second = tenant.accounts[0].id, tenant.accounts[1].id
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE accounts SET due_date = $2, status = 'active' WHERE id = ANY($1::bigint[])",
            [first, second],
            due,
        )
        for n, stopped in enumerate(("settled", "bankrupt", "deceased")):
            await conn.execute("UPDATE accounts SET status = $2 WHERE id = $1", first, stopped)
            staged = await workflow_queries.stage_due_accounts(
                conn, 900 + n, "account.days_past_due", due, due
            )
            assert staged == 1, stopped  # the active one only
        await conn.execute("UPDATE accounts SET status = 'promised' WHERE id = $1", first)
        staged = await workflow_queries.stage_due_accounts(
            conn, 999, "account.days_past_due", due, due
        )
        assert staged == 2


@pytest.mark.parametrize("status", ["active", "disputed", "settled", "closed"])
async def test_an_edit_refuses_a_status_and_names_the_one_way_in(
    client, tenant: SeededTenant, status: str
) -> None:
    account = tenant.accounts[0]
    await put_status(client, tenant, account.id, "disputed")
    url = f"{ACCOUNTS}/{account.id}"
    since = await mark(tenant)
    for headers in (tenant.supervisor.headers, tenant.admin.headers):
        answer = await client.patch(url, json={"status": status, "fees": "9.00"}, headers=headers)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["field"] == "status"
        assert problem["detail"] == (
            f"an account's status changes through POST /api/v1/accounts/{account.id}"
            "/status-changes, which applies the rules of each change"
        )
    after = (await client.get(url, headers=tenant.admin.headers)).json()
    assert (after["status"], Decimal(after["fees"])) == ("disputed", account.fees)
    assert (await written(tenant, since)).audit == []
    # The same edit without the status goes through.
    fees = await client.patch(url, json={"fees": "9.00"}, headers=tenant.supervisor.headers)
    assert fees.status_code == 200, fees.text


async def test_an_edit_of_another_tenants_account_with_a_status_is_not_found(
    client, tenants, tenant: SeededTenant
) -> None:
    other = await tenants.new()
    answer = await client.patch(
        f"{ACCOUNTS}/{other.accounts[0].id}",
        json={"status": "active"},
        headers=tenant.supervisor.headers,
    )
    assert answer.status_code == 404, answer.text


async def test_a_workflow_does_not_move_an_account_a_person_stopped(
    client, db, tenant: SeededTenant
) -> None:
    flow = await workflow(
        client, tenant, "promise.broken", [{"kind": "set_status", "status": "promise_broken"}]
    )
    held = {"disputed": tenant.accounts[0], "settled": tenant.accounts[1]}
    free = tenant.accounts[2]
    for status, account in held.items():
        await put_status(client, tenant, account.id, status)
    for account in (*held.values(), free):
        await deliver(db, tenant.id, "promise.broken", broken(account.id))
    await run_jobs(db, tenant.id, a_month_ahead())
    steps = {r["account_id"]: r["steps"][0] for r in await runs(client, tenant, flow["id"])}
    for status, account in held.items():
        assert steps[account.id]["outcome"] == "skipped", steps[account.id]
        assert steps[account.id]["detail"] == {
            "status": status,
            "reason": f"a {status} account's status changes only from the desk",
        }
    assert steps[free.id]["detail"] == {"from": "active", "to": "promise_broken"}
    shown = {
        a.id: (await client.get(f"{ACCOUNTS}/{a.id}", headers=tenant.admin.headers)).json()[
            "status"
        ]
        for a in (*held.values(), free)
    }
    assert shown == {
        held["disputed"].id: "disputed",
        held["settled"].id: "settled",
        free.id: "promise_broken",
    }
