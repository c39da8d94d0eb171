"""The worklist over REST: queues and rules (conditions, preview, idempotent runs, cadence)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from domain.actor import system_actor
from domain.debtors.schemas import DebtorCreate
from domain.worklist import sweeps
from domain.worklist.rules import RuleService
from domain.worklist.schemas import RuleCreate
from tests.factories import SeededTenant, midday_zone
from tests.integration.worklist_helpers import make_queue, make_rule, outbox, tasks

# Queues ----------------------------------------------------------------------------------


async def test_queues_are_created_listed_changed_and_only_deleted_when_empty(
    client, tenant: SeededTenant
) -> None:
    made = await make_queue(client, tenant, age_boost_minutes=30)
    assert made["waiting"] == 0
    assert made["age_boost_minutes"] == 30
    duplicate = await client.post(
        "/api/v1/queues", json={"name": "calls"}, headers=tenant.supervisor.headers
    )
    assert duplicate.status_code == 409
    bad_group = await client.post(
        "/api/v1/queues", json={"name": "X", "group_id": 999999}, headers=tenant.admin.headers
    )
    assert bad_group.status_code == 422
    assert bad_group.json()["errors"][0]["field"] == "group_id"
    changed = await client.patch(
        f"/api/v1/queues/{made['id']}",
        json={"name": "Priority calls", "agent_ids": [tenant.collector.id]},
        headers=tenant.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["agent_ids"] == [tenant.collector.id]
    await tasks(tenant, 3, queue_id=made["id"])
    listed = await client.get("/api/v1/queues", headers=tenant.collector.headers)
    assert [q["waiting"] for q in listed.json()["items"] if q["id"] == made["id"]] == [3]
    refused = await client.delete(f"/api/v1/queues/{made['id']}", headers=tenant.admin.headers)
    assert refused.status_code == 409
    assert "3 waiting" in refused.json()["detail"]
    collector = await client.post(
        "/api/v1/queues", json={"name": "Mine"}, headers=tenant.collector.headers
    )
    assert collector.status_code == 403


# Rules: saving, conditions, preview, runs ------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "field", "says"),
    [
        (
            {"field": "balanse", "op": "gt", "value": 1},
            "conditions[0].field",
            "unknown field 'balanse'",
        ),
        (
            {"field": "balance", "op": "above", "value": 1},
            "conditions[0].op",
            "no operator 'above'",
        ),
        ({"field": "balance", "op": "gt", "value": "lots"}, "conditions[0].value", "not a number"),
        (
            {"field": "status", "op": "in", "value": ["late"]},
            "conditions[0].value",
            "unknown value 'late'",
        ),
        (
            {"field": "bucket", "op": "in", "value": ["91+"]},
            "conditions[0].value",
            "unknown value '91+'",
        ),
        (
            {"field": "days_past_due", "op": "between", "value": [60, 30]},
            "conditions[0].value",
            "empty",
        ),
        (
            {"field": "custom.a b", "op": "eq", "value": 1},
            "conditions[0].field",
            "not a custom field",
        ),
        (
            {"field": "custom.tier", "op": "like", "value": 1},
            "conditions[0].op",
            "no operator 'like'",
        ),
    ],
)
async def test_a_bad_condition_is_refused_at_save_naming_it(
    client, tenant: SeededTenant, condition, field, says
) -> None:
    response = await client.post(
        "/api/v1/rules",
        json={"name": "Bad", "conditions": [condition]},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["field"] == field
    assert says in problem["detail"]
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM task_rules") == 0


async def test_a_strategy_must_name_what_it_needs(client, tenant: SeededTenant) -> None:
    for strategy, field in (
        ({"kind": "agent"}, "strategy.agent_id"),
        ({"kind": "fewest_open"}, "strategy.group_id"),
        ({"kind": "round_robin", "group_id": 987654}, "strategy.group_id"),
        ({"kind": "lottery"}, None),
    ):
        response = await client.post(
            "/api/v1/rules",
            json={"name": "S", "conditions": [], "strategy": strategy},
            headers=tenant.supervisor.headers,
        )
        assert response.status_code == 422, response.text
        if field:
            assert response.json()["errors"][0]["field"] == field


async def conditions_tenant(tenants) -> tuple[SeededTenant, dict[str, int]]:  # type: ignore[no-untyped-def]
    """A tenant whose accounts differ in every way a condition can test."""
    tenant = await tenants.new(with_accounts=False)
    today = dt.date.today()
    specs = {
        "small_current": {
            "principal": Decimal("50"),
            "interest": Decimal(0),
            "fees": Decimal(0),
            "due_date": today + dt.timedelta(days=3),
        },
        "mid_35": {
            "principal": Decimal("500"),
            "due_date": today - dt.timedelta(days=35),
            "custom": {"tier": "gold", "score": 700},
        },
        "big_100": {
            "principal": Decimal("5000"),
            "due_date": today - dt.timedelta(days=100),
            "status": "promise_broken",
            "currency": "EUR",
            "custom": {"tier": "silver", "score": 450},
        },
        "disputed_10": {
            "principal": Decimal("800"),
            "due_date": today - dt.timedelta(days=10),
            "status": "disputed",
            "owner_id": tenant.collector.id,
        },
        "no_due": {"principal": Decimal("120"), "due_date": None},
    }
    ids = {}
    for name, values in specs.items():
        debtor = DebtorCreate(
            first_name="Cond",
            last_name=name,
            phone="+15555550100" if name != "no_due" else None,
            country="GB" if name == "big_100" else "US",
            time_zone=midday_zone(),
            custom={"segment": "retail"} if name == "mid_35" else {},
        )
        account = await tenant.account(
            debtor=debtor, **{"interest": Decimal(0), "fees": Decimal(0), **values}
        )
        ids[name] = account.id
    now = dt.datetime.now(dt.UTC)
    async with tenant.db.tenant(tenant.id) as conn:
        # mid_35 was called yesterday; big_100 forty days ago; a promise on big_100 broke.
        for name, days in (("mid_35", 1), ("big_100", 40)):
            await conn.execute(
                """INSERT INTO interactions (tenant_id, account_id, debtor_id, channel, direction,
                  disposition, occurred_at)
                SELECT tenant_id, id, debtor_id, 'call', 'outbound', 'no_answer', $2
                FROM accounts WHERE id = $1""",
                ids[name],
                now - dt.timedelta(days=days),
            )
        await conn.execute(
            """INSERT INTO promises (tenant_id, account_id, amount, currency, due_date, status,
              resolved_at)
            VALUES ($1, $2, 100, 'EUR', $3, 'broken', $4)""",
            tenant.id,
            ids["big_100"],
            today - dt.timedelta(days=5),
            now - dt.timedelta(days=2),
        )
    return tenant, ids


CASES = [
    ({"field": "balance", "op": "gt", "value": "500"}, {"big_100", "disputed_10"}),
    ({"field": "balance", "op": "gte", "value": 500}, {"mid_35", "big_100", "disputed_10"}),
    ({"field": "balance", "op": "lt", "value": "120"}, {"small_current"}),
    ({"field": "balance", "op": "lte", "value": "120"}, {"small_current", "no_due"}),
    ({"field": "balance", "op": "eq", "value": "120.00"}, {"no_due"}),
    ({"field": "principal", "op": "gt", "value": 1000}, {"big_100"}),
    ({"field": "days_past_due", "op": "at_least", "value": 30}, {"mid_35", "big_100"}),
    (
        {"field": "days_past_due", "op": "at_least", "value": 0},
        {"small_current", "mid_35", "big_100", "disputed_10", "no_due"},
    ),
    (
        {"field": "days_past_due", "op": "at_most", "value": 10},
        {"small_current", "disputed_10", "no_due"},
    ),
    ({"field": "days_past_due", "op": "between", "value": [10, 40]}, {"mid_35", "disputed_10"}),
    ({"field": "due_date", "op": "within_days", "value": 7}, {"small_current"}),
    ({"field": "due_date", "op": "before", "value": "2000-01-01"}, set()),
    (
        {"field": "status", "op": "in", "value": ["disputed", "promise_broken"]},
        {"big_100", "disputed_10"},
    ),
    ({"field": "status", "op": "not_in", "value": ["active"]}, {"big_100", "disputed_10"}),
    ({"field": "bucket", "op": "in", "value": ["31-60", "90+"]}, {"mid_35", "big_100"}),
    ({"field": "bucket", "op": "in", "value": ["current"]}, {"small_current", "no_due"}),
    ({"field": "currency", "op": "in", "value": ["EUR"]}, {"big_100"}),
    ({"field": "owner_id", "op": "not_null", "value": None}, {"disputed_10"}),
    (
        {"field": "last_contact", "op": "older_than_days", "value": 30},
        {"small_current", "big_100", "disputed_10", "no_due"},
    ),
    ({"field": "last_contact", "op": "within_days", "value": 7}, {"mid_35"}),
    ({"field": "promise_broken", "op": "within_days", "value": 7}, {"big_100"}),
    ({"field": "promise_broken", "op": "within_days", "value": 1}, set()),
    ({"field": "custom.tier", "op": "eq", "value": "gold"}, {"mid_35"}),
    (
        {"field": "custom.tier", "op": "ne", "value": "gold"},
        {"small_current", "big_100", "disputed_10", "no_due"},
    ),
    ({"field": "custom.tier", "op": "in", "value": ["gold", "silver"]}, {"mid_35", "big_100"}),
    ({"field": "custom.score", "op": "gte", "value": 500}, {"mid_35"}),
    ({"field": "custom.score", "op": "lt", "value": 500}, {"big_100"}),
    ({"field": "custom.tier", "op": "exists", "value": None}, {"mid_35", "big_100"}),
    (
        {"field": "custom.tier", "op": "not_exists", "value": None},
        {"small_current", "disputed_10", "no_due"},
    ),
    ({"field": "debtor.country", "op": "in", "value": ["GB"]}, {"big_100"}),
    ({"field": "debtor.has_phone", "op": "eq", "value": False}, {"no_due"}),
    ({"field": "debtor.custom.segment", "op": "eq", "value": "retail"}, {"mid_35"}),
]


async def test_every_field_and_operator_selects_the_right_accounts(client, tenants) -> None:
    tenant, ids = await conditions_tenant(tenants)
    names = {v: k for k, v in ids.items()}
    for condition, expected in CASES:
        response = await client.post(
            "/api/v1/rules/preview",
            json={"conditions": [condition], "sample_size": 100},
            headers=tenant.supervisor.headers,
        )
        assert response.status_code == 200, (condition, response.text)
        body = response.json()
        got = {names[a["id"]] for a in body["sample"]}
        assert got == expected, condition
        assert body["matching"] == len(expected), condition
    # Conditions combine with AND.
    both = await client.post(
        "/api/v1/rules/preview",
        json={
            "conditions": [
                {"field": "balance", "op": "gt", "value": 100},
                {"field": "days_past_due", "op": "at_least", "value": 30},
                {"field": "currency", "op": "in", "value": ["USD"]},
            ]
        },
        headers=tenant.supervisor.headers,
    )
    assert both.json()["matching"] == 1
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM tasks") == 0  # preview changed nothing


async def test_a_rule_run_creates_tasks_once_and_records_the_run(
    client, tenant: SeededTenant
) -> None:
    calls = await make_queue(client, tenant)
    rule = await make_rule(
        client,
        tenant,
        conditions=[{"field": "days_past_due", "op": "at_least", "value": 30}],
        task_type="call",
        priority=70,
        due_offset_minutes=120,
        queue_id=calls["id"],
    )
    first = await client.post(f"/api/v1/rules/{rule['id']}/run", headers=tenant.supervisor.headers)
    assert first.status_code == 201, first.text
    assert first.json()["created"] == 3
    second = await client.post(f"/api/v1/rules/{rule['id']}/run", headers=tenant.supervisor.headers)
    assert second.json()["created"] == 0
    runs = (
        await client.get(f"/api/v1/rules/{rule['id']}/runs", headers=tenant.supervisor.headers)
    ).json()["items"]
    assert [r["created"] for r in runs] == [0, 3]
    listed = (
        await client.get(f"/api/v1/tasks?rule_id={rule['id']}", headers=tenant.supervisor.headers)
    ).json()["items"]
    assert len(listed) == 3
    assert {t["type"] for t in listed} == {"call"}
    assert {t["priority"] for t in listed} == {70}
    assert all(t["queue_id"] == calls["id"] and t["status"] == "open" for t in listed)
    created = await outbox(tenant, "task.created")
    assert len(created) == 3
    assert all(
        f"queue:{calls['id']}" in e["channels"] and "wallboard" in e["channels"] for e in created
    )
    # A finished task lets the rule create a new one for that account next time.
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute("UPDATE tasks SET status = 'cancelled' WHERE id = $1", listed[0]["id"])
    third = await client.post(f"/api/v1/rules/{rule['id']}/run", headers=tenant.supervisor.headers)
    assert third.json()["created"] == 1
    rule_now = (
        await client.get(f"/api/v1/rules/{rule['id']}", headers=tenant.supervisor.headers)
    ).json()
    assert rule_now["last_created"] == 1
    assert rule_now["last_run_at"] is not None


async def test_concurrent_runs_of_one_rule_never_duplicate(tenant: SeededTenant) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        rule = await RuleService(conn, system_actor(tenant.id)).create(
            RuleCreate(name="All", conditions=[])
        )

    async def run() -> int:
        async with tenant.db.tenant(tenant.id) as conn:
            made = await RuleService(conn, system_actor(tenant.id)).run(rule.id)
            return made.created

    created = await asyncio.gather(*(run() for _ in range(5)))
    assert sum(created) == 3
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM tasks WHERE rule_id = $1", rule.id) == 3


async def test_rules_are_changed_and_a_bad_change_keeps_the_old_rule(
    client, tenant: SeededTenant
) -> None:
    rule = await make_rule(
        client, tenant, conditions=[{"field": "balance", "op": "gt", "value": 1}]
    )
    bad = await client.patch(
        f"/api/v1/rules/{rule['id']}",
        json={"conditions": [{"field": "balance", "op": "gt", "value": []}]},
        headers=tenant.supervisor.headers,
    )
    assert bad.status_code == 422
    same = (await client.get(f"/api/v1/rules/{rule['id']}", headers=tenant.admin.headers)).json()
    assert same["conditions"] == rule["conditions"]
    good = await client.patch(
        f"/api/v1/rules/{rule['id']}",
        json={"enabled": False, "cadence_minutes": 15},
        headers=tenant.supervisor.headers,
    )
    assert good.status_code == 200
    assert (good.json()["enabled"], good.json()["cadence_minutes"]) == (False, 15)
    fields = (await client.get("/api/v1/rules/fields", headers=tenant.admin.headers)).json()
    assert "between" in fields["days_past_due"]
    assert "custom.<key>" in fields
    made = await client.post(f"/api/v1/rules/{rule['id']}/run", headers=tenant.admin.headers)
    assert made.status_code == 201
    gone = await client.delete(f"/api/v1/rules/{rule['id']}", headers=tenant.admin.headers)
    assert gone.status_code == 204
    # Its tasks stay, belonging to no rule.
    async with tenant.db.tenant(tenant.id) as conn:
        orphans = await conn.fetchval("SELECT count(*) FROM tasks WHERE rule_id IS NULL")
    assert orphans == made.json()["created"]
    collector = await client.get("/api/v1/rules", headers=tenant.collector.headers)
    assert collector.status_code == 403


async def test_due_rules_follow_their_cadence(tenant: SeededTenant) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        rule = await RuleService(conn, system_actor(tenant.id)).create(
            RuleCreate(name="Hourly", conditions=[], cadence_minutes=60)
        )
    now = dt.datetime.now(dt.UTC)
    async with tenant.db.system() as conn:
        assert rule.id in {r["id"] for r in await sweeps.due_rules(conn, now)}
    async with tenant.db.tenant(tenant.id) as conn:
        await RuleService(conn, system_actor(tenant.id)).run(rule.id, trigger="schedule")
    async with tenant.db.system() as conn:
        assert rule.id not in {r["id"] for r in await sweeps.due_rules(conn, now)}
        later = now + dt.timedelta(minutes=61)
        assert rule.id in {r["id"] for r in await sweeps.due_rules(conn, later)}


# Working tasks ---------------------------------------------------------------------------
