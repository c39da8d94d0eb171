"""Custom fields where accounts are chosen and shown: the account list's filters
(``custom.<key>=value``), the accounts CSV (a column per definition), task rule conditions,
workflow conditions (a computed field included) and message templates."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx

from domain.db import Database
from tests.factories import SeededTenant
from tests.integration.workflow_helpers import (
    a_month_ahead,
    broken,
    deliver,
    run_jobs,
    runs,
    workflow,
)

API = "/api/v1"


async def _define(client: httpx.AsyncClient, tenant: SeededTenant, **body: Any) -> None:
    body = {"entity": "account", "label": body["key"], **body}
    made = await client.post(f"{API}/custom-fields", json=body, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text


async def _world(client: httpx.AsyncClient, tenant: SeededTenant) -> dict[str, int]:
    await _define(client, tenant, key="tier", type="select", options=["gold", "silver"])
    await _define(client, tenant, key="score", type="number")
    await _define(client, tenant, key="tags", type="multi_select", options=["a", "b", "c"])
    await _define(client, tenant, key="vip", type="boolean")
    await _define(
        client, tenant, key="large", type="computed", expression="account.balance_minor >= 200000"
    )
    await _define(client, tenant, entity="debtor", key="segment", type="string")
    ids = {}
    for name, principal, custom, segment in (
        ("gold", "3000", {"tier": "gold", "score": 700, "tags": ["a", "b"], "vip": True}, "x"),
        ("silver", "100", {"tier": "silver", "score": 450, "tags": ["b"], "vip": False}, "y"),
        ("none", "100", {}, None),
    ):
        account = await tenant.account(
            principal=Decimal(principal), custom=custom, external_ref=f"U-{name}-{tenant.id}"
        )
        ids[name] = account.id
        if segment:
            debtor = await client.patch(
                f"{API}/debtors/{account.debtor_id}",
                json={"custom": {"segment": segment}},
                headers=tenant.admin.headers,
            )
            assert debtor.status_code == 200, debtor.text
    return ids


async def _listed(client: httpx.AsyncClient, tenant: SeededTenant, **params: str) -> list[int]:
    response = await client.get(f"{API}/accounts", params=params, headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    return sorted(a["id"] for a in response.json()["items"])


async def test_the_account_list_filters_on_custom_fields_by_type(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    ids = await _world(client, tenant)
    gold, silver = ids["gold"], ids["silver"]
    assert await _listed(client, tenant, **{"custom.tier": "gold"}) == [gold]
    assert await _listed(client, tenant, **{"custom.score": "450"}) == [silver]
    assert await _listed(client, tenant, **{"custom.score": "450.0"}) == [silver]
    assert await _listed(client, tenant, **{"custom.vip": "yes"}) == [gold]
    assert await _listed(client, tenant, **{"custom.tags": "b"}) == sorted([gold, silver])
    assert await _listed(client, tenant, **{"custom.tags": "a,b"}) == [gold]
    assert await _listed(client, tenant, **{"custom.large": "true"}) == [gold]
    assert await _listed(client, tenant, **{"debtor.custom.segment": "y"}) == [silver]
    both = {"custom.tier": "gold", "debtor.custom.segment": "y"}
    assert await _listed(client, tenant, **both) == []
    for name, value in (
        ("custom.tier", "bronze"),
        ("custom.score", "many"),
        ("custom.nothing", "1"),
        ("debtor.custom.tier", "gold"),
    ):
        refused = await client.get(
            f"{API}/accounts", params={name: value}, headers=tenant.admin.headers
        )
        assert (refused.status_code, refused.json()["field"]) == (422, name), name


async def test_the_accounts_csv_has_a_column_per_custom_field_and_its_filters(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    ids = await _world(client, tenant)
    response = await client.get(
        f"{API}/exports/accounts.csv",
        params={"custom.tier": "gold"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [ids["gold"]]
    # Accounts' fields then debtors', each by position then key (all at position 0 here).
    assert list(rows[0])[-6:] == [
        "custom.large",
        "custom.score",
        "custom.tags",
        "custom.tier",
        "custom.vip",
        "debtor.custom.segment",
    ]
    assert {k: rows[0][k] for k in list(rows[0])[-6:]} == {
        "custom.tier": "gold",
        "custom.score": "700",
        "custom.tags": '["a", "b"]',
        "custom.vip": "true",
        "custom.large": "true",
        "debtor.custom.segment": "x",
    }
    everything = await client.get(f"{API}/exports/accounts.csv", headers=tenant.admin.headers)
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(everything.text))}
    assert rows[ids["none"]]["custom.tier"] == ""
    assert rows[ids["none"]]["custom.large"] == "false"


async def test_task_rules_choose_accounts_by_custom_fields(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    ids = await _world(client, tenant)
    for condition, expected in (
        ({"field": "custom.tier", "op": "eq", "value": "silver"}, [ids["silver"]]),
        ({"field": "custom.score", "op": "gte", "value": 500}, [ids["gold"]]),
        ({"field": "custom.large", "op": "eq", "value": True}, [ids["gold"]]),
        ({"field": "debtor.custom.segment", "op": "eq", "value": "x"}, [ids["gold"]]),
    ):
        preview = await client.post(
            f"{API}/rules/preview",
            json={"conditions": [condition], "sample_size": 10},
            headers=tenant.supervisor.headers,
        )
        assert preview.status_code == 200, preview.text
        found = sorted(a["id"] for a in preview.json()["sample"] if a["id"] in ids.values())
        assert found == expected, condition


async def test_workflow_conditions_read_custom_fields_computed_ones_too(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant
) -> None:
    ids = await _world(client, tenant)
    flow = await workflow(
        client,
        tenant,
        "promise.broken",
        [{"kind": "set_status", "status": "disputed"}],
        conditions=["account.custom.large && account.custom.tier == 'gold'"],
    )
    for account_id in (ids["gold"], ids["silver"]):
        await deliver(db, tenant.id, "promise.broken", broken(account_id))
    await run_jobs(db, tenant.id, a_month_ahead())
    assert [(r["account_id"], r["status"]) for r in await runs(client, tenant, flow["id"])] == [
        (ids["gold"], "completed")
    ]


async def test_templates_show_custom_fields_and_refuse_undefined_ones(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    ids = await _world(client, tenant)
    body = "Tier {{ account.custom.tier }}, segment {{ debtor.custom.segment }}."
    made = await client.post(
        f"{API}/templates",
        json={"name": "Tiered", "channel": "sms", "body": body},
        headers=tenant.supervisor.headers,
    )
    assert made.status_code == 201, made.text
    for name, says in (("gold", "Tier gold, segment x."), ("none", "Tier , segment .")):
        shown = await client.post(
            f"{API}/templates/{made.json()['id']}/preview",
            json={"account_id": ids[name]},
            headers=tenant.supervisor.headers,
        )
        assert shown.status_code == 200, shown.text
        assert shown.json()["body"].startswith(says), shown.json()["body"]
    unknown = await client.post(
        f"{API}/templates",
        json={"name": "Bad", "channel": "sms", "body": "{{ account.custom.nothing }}"},
        headers=tenant.supervisor.headers,
    )
    assert (unknown.status_code, unknown.json()["field"]) == (422, "body")


async def test_a_number_columns_text_kept_from_before_is_guarded_in_the_csv(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    """A value stored before its key was a number may be any text: a formula there is
    neutralised like any text cell; a real number, negative too, is written as it is."""
    ids = await _world(client, tenant)
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            """UPDATE accounts SET custom = custom || jsonb_build_object('score', $2::text)
            WHERE id = $1""",
            ids["gold"],
            '=WEBSERVICE("http://evil/")',
        )
        await conn.execute(
            "UPDATE accounts SET custom = custom || '{\"score\": -5}' WHERE id = $1",
            ids["silver"],
        )
    everything = await client.get(f"{API}/exports/accounts.csv", headers=tenant.admin.headers)
    rows = {int(r["id"]): r for r in csv.DictReader(io.StringIO(everything.text))}
    assert rows[ids["gold"]]["custom.score"] == '\'=WEBSERVICE("http://evil/")'
    assert rows[ids["silver"]]["custom.score"] == "-5"
