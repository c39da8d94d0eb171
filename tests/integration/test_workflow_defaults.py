"""The workflows a tenant starts with: there, valid, running through the real relay and
worker (a receipt for a payment, a text and a call for a broken promise) and on the
scheduler's time trigger (a reminder two days ahead), and editable like any other."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx
import msgspec
import pytest

from domain.actor import system_actor
from domain.clock import utcnow
from domain.db import Database
from domain.promises.service import settle_promises
from domain.tenancy.service import create_tenant
from domain.workflows.schemas import Definition
from domain.workflows.service import WorkflowService
from tasks.workflows import run_time_triggers
from tests.conftest import SmtpSink
from tests.factories import SeededTenant, TenantFactory
from tests.integration.workflow_helpers import API, DEV, LINKS, runs

SHIPPED = [
    ("Broken promise follow-up", "promise.broken", None, ["send_sms", "create_task"]),
    ("Payment receipt", "payment.received", None, ["send_email"]),
    ("Promise reminder", "promise.due_in", 2, ["send_sms"]),
]


@pytest.fixture
async def shipped(tenants: TenantFactory) -> SeededTenant:
    """A tenant created as a real one is: with the shipped workflows."""
    return await tenants.new(defaults=True)


async def _workflows(client: httpx.AsyncClient, tenant: SeededTenant) -> dict[str, dict]:
    response = await client.get(f"{API}/workflows", headers=tenant.supervisor.headers)
    assert response.status_code == 200, response.text
    return {w["name"]: w for w in response.json()["items"]}


async def _wait_for(probe, what: str, seconds: float = 20.0):  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what} within {seconds} s")


async def test_a_new_tenant_starts_with_the_shipped_workflows_enabled_and_valid(
    client: httpx.AsyncClient, shipped: SeededTenant
) -> None:
    flows = await _workflows(client, shipped)
    assert (
        sorted(
            (name, w["trigger"]["type"], w["trigger"].get("days"), [s["kind"] for s in w["steps"]])
            for name, w in flows.items()
        )
        == SHIPPED
    )
    assert all(w["enabled"] and w["version"] == 1 for w in flows.values())
    response = await client.get(f"{API}/templates", headers=shipped.supervisor.headers)
    templates = {t["name"]: t for t in response.json()["items"]}
    assert {(n, t["channel"]) for n, t in templates.items()} == {
        ("Payment receipt", "email"),
        ("Promise reminder", "sms"),
        ("Broken promise", "sms"),
    }
    receipt = templates["Payment receipt"]
    for name in ("payment.amount", "payment.receipt", "account.balance"):
        assert "{{ " + name + " }}" in receipt["body"]
    # Each is what the service accepts from a supervisor, checked again as it stands.
    async with shipped.db.tenant(shipped.id) as conn:
        service = WorkflowService(conn, shipped.supervisor.actor)
        for flow in flows.values():
            parts = {k: flow[k] for k in ("trigger", "conditions", "steps")}
            await service.check(msgspec.convert(parts, Definition, strict=False))
    broken = flows["Broken promise follow-up"]
    assert broken["conditions"] == ["account.balance_minor > 0"]
    assert broken["steps"][1] == {
        "kind": "create_task",
        "type": "call",
        "title": "Call about the broken promise",
        "priority": 70,
        "strategy": {"kind": "owner", "agent_id": None, "group_id": None},
        "queue_id": None,
        "due_offset_minutes": 1440,
    }


async def test_tenants_made_for_other_tests_start_without_workflows(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    assert await _workflows(client, tenant) == {}


async def test_every_tenant_gets_its_own_defaults_under_the_same_names(
    client: httpx.AsyncClient, db: Database, shipped: SeededTenant, tenants: TenantFactory
) -> None:
    # The names are taken in another tenant already: each tenant's names are its own.
    other = await tenants.new(defaults=True, with_accounts=False)
    mine, theirs = await _workflows(client, shipped), await _workflows(client, other)
    assert mine.keys() == theirs.keys()
    assert not {w["id"] for w in mine.values()} & {w["id"] for w in theirs.values()}
    async with db.system() as conn:
        audited = await conn.fetch(
            "SELECT action FROM audit_log WHERE tenant_id = $1 AND entity_type IN "
            "('workflow', 'template') ORDER BY id",
            other.id,
        )
    assert [r["action"] for r in audited] == ["template.create"] * 3 + ["workflow.create"] * 3


async def test_a_tenant_is_created_whole_or_not_at_all(db: Database) -> None:
    slug = "defaults-rolled-back"
    with pytest.raises(RuntimeError):
        async with db.system() as conn:
            tenant = await create_tenant(conn, slug=slug, name="Rolled back")
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM workflows WHERE tenant_id = $1", tenant.id
                )
                == 3
            )
            raise RuntimeError("the caller gives up")
    async with db.system() as conn:
        assert await conn.fetchval("SELECT count(*) FROM tenants WHERE slug = $1", slug) == 0


async def test_the_shipped_workflows_are_edited_switched_off_and_removed_like_any(
    client: httpx.AsyncClient, shipped: SeededTenant
) -> None:
    headers = shipped.supervisor.headers
    flows = await _workflows(client, shipped)
    receipt = flows["Payment receipt"]
    off = await client.patch(
        f"{API}/workflows/{receipt['id']}", json={"enabled": False}, headers=headers
    )
    assert (off.status_code, off.json()["enabled"], off.json()["version"]) == (200, False, 1)
    broken = flows["Broken promise follow-up"]
    fewer = await client.patch(
        f"{API}/workflows/{broken['id']}",
        json={"steps": broken["steps"][:1], "conditions": ["account.balance_minor >= 1000"]},
        headers=headers,
    )
    assert fewer.status_code == 200, fewer.text
    assert (fewer.json()["version"], len(fewer.json()["steps"])) == (2, 1)
    templates = {
        t["name"]: t
        for t in (await client.get(f"{API}/templates", headers=headers)).json()["items"]
    }
    reworded = await client.patch(
        f"{API}/templates/{templates['Payment receipt']['id']}",
        json={"body": "Thanks for {{ payment.amount }} ({{ payment.receipt }})."},
        headers=headers,
    )
    assert reworded.status_code == 200, reworded.text
    # A misspelt name is refused in a shipped template as in any.
    bad = await client.patch(
        f"{API}/templates/{templates['Promise reminder']['id']}",
        json={"body": "Due {{ promise.amount_due }}"},
        headers=headers,
    )
    assert (bad.status_code, bad.json()["field"]) == (422, "body")
    in_use = await client.delete(
        f"{API}/templates/{templates['Promise reminder']['id']}", headers=headers
    )
    assert in_use.status_code == 409
    reminder = flows["Promise reminder"]
    gone = await client.delete(f"{API}/workflows/{reminder['id']}", headers=headers)
    assert gone.status_code == 204
    freed = await client.delete(
        f"{API}/templates/{templates['Promise reminder']['id']}", headers=headers
    )
    assert freed.status_code == 204
    assert sorted(await _workflows(client, shipped)) == [
        "Broken promise follow-up",
        "Payment receipt",
    ]


async def test_a_payment_gets_the_shipped_receipt_through_relay_and_worker(
    relay, worker, client: httpx.AsyncClient, shipped: SeededTenant, smtp_sink: SmtpSink
) -> None:
    account = shipped.accounts[0]
    address = f"shipped-receipt-{shipped.id}@example.com"
    async with shipped.db.tenant(shipped.id) as conn:
        await conn.execute(
            "UPDATE debtors SET email = $1 WHERE id = $2", address, account.debtor_id
        )
    paid = await client.post(
        f"{API}/accounts/{account.id}/payments",
        json={"amount": "75.00", "currency": "USD"},
        headers={**shipped.collector.headers, "Idempotency-Key": f"shipped-{shipped.id}"},
    )
    assert paid.status_code == 201, paid.text
    receipt = f"R-{paid.json()['id']}"

    async def mail():  # type: ignore[no-untyped-def]
        return smtp_sink.to(address)

    (message,) = await _wait_for(mail, "receipt e-mail")
    assert message["Subject"] == f"Receipt {receipt}: we received $75.00"
    body = message.get_content().replace("\r\n", "\n")
    assert f"Receipt number: {receipt}\n" in body
    assert "Amount paid: $75.00\n" in body
    # 1,075.00 owed before: the balance after the payment.
    assert "New balance: $1,000.00\n" in body
    assert body.startswith("Hello Pat,\n")
    assert re.search(r"To stop these e-mails: http://\S+/optout/\S+", body)
    flows = await _workflows(client, shipped)
    (run,) = await runs(client, shipped, flows["Payment receipt"]["id"])
    assert run["trigger_type"] == "payment.received"
    # The e-mail is on the account's timeline like every message.
    timeline = await client.get(
        f"{API}/accounts/{account.id}/interactions", headers=shipped.collector.headers
    )
    assert [i["channel"] for i in timeline.json()["items"]].count("email") == 1


async def test_a_broken_promise_gets_the_shipped_text_and_call_through_relay_and_worker(
    relay, worker, client: httpx.AsyncClient, shipped: SeededTenant
) -> None:
    account = shipped.accounts[1]
    due = dt.date.today() + dt.timedelta(days=1)
    made = await client.post(
        f"{API}/accounts/{account.id}/promises",
        json={"amount": "200.00", "due_date": due.isoformat()},
        headers=shipped.admin.headers,
    )
    assert made.status_code == 201, made.text
    # The scheduled judgement, as its job runs it once the grace days are over.
    async with shipped.db.tenant(shipped.id) as conn:
        judged = await settle_promises(conn, shipped.id, utcnow() + dt.timedelta(days=10))
    assert [p.status for p in judged] == ["broken"]
    flows = await _workflows(client, shipped)

    async def finished():  # type: ignore[no-untyped-def]
        found = await runs(client, shipped, flows["Broken promise follow-up"]["id"])
        return found if found and found[0]["status"] == "completed" else None

    (run,) = await _wait_for(finished, "completed run")
    assert [(s["kind"], s["outcome"]) for s in run["steps"]] == [
        ("send_sms", "done"),
        ("create_task", "done"),
    ]
    async with shipped.db.tenant(shipped.id) as conn:
        text = await conn.fetchrow("SELECT * FROM messages WHERE run_id = $1", run["id"])
        task = await conn.fetchrow(
            "SELECT * FROM tasks WHERE id = $1", run["steps"][1]["detail"]["task_id"]
        )
    assert (text["channel"], text["status"], text["to_address"]) == ("sms", "sent", "+15555550100")
    words = due.strftime("%B ") + str(due.day) + due.strftime(", %Y")
    assert f"the $200.00 promised for {words} on account {account.external_ref}" in text["body"]
    assert "/pay/" in text["body"]
    assert (task["type"], task["account_id"], task["title"]) == (
        "call",
        account.id,
        "Call about the broken promise",
    )
    tomorrow = task["created_at"] + dt.timedelta(days=1)
    assert abs(task["due_at"] - tomorrow) < dt.timedelta(seconds=5)


async def test_a_promise_due_in_two_days_gets_the_shipped_reminder(
    client: httpx.AsyncClient, db: Database, shipped: SeededTenant
) -> None:
    today = dt.datetime.now(dt.UTC).date()  # the tenant's calendar (UTC)
    accounts = {days: await shipped.account() for days in (1, 2, 3)}
    for days, account in accounts.items():
        made = await client.post(
            f"{API}/accounts/{account.id}/promises",
            json={"amount": f"{days + 1}00.00", "due_date": str(today + dt.timedelta(days=days))},
            headers=shipped.admin.headers,
        )
        assert made.status_code == 201, made.text
    # The scheduler's quarter-hourly job, twice: the reminder goes once.
    assert await run_time_triggers(db, LINKS, DEV) >= 1
    await run_time_triggers(db, LINKS, DEV)
    async with db.tenant(shipped.id) as conn:
        texts = await conn.fetch(
            "SELECT account_id, body, status FROM messages ORDER BY id",
        )
    account = accounts[2]
    due = today + dt.timedelta(days=2)
    words = due.strftime("%B ") + str(due.day) + due.strftime(", %Y")
    assert [(t["account_id"], t["status"]) for t in texts] == [(account.id, "sent")]
    assert texts[0]["body"].startswith(
        f"Tenant {shipped.slug}: a reminder that your payment of $300.00 on account "
        f"{account.external_ref} is due on {words}. Pay here: http://recoup.test/pay/"
    )


async def test_the_demo_has_the_shipped_workflows(demo: None, db: Database) -> None:
    async with db.system() as conn:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE slug = 'demo'")
    async with db.tenant(tenant_id) as conn:
        flows = await WorkflowService(conn, system_actor(tenant_id)).list()
    assert sorted((w.name, w.enabled) for w in flows) == [
        ("Broken promise follow-up", True),
        ("Payment receipt", True),
        ("Promise reminder", True),
    ]
