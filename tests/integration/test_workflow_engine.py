"""The workflow engine on a clock the test moves: runs started once per event, steps run and
recorded, waits that outlive the worker, contact hours respected."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from domain.db import Database
from domain.debtors.schemas import DebtorCreate
from domain.workflows import engine, plans
from domain.workflows.queries.runs import RunStartedElsewhere
from domain.workflows.schemas import Branch
from tests.factories import SeededTenant
from tests.integration.workflow_helpers import (
    API,
    Clock,
    a_month_ahead,
    broken,
    deliver,
    run_jobs,
    runs,
    template,
    workflow,
)

NEW_YORK = ZoneInfo("America/New_York")


async def test_a_broken_promise_texts_the_debtor_and_books_a_call_for_tomorrow_once(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    clock = a_month_ahead()
    account = tenant.accounts[0]
    sms = await template(
        client, tenant, "sms", "Hi {{ debtor.first_name }}, {{ account.balance }} is still due."
    )
    flow = await workflow(
        client,
        tenant,
        "promise.broken",
        [
            {"kind": "send_sms", "template_id": sms},
            {"kind": "create_task", "type": "call", "due_offset_minutes": 1440},
        ],
        conditions=["account.balance_minor > 0"],
    )
    event_id = await deliver(db, tenant.id, "promise.broken", broken(account.id))
    assert (await run_jobs(db, tenant.id, clock))["events"] == 1

    (run,) = await runs(client, tenant, flow["id"])
    assert (run["status"], run["account_id"], run["trigger_event_id"]) == (
        "completed",
        account.id,
        str(event_id),
    )
    assert run["account_ref"] == account.external_ref
    mailbox = await client.get(f"{API}/messages", headers=tenant.supervisor.headers)
    (sent,) = [m for m in mailbox.json()["items"] if m["run_id"] == run["id"]]
    assert (sent["account_id"], sent["account_ref"]) == (account.id, account.external_ref)
    assert [(s["kind"], s["outcome"]) for s in run["steps"]] == [
        ("send_sms", "done"),
        ("create_task", "done"),
    ]
    async with db.tenant(tenant.id) as conn:
        message = await conn.fetchrow("SELECT * FROM messages WHERE run_id = $1", run["id"])
        task = await conn.fetchrow(
            "SELECT * FROM tasks WHERE id = $1", run["steps"][1]["detail"]["task_id"]
        )
        logged = await conn.fetch(
            "SELECT channel, direction, notes FROM interactions "
            "WHERE account_id = $1 AND channel = 'sms'",
            account.id,
        )
    assert (message["status"], message["transport"], message["to_address"]) == (
        "sent",
        "dev-sms",
        "+15555550100",
    )
    assert message["body"].startswith(
        "Hi Pat, $1,075.00 is still due. Opt out: http://recoup.test/optout/"
    )
    assert message["sent_at"] == clock.now
    assert [(i["channel"], i["direction"]) for i in logged] == [("sms", "outbound")]
    assert message["interaction_id"] is not None
    assert (task["type"], task["due_at"], task["title"]) == (
        "call",
        clock.now + dt.timedelta(days=1),
        flow["name"],
    )

    # The same event again (a redelivery): no second run, text or call.
    await deliver(db, tenant.id, "promise.broken", broken(account.id), event_id)
    clock.advance(minutes=5)
    assert (await run_jobs(db, tenant.id, clock))["events"] == 1
    assert len(await runs(client, tenant, flow["id"])) == 1
    async with db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM messages") == 1
        assert await conn.fetchval("SELECT count(*) FROM tasks WHERE type = 'call'") == 1


async def test_a_text_after_hours_waits_for_eight_in_the_debtors_morning(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = await tenant.account(
        debtor=DebtorCreate(first_name="Nia", phone="+12125550100", time_zone="America/New_York")
    )
    evening = dt.datetime(2026, 12, 30, 21, 30, tzinfo=NEW_YORK).astimezone(dt.UTC)
    clock = Clock(evening)
    sms = await template(client, tenant, "sms", "Hello {{ debtor.first_name }}")
    flow = await workflow(
        client, tenant, "promise.broken", [{"kind": "send_sms", "template_id": sms}]
    )
    await deliver(db, tenant.id, "promise.broken", broken(account.id))
    await run_jobs(db, tenant.id, clock)
    (run,) = await runs(client, tenant, flow["id"])
    morning = dt.datetime(2026, 12, 31, 8, 0, tzinfo=NEW_YORK).astimezone(dt.UTC)
    assert (run["status"], run["position"]) == ("waiting", 0)
    assert dt.datetime.fromisoformat(run["resume_at"]) == morning
    assert run["steps"][0]["outcome"] == "waiting"
    assert run["steps"][0]["detail"]["until"] == morning.isoformat()

    clock.now = morning - dt.timedelta(minutes=1)
    await run_jobs(db, tenant.id, clock)
    (run,) = await runs(client, tenant, flow["id"])
    assert (run["status"], len(run["steps"])) == ("waiting", 1)
    clock.now = morning
    await run_jobs(db, tenant.id, clock)
    (run,) = await runs(client, tenant, flow["id"])
    assert run["status"] == "completed"
    assert [s["outcome"] for s in run["steps"]] == ["waiting", "done"]
    async with db.tenant(tenant.id) as conn:
        sent_at = await conn.fetchval("SELECT sent_at FROM messages WHERE run_id = $1", run["id"])
    assert sent_at == morning


async def test_a_wait_outlives_the_worker_and_goes_on_on_the_minute(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    clock = a_month_ahead()
    account = tenant.accounts[2]
    flow = await workflow(
        client,
        tenant,
        "promise.broken",
        [{"kind": "wait", "minutes": 60}, {"kind": "create_task", "type": "review"}],
    )
    await deliver(db, tenant.id, "promise.broken", broken(account.id))
    started = clock.now
    await run_jobs(db, tenant.id, clock)
    (run,) = await runs(client, tenant, flow["id"])
    assert (run["status"], run["position"]) == ("waiting", 1)
    assert dt.datetime.fromisoformat(run["resume_at"]) == started + dt.timedelta(minutes=60)

    plans._PLANS.clear()  # a new worker process remembers nothing
    clock.now = started + dt.timedelta(minutes=59, seconds=59)
    await run_jobs(db, tenant.id, clock)
    (run,) = await runs(client, tenant, flow["id"])
    assert (run["status"], len(run["steps"])) == ("waiting", 1)
    clock.now = started + dt.timedelta(minutes=60)
    await run_jobs(db, tenant.id, clock)
    (run,) = await runs(client, tenant, flow["id"])
    assert run["status"] == "completed"
    assert [(s["kind"], s["outcome"]) for s in run["steps"]] == [
        ("wait", "done"),
        ("create_task", "done"),
    ]
    # Whoever watches the account saw the run start and, an hour later, go on.
    async with db.tenant(tenant.id) as conn:
        told = await conn.fetch(
            "SELECT type, channels, data FROM outbox "
            "WHERE type LIKE 'workflow.%' AND (data ->> 'account_id')::bigint = $1 ORDER BY id",
            account.id,
        )
    assert [e["type"] for e in told] == ["workflow.triggered", "workflow.step"]
    assert f"account:{account.id}" in told[0]["channels"]
    assert [len(e["data"]["runs"]) for e in told] == [1, 1]
    started_run, went_on = (e["data"]["runs"][0] for e in told)
    assert started_run["id"] == went_on["id"] == run["id"]
    assert (started_run["status"], started_run["position"]) == ("waiting", 1)
    assert started_run["workflow_id"] == flow["id"]
    assert started_run["trigger_event_id"] == run["trigger_event_id"]
    assert (went_on["status"], went_on["position"], went_on["resume_at"]) == ("completed", 2, None)


async def test_conditions_choose_the_accounts_and_a_failing_one_is_recorded(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    clock = a_month_ahead()
    rich, poor = (
        tenant.accounts[0],
        await tenant.account(principal=Decimal(0), interest=Decimal(0), fees=Decimal(0)),
    )
    flow = await workflow(
        client,
        tenant,
        "promise.broken",
        [{"kind": "set_status", "status": "disputed"}],
        conditions=["account.balance_minor >= 107500", "account.days_past_due >= 45"],
    )
    failing = await workflow(
        client, tenant, "promise.broken", [], conditions=["account.custom.tier == 'gold'"]
    )
    for account in (rich, poor):
        await deliver(db, tenant.id, "promise.broken", broken(account.id))
    await run_jobs(db, tenant.id, clock)
    (run,) = await runs(client, tenant, flow["id"])
    assert (run["account_id"], run["status"]) == (rich.id, "completed")
    assert run["steps"][0]["detail"] == {"from": "active", "to": "disputed"}
    status = await client.get(f"{API}/accounts/{rich.id}", headers=tenant.supervisor.headers)
    assert status.json()["status"] == "disputed"

    failed = await runs(client, tenant, failing["id"])
    assert [r["status"] for r in failed] == ["failed", "failed"]
    assert failed[0]["error"] == "a condition could not be evaluated: there is no field 'tier'"
    shown = await client.get(f"{API}/workflows/{failing['id']}", headers=tenant.supervisor.headers)
    assert shown.json()["last_error"] == failed[0]["error"]
    assert shown.json()["runs_today"] == 0  # today is a month before these runs


async def test_arms_stop_if_and_the_accounts_timeline(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    clock = a_month_ahead()
    flow = await workflow(
        client,
        tenant,
        "promise.broken",
        [
            {"kind": "stop_if", "condition": 'account.status == "paid"'},
            {
                "kind": "branch",
                "arms": [
                    {"name": "letter", "weight": 1, "steps": [{"kind": "emit", "event": "letter"}]},
                    {"name": "call", "weight": 1, "steps": [{"kind": "create_task"}]},
                ],
            },
        ],
    )
    paid = await tenant.account(status="paid")
    accounts = [*tenant.accounts[:3], paid]
    for account in accounts:
        await deliver(db, tenant.id, "promise.broken", broken(account.id))
    await run_jobs(db, tenant.id, clock)
    made = {r["account_id"]: r for r in await runs(client, tenant, flow["id"])}
    split = msgspec.convert(flow["steps"][1], Branch)
    assert made[paid.id]["status"] == "stopped"
    for account in tenant.accounts[:3]:
        run = made[account.id]
        expected = plans.arm_for(flow["id"], 1, account.id, split)
        assert (run["status"], run["arm"]) == ("completed", expected)
        kinds = [s["kind"] for s in run["steps"]]
        assert kinds == ["stop_if", "emit" if expected == "letter" else "create_task"]
    timeline = await client.get(
        f"{API}/accounts/{tenant.accounts[0].id}/workflow-runs", headers=tenant.collector.headers
    )
    assert [r["workflow_id"] for r in timeline.json()["items"]] == [flow["id"]]
    # Runs and messages name the account as people do, by its reference.
    assert timeline.json()["items"][0]["account_ref"] == tenant.accounts[0].external_ref
    hidden = await client.get(
        f"{API}/accounts/{tenant.accounts[1].id}/workflow-runs", headers=tenant.collector.headers
    )
    assert hidden.status_code == 404


async def test_a_workflows_own_message_never_triggers_a_workflow(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    clock = a_month_ahead()
    account = tenant.accounts[0]
    sms = await template(client, tenant, "sms", "Noted")
    flow = await workflow(
        client, tenant, "interaction.logged", [{"kind": "send_sms", "template_id": sms}]
    )
    await deliver(
        db, tenant.id, "interaction.logged", {"id": 0, "account_id": account.id, "channel": "call"}
    )
    await run_jobs(db, tenant.id, clock)
    (run,) = await runs(client, tenant, flow["id"])
    async with db.tenant(tenant.id) as conn:
        interaction = await conn.fetchval(
            "SELECT interaction_id FROM messages WHERE run_id = $1", run["id"]
        )
    # The interaction the text was logged as comes back as an event (here by hand; a relay
    # running meanwhile may bring the real one too): it is taken, and starts nothing.
    again = await deliver(
        db, tenant.id, "interaction.logged", {"id": interaction, "account_id": account.id}
    )
    await run_jobs(db, tenant.id, clock)
    assert len(await runs(client, tenant, flow["id"])) == 1
    async with db.system() as conn:
        left = await conn.fetchval("SELECT count(*) FROM workflow_inbox WHERE event_id = $1", again)
    assert left == 0


async def test_a_batch_makes_its_tasks_and_events_together_and_a_failing_step_fails_its_own_runs(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    clock = a_month_ahead()
    made = await client.post(
        f"{API}/queues", json={"name": "Going"}, headers=tenant.supervisor.headers
    )
    queue_id = made.json()["id"]
    doomed = await workflow(
        client,
        tenant,
        "promise.broken",
        [{"kind": "create_task", "queue_id": queue_id}, {"kind": "emit", "event": "doomed"}],
    )
    fine = await workflow(
        client,
        tenant,
        "promise.broken",
        [
            {"kind": "create_task", "title": "Call back", "priority": 70},
            {"kind": "emit", "event": "booked", "data": {"n": 1}},
        ],
    )
    async with db.system() as conn:  # the queue goes after the workflow was saved
        await conn.execute("DELETE FROM task_queues WHERE id = $1", queue_id)
    accounts = tenant.accounts[:3]
    for account in accounts:
        await deliver(db, tenant.id, "promise.broken", broken(account.id))
    assert (await run_jobs(db, tenant.id, clock))["events"] == 3

    failed = await runs(client, tenant, doomed["id"])
    assert {r["account_id"] for r in failed} == {a.id for a in accounts}
    for run in failed:
        assert run["status"] == "failed"
        assert run["error"] == f"step 1 (create_task): queue {queue_id} not found"
        assert [(s["kind"], s["outcome"]) for s in run["steps"]] == [("create_task", "failed")]

    done = await runs(client, tenant, fine["id"])
    assert {r["account_id"] for r in done} == {a.id for a in accounts}
    async with db.tenant(tenant.id) as conn:
        for run in done:
            assert run["status"] == "completed"
            assert [(s["kind"], s["outcome"]) for s in run["steps"]] == [
                ("create_task", "done"),
                ("emit", "done"),
            ]
            task = await conn.fetchrow(
                "SELECT account_id, title, priority, status FROM tasks WHERE id = $1",
                run["steps"][0]["detail"]["task_id"],
            )
            assert tuple(task) == (run["account_id"], "Call back", 70, "open")
            event = await conn.fetchrow(
                "SELECT type, data FROM outbox WHERE event_id = $1",
                msgspec.convert(run["steps"][1]["detail"]["event_id"], uuid.UUID),
            )
            assert event["type"] == "workflow.booked"
            assert event["data"] == {
                "workflow_id": fine["id"],
                "run_id": run["id"],
                "account_id": run["account_id"],
                "event": "booked",
                "data": {"n": 1},
            }
            created = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE type = 'task.created' "
                "AND (data -> 'task' ->> 'id')::bigint = $1",
                run["steps"][0]["detail"]["task_id"],
            )
            assert created == 1
    shown = await client.get(f"{API}/workflows/{doomed['id']}", headers=tenant.supervisor.headers)
    assert shown.json()["last_error"] == f"step 1 (create_task): queue {queue_id} not found"
    # One event per account for the batch, naming both of its runs.
    async with db.tenant(tenant.id) as conn:
        told = await conn.fetch(
            "SELECT data FROM outbox WHERE type = 'workflow.triggered' ORDER BY id"
        )
    assert sorted(e["data"]["account_id"] for e in told) == sorted(a.id for a in accounts)
    for event in told:
        assert sorted(r["workflow_id"] for r in event["data"]["runs"]) == sorted(
            [doomed["id"], fine["id"]]
        )


async def test_a_run_made_meanwhile_sends_the_whole_batch_back_to_start_over(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, monkeypatch
) -> None:
    clock = a_month_ahead()
    flow = await workflow(client, tenant, "promise.broken", [{"kind": "create_task"}])
    first, second = tenant.accounts[:2]
    await deliver(db, tenant.id, "promise.broken", broken(first.id))
    await run_jobs(db, tenant.id, clock)
    (made,) = await runs(client, tenant, flow["id"])
    # Another worker's run of the same event appears between the check and the insert:
    # the check is made to miss it.
    await deliver(db, tenant.id, "promise.broken", broken(second.id))
    async with db.tenant(tenant.id) as conn:
        await conn.execute(
            "INSERT INTO workflow_inbox (tenant_id, event_id, type, data, occurred_at) "
            "SELECT tenant_id, event_id, trigger_type, '{}', started_at FROM workflow_runs "
            "WHERE id = $1",
            made["id"],
        )
        await conn.execute(
            "UPDATE workflow_inbox SET data = $2 WHERE event_id = $1",
            uuid.UUID(made["trigger_event_id"]),
            broken(first.id),
        )
    checked = engine.queries.fresh

    async def misses_the_first(conn, keys):  # type: ignore[no-untyped-def]
        found = await checked(conn, keys)
        return {i: found.get(i, -i - 1) for i in range(len(keys))}

    monkeypatch.setattr(engine.queries, "fresh", misses_the_first)
    with pytest.raises(RunStartedElsewhere, match="1 of 2 runs were made meanwhile"):
        await run_jobs(db, tenant.id, clock)
    async with db.tenant(tenant.id) as conn:
        # Nothing of the batch stayed: the events wait in the inbox, no task was made.
        assert await conn.fetchval("SELECT count(*) FROM workflow_inbox") == 2
        assert await conn.fetchval("SELECT count(*) FROM workflow_runs") == 1
        tasks = await conn.fetchval("SELECT count(*) FROM tasks WHERE account_id = $1", second.id)
    assert tasks == 0
    monkeypatch.undo()
    assert (await run_jobs(db, tenant.id, clock))["events"] == 2
    assert sorted(r["account_id"] for r in await runs(client, tenant, flow["id"])) == sorted(
        [first.id, second.id]
    )


async def test_where_a_message_went_is_read_by_api_keys_with_debtors_read_alone(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    account = await tenant.account(
        debtor=DebtorCreate(first_name="Ola", phone="+12125550111", time_zone="America/New_York")
    )
    noon = dt.datetime(2026, 12, 30, 12, 0, tzinfo=NEW_YORK).astimezone(dt.UTC)
    sms = await template(client, tenant, "sms", "Hello {{ debtor.first_name }}")
    await workflow(client, tenant, "promise.broken", [{"kind": "send_sms", "template_id": sms}])
    await deliver(db, tenant.id, "promise.broken", broken(account.id))
    await run_jobs(db, tenant.id, Clock(noon))

    async def step_detail(*scopes: str) -> dict:
        made = await client.post(
            "/api/v1/api-keys",
            json={"name": f"runs {' '.join(scopes)}", "scopes": list(scopes)},
            headers=tenant.admin.headers,
        )
        key = {"Authorization": f"Bearer {made.json()['key']}"}
        answer = await client.get(f"{API}/accounts/{account.id}/workflow-runs", headers=key)
        assert answer.status_code == 200, answer.text
        (run,) = answer.json()["items"]
        return run["steps"][0]["detail"]

    assert "to" not in await step_detail("accounts:read")
    assert (await step_detail("accounts:read", "debtors:read"))["to"] == "+12125550111"
    staff = await client.get(
        f"{API}/accounts/{account.id}/workflow-runs", headers=tenant.admin.headers
    )
    assert staff.json()["items"][0]["steps"][0]["detail"]["to"] == "+12125550111"
