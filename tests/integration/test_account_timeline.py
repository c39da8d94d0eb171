"""An account's timeline over HTTP: every source in one list, newest first, each entry with
who and a one-line summary; pages whose cursor serves only its own account and tenant; the
account's readers only; one statement whose branches each read their own index."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx

from domain.db import Database
from domain.payments.links import open_link
from domain.timeline import queries as timeline_queries
from domain.workflows.messaging import send_due
from tests.factories import SeededTenant
from tests.integration.workflow_helpers import DEV

API = "/api/v1"


def _timeline(account_id: int) -> str:
    return f"{API}/accounts/{account_id}/timeline"


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _everything(client: httpx.AsyncClient, db: Database, secret: str, t: SeededTenant) -> int:
    """One of each kind of entry on the collector's account, in a known order."""
    account = t.accounts[0]
    collector, supervisor = t.collector.headers, t.supervisor.headers
    base = f"{API}/accounts/{account.id}"
    change = f"{base}/status-changes"
    dispute = {"status": "disputed", "reason": "not_mine"}
    await _ok(await client.post(change, json=dispute, headers=supervisor))
    resolved = {"status": "active", "reason": "statement sent"}
    await _ok(await client.post(change, json=resolved, headers=supervisor))
    task = await _ok(
        await client.post(
            f"{API}/tasks",
            json={"account_id": account.id, "title": "Ring Pat", "strategy": {"kind": "queue"}},
            headers=supervisor,
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{API}/tasks/{task['id']}/cancel",
            json={"reason": "paid elsewhere"},
            headers=supervisor,
        )
    )
    sent = await _ok(
        await client.post(f"{base}/payment-links/send", json={"channel": "sms"}, headers=collector),
        201,
    )
    token = sent["link"]["url"].rsplit("/", 1)[1]
    await open_link(db, secret, token)
    await open_link(db, secret, token)  # again: nothing new
    await _ok(
        await client.post(
            f"{base}/interactions",
            json={"channel": "call", "disposition": "promise", "notes": "pays Friday"},
            headers=collector,
        ),
        201,
    )
    due = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    await _ok(
        await client.post(
            f"{base}/promises", json={"amount": "200.00", "due_date": due}, headers=collector
        ),
        201,
    )
    await _ok(
        await client.post(
            f"{base}/payments",
            json={"amount": "25.50", "currency": "USD", "method": "cash"},
            headers={**collector, "Idempotency-Key": f"timeline-{account.id}"},
        ),
        201,
    )
    return account.id


async def test_every_source_appears_newest_first_with_who_and_summary(
    client: httpx.AsyncClient, db: Database, settings, tenant: SeededTenant
) -> None:
    account_id = await _everything(client, db, settings.secret_key, tenant)
    page = await _ok(await client.get(_timeline(account_id), headers=tenant.collector.headers))
    items = page["items"]
    assert page["next_cursor"] is None
    assert [i["kind"] for i in items] == [
        "payment",
        "promise",
        "interaction",
        "payment_link_opened",
        "message",
        "payment_link_sent",
        "task_closed",
        "task_created",
        "status_change",
        "status_change",
    ]
    times = [dt.datetime.fromisoformat(i["at"]) for i in items]
    assert times == sorted(times, reverse=True)
    collector = f"Collector of {tenant.slug}"
    supervisor = f"Supervisor of {tenant.slug}"
    got = {i["kind"]: (i["who"], i["summary"]) for i in items}
    by_kind = {i["kind"]: i["details"] for i in items}
    due = dt.date.fromisoformat(by_kind["promise"]["due_date"])
    assert due == dt.date.today() + dt.timedelta(days=5)
    # Queued, unless a worker of the session's own processes was quicker than this test.
    assert by_kind["message"]["status"] in ("queued", "sent")
    assert got == {
        "payment": (collector, "Payment $25.50 by cash — succeeded"),
        "promise": (collector, f"Promise $200.00 by {due:%b} {due.day}, {due.year} — pending"),
        "interaction": (collector, "Call outbound — promise"),
        "payment_link_opened": ("debtor", "Payment link opened"),
        "message": ("system", f"SMS to +15555550100 — {by_kind['message']['status']}"),
        "payment_link_sent": (collector, "Payment link made (opened)"),
        # Nobody held it: the work closed without a collector.
        "task_closed": ("system", "Call task cancelled — cancelled"),
        "task_created": (supervisor, "Call task created: Ring Pat"),
        "status_change": (supervisor, "Status active → disputed"),
    }
    # The first opening is news on the account's channel; the second is not.
    async with db.tenant(tenant.id) as conn:
        opened = await conn.fetch(
            "SELECT channels, data FROM outbox WHERE type = 'payment_link.opened'"
        )
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE action = 'payment_link.open' "
            "AND actor_type = 'debtor'"
        )
    assert len(opened) == 1
    assert audited == 1
    assert f"account:{account_id}" in opened[0]["channels"]
    assert opened[0]["data"]["id"] == items[3]["id"]
    assert by_kind["interaction"]["notes"] == "pays Friday"
    assert by_kind["task_closed"]["notes"] == "paid elsewhere"
    assert (by_kind["payment"]["amount"], by_kind["payment"]["currency"]) == ("25.50", "USD")
    changes = [(i["details"]["from"], i["details"]["to"]) for i in items[-2:]]
    assert changes == [("disputed", "active"), ("active", "disputed")]
    assert items[-2]["summary"] == "Status disputed → active"


async def test_pages_follow_on_without_repeats_or_gaps(
    client: httpx.AsyncClient, db: Database, settings, tenant: SeededTenant
) -> None:
    account_id = await _everything(client, db, settings.secret_key, tenant)
    whole = (await _ok(await client.get(_timeline(account_id), headers=tenant.admin.headers)))[
        "items"
    ]
    seen: list[tuple[str, int]] = []
    cursor = None
    pages = 0
    while True:
        query: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = await _ok(
            await client.get(_timeline(account_id), params=query, headers=tenant.admin.headers)
        )
        pages += 1
        seen += [(i["kind"], i["id"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3  # 4 + 4 + 2
    assert seen == [(i["kind"], i["id"]) for i in whole]
    # A page that ends exactly at the last entry says there is no more.
    ten = await _ok(
        await client.get(_timeline(account_id), params={"limit": 10}, headers=tenant.admin.headers)
    )
    nine = await _ok(
        await client.get(_timeline(account_id), params={"limit": 9}, headers=tenant.admin.headers)
    )
    assert (len(ten["items"]), ten["next_cursor"]) == (10, None)
    assert len(nine["items"]) == 9
    assert nine["next_cursor"] is not None


async def test_a_cursor_serves_only_its_own_account_and_tenant(
    client: httpx.AsyncClient, db: Database, settings, tenants, tenant: SeededTenant
) -> None:
    account_id = await _everything(client, db, settings.secret_key, tenant)
    first = await _ok(
        await client.get(_timeline(account_id), params={"limit": 2}, headers=tenant.admin.headers)
    )
    other_account = tenant.accounts[2].id
    refused = await client.get(
        _timeline(other_account),
        params={"cursor": first["next_cursor"]},
        headers=tenant.admin.headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == "cursor belongs to another timeline"
    other = await tenants.new()
    elsewhere = await client.get(
        _timeline(other.accounts[0].id),
        params={"cursor": first["next_cursor"]},
        headers=other.admin.headers,
    )
    assert elsewhere.status_code == 422, elsewhere.text
    garbage = await client.get(
        _timeline(account_id), params={"cursor": "bm90IG91cnM"}, headers=tenant.admin.headers
    )
    assert garbage.status_code == 422, garbage.text


async def test_only_the_accounts_readers_see_its_timeline(
    client: httpx.AsyncClient, tenants, tenant: SeededTenant
) -> None:
    mine, theirs = tenant.accounts[0].id, tenant.accounts[1].id
    assert (await client.get(_timeline(mine), headers=tenant.collector.headers)).status_code == 200
    assert (await client.get(_timeline(mine), headers=tenant.readonly.headers)).status_code == 200
    # Another collector's account, and another tenant's: as if they did not exist.
    hidden = await client.get(_timeline(theirs), headers=tenant.collector.headers)
    assert hidden.status_code == 404, hidden.text
    other = await tenants.new()
    foreign = await client.get(_timeline(other.accounts[0].id), headers=tenant.admin.headers)
    assert foreign.status_code == 404, foreign.text
    empty = await _ok(await client.get(_timeline(mine), headers=tenant.collector.headers))
    assert empty == {"items": [], "next_cursor": None}


async def test_each_source_is_read_from_its_index(db: Database, tenant: SeededTenant) -> None:
    """The plan of the one statement: every branch an index scan under its own limit."""
    async with db.tenant(tenant.id) as conn:
        # A new tenant's few rows: let the planner show the plan a busy account gets.
        await conn.execute("SET LOCAL enable_seqscan = off")
        await conn.execute("SET LOCAL enable_bitmapscan = off")
        # Nor join the names in whole (sorting a branch by its author for a merge join, as
        # the shared test database's statistics may suggest): a branch under its limit looks
        # up each of its few rows' people by key.
        await conn.execute("SET LOCAL enable_mergejoin = off")
        await conn.execute("SET LOCAL enable_hashjoin = off")
        text = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + timeline_queries.TIMELINE,
            tenant.id,
            tenant.accounts[0].id,
            *timeline_queries.START,
            51,
            list(timeline_queries.KINDS),
        )
    plan = json.loads(text)
    scans: list[str] = []
    sorts: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        # People's names, and the debtor's zone (once): looked up by key.
        if node.get("Relation Name") in ("users", "accounts", "debtors"):
            assert node["Node Type"] == "Index Scan", node
        elif node.get("Relation Name"):
            scans.append(f"{node['Relation Name']}:{node.get('Index Name')}")
        if node["Node Type"] == "Sort":  # a whole sort (not the incremental one)
            sorts.append(node["Node Type"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    # No sort of whole sources: each branch comes ordered from its index, the branches are
    # merged in that order, and only ties at one instant are put in order of kind.
    top = plan[0]["Plan"]
    assert (top["Node Type"], top["Plans"][0]["Node Type"]) == ("Limit", "Incremental Sort")
    assert top["Plans"][0]["Plans"][0]["Node Type"] == "Merge Append"
    assert sorts == [], text
    # The messages an interaction sent are found by either index on messages, as the
    # table's statistics make the one or the other cheaper; both are index scans.
    messages = [s for s in scans if s.startswith("messages:")]
    assert len(messages) == 2, text
    assert set(messages) <= {
        "messages:messages_interaction_idx",
        "messages:messages_account_time_idx",
    }, text
    assert "messages:messages_account_time_idx" in messages, text
    scans = [s for s in scans if not s.startswith("messages:")]
    assert sorted(scans) == sorted(
        [
            "interactions:interactions_account_time_idx",
            "payment_links:payment_links_account_time_idx",
            "payment_links:payment_links_opened_idx",
            "payments:payments_account_time_idx",
            "promises:promises_account_time_idx",
            "tasks:tasks_account_time_idx",
            "tasks:tasks_account_closed_idx",
            "audit_log:audit_log_account_status_idx",
        ]
    )


async def test_a_sent_message_is_one_entry_not_also_its_logged_interaction(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    sent = await _ok(
        await client.post(
            f"{API}/accounts/{account.id}/payment-links/send",
            json={"channel": "sms"},
            headers=tenant.collector.headers,
        ),
        201,
    )
    await send_due(db, DEV)
    logged = await _ok(
        await client.get(
            f"{API}/accounts/{account.id}/interactions", headers=tenant.collector.headers
        )
    )
    assert [(i["channel"], i["direction"]) for i in logged["items"]] == [("sms", "outbound")]
    items = (await _ok(await client.get(_timeline(account.id), headers=tenant.collector.headers)))[
        "items"
    ]
    assert [(i["kind"], i["id"]) for i in items] == [
        ("message", sent["message_id"]),
        ("payment_link_sent", sent["link"]["id"]),
    ]
    assert items[0]["summary"] == "SMS to +15555550100 — sent"
    assert items[0]["details"]["sent_at"] is not None


async def _key(client: httpx.AsyncClient, tenant: SeededTenant, *scopes: str) -> dict[str, str]:
    made = await _ok(
        await client.post(
            f"{API}/api-keys",
            json={"name": "feed " + "+".join(scopes), "scopes": list(scopes)},
            headers=tenant.admin.headers,
        ),
        201,
    )
    return {"Authorization": f"Bearer {made['key']}"}


async def test_an_api_key_sees_on_the_timeline_only_the_kinds_its_scopes_reach(
    client: httpx.AsyncClient, db: Database, settings, tenant: SeededTenant
) -> None:
    account_id = await _everything(client, db, settings.secret_key, tenant)
    everything = await _ok(await client.get(_timeline(account_id), headers=tenant.admin.headers))
    every_kind = {i["kind"] for i in everything["items"]}
    assert {"payment", "message", "interaction", "promise", "task_closed"} <= every_kind

    accounts_only = await _key(client, tenant, "accounts:read")
    seen = await _ok(await client.get(_timeline(account_id), headers=accounts_only))
    assert {i["kind"] for i in seen["items"]} == {"status_change"}
    messages = await client.get(f"{API}/accounts/{account_id}/messages", headers=accounts_only)
    assert messages.status_code == 403, messages.text

    with_payments = await _key(client, tenant, "accounts:read", "payments:read")
    seen = await _ok(await client.get(_timeline(account_id), headers=with_payments))
    assert {i["kind"] for i in seen["items"]} == {
        "status_change",
        *(k for k in every_kind if k.startswith("payment")),
    }

    every_scope = await _key(
        client,
        tenant,
        "accounts:read",
        "payments:read",
        "interactions:read",
        "promises:read",
        "tasks:read",
    )
    seen = await _ok(await client.get(_timeline(account_id), headers=every_scope))
    # (the same entries; a message's status may have moved on since, sent by a worker)
    assert [(i["kind"], i["id"]) for i in seen["items"]] == [
        (i["kind"], i["id"]) for i in everything["items"]
    ]
    messages = await client.get(f"{API}/accounts/{account_id}/messages", headers=every_scope)
    assert messages.status_code == 200, messages.text
