"""Workflows and templates over REST: saved only when they could run, refused with the place
of the fault, versioned, and kept by supervisors and admins alone."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import SeededTenant

API = "/api/v1"


async def sms_template(client: httpx.AsyncClient, tenant: SeededTenant, **extra: Any) -> dict:
    body = {
        "name": f"Reminder {tenant.id}-{len(extra)}",
        "channel": "sms",
        "body": "Hi {{ debtor.first_name }}, {{ account.balance }} is due. {{ payment_link }}",
        **extra,
    }
    response = await client.post(f"{API}/templates", json=body, headers=tenant.supervisor.headers)
    assert response.status_code == 201, response.text
    return response.json()


def broken_promise_workflow(template_id: int, **extra: Any) -> dict:
    return {
        "name": "Broken promise follow-up",
        "enabled": True,
        "trigger": {"type": "promise.broken"},
        "conditions": ["account.balance_minor > 0"],
        "steps": [
            {"kind": "send_sms", "template_id": template_id},
            {"kind": "create_task", "type": "call", "due_offset_minutes": 1440},
        ],
        **extra,
    }


async def test_a_supervisor_saves_a_workflow_and_reads_it_back(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    template = await sms_template(client, tenant)
    headers = tenant.supervisor.headers
    created = await client.post(
        f"{API}/workflows", json=broken_promise_workflow(template["id"]), headers=headers
    )
    assert created.status_code == 201, created.text
    workflow = created.json()
    assert workflow["version"] == 1
    assert workflow["enabled"] is True
    assert workflow["trigger"] == {"type": "promise.broken", "days": None, "bucket": None}
    assert workflow["steps"][0] == {"kind": "send_sms", "template_id": template["id"]}
    assert workflow["steps"][1]["due_offset_minutes"] == 1440
    assert workflow["runs_today"] == 0
    listed = await client.get(f"{API}/workflows", headers=headers)
    assert [w["id"] for w in listed.json()["items"]] == [workflow["id"]]

    # Renaming or switching off is the same version; new steps are a new one.
    renamed = await client.patch(
        f"{API}/workflows/{workflow['id']}",
        json={"name": "Renamed", "enabled": False},
        headers=headers,
    )
    assert (renamed.json()["version"], renamed.json()["enabled"]) == (1, False)
    changed = await client.patch(
        f"{API}/workflows/{workflow['id']}",
        json={"steps": [{"kind": "set_status", "status": "disputed"}]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    async with tenant.db.tenant(tenant.id) as conn:
        versions = await conn.fetch(
            "SELECT version, definition -> 'steps' AS steps FROM workflow_versions "
            "WHERE workflow_id = $1 ORDER BY version",
            workflow["id"],
        )
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["steps"] == [{"kind": "set_status", "status": "disputed"}]


async def test_a_bad_condition_is_refused_at_its_line_and_column(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    template = await sms_template(client, tenant)
    bad = broken_promise_workflow(
        template["id"], conditions=["account.balance_minor > 0", "account.days_past_due >= "]
    )
    response = await client.post(f"{API}/workflows", json=bad, headers=tenant.supervisor.headers)
    assert response.status_code == 422
    problem = response.json()
    assert problem["field"] == "conditions[1]"
    assert (problem["line"], problem["column"]) == (1, 26)
    assert problem["detail"].startswith("conditions[1]: Syntax error: mismatched input '<EOF>'")
    typed = broken_promise_workflow(template["id"], conditions=["account.status > 3"])
    response = await client.post(f"{API}/workflows", json=typed, headers=tenant.supervisor.headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("conditions[0]: No such overload")
    async with tenant.db.tenant(tenant.id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM workflows") == 0


async def test_unknown_steps_templates_and_waits_are_refused_by_name(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants
) -> None:
    headers = tenant.supervisor.headers
    template = await sms_template(client, tenant)
    email = await client.post(
        f"{API}/templates",
        json={"name": "Receipt", "channel": "email", "subject": "Thanks", "body": "Thank you"},
        headers=headers,
    )
    stranger = await tenants.new(with_accounts=False)
    theirs = await sms_template(client, stranger)
    cases = [
        ([{"kind": "send_fax", "template_id": template["id"]}], "steps[0].kind"),
        ([{"kind": "send_sms", "template_id": email.json()["id"]}], "steps[0].template_id"),
        ([{"kind": "send_sms", "template_id": theirs["id"]}], "steps[0].template_id"),
        ([{"kind": "wait"}], "steps[0]"),
        ([{"kind": "wait", "until": "25:00"}], "steps[0].until"),
        ([{"kind": "wait", "minutes": 5, "until": "08:00"}], "steps[0]"),
        ([{"kind": "stop_if", "condition": "debtor.nope"}], "steps[0].condition"),
        ([{"kind": "create_task", "strategy": {"kind": "agent"}}], "steps[0].strategy.agent_id"),
        (
            [
                {
                    "kind": "branch",
                    "arms": [
                        {
                            "name": "a",
                            "weight": 1,
                            "steps": [{"kind": "send_sms", "template_id": 0}],
                        },
                        {"name": "b", "weight": 1},
                    ],
                }
            ],
            "steps[0].arms[0].steps[0].template_id",
        ),
    ]
    for steps, field in cases:
        body = {"name": "Bad", "trigger": {"type": "payment.received"}, "steps": steps}
        response = await client.post(f"{API}/workflows", json=body, headers=headers)
        assert response.status_code == 422, (steps, response.text)
        assert response.json()["field"] == field, (steps, response.json())
    response = await client.post(
        f"{API}/workflows",
        json={"name": "Late", "trigger": {"type": "account.days_past_due"}},
        headers=headers,
    )
    assert (response.status_code, response.json()["field"]) == (422, "trigger.days")
    assert theirs["id"] != template["id"]


async def test_a_template_naming_an_unknown_variable_is_refused(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    headers = tenant.supervisor.headers
    body = {"name": "Typo", "channel": "sms", "body": "Hi {{ debtor.frist_name }}"}
    response = await client.post(f"{API}/templates", json=body, headers=headers)
    assert response.status_code == 422
    assert (response.json()["field"], response.json()["detail"]) == (
        "body",
        "body: unknown field 'frist_name'",
    )
    body = {"name": "No subject", "channel": "email", "body": "Hello"}
    response = await client.post(f"{API}/templates", json=body, headers=headers)
    assert (response.status_code, response.json()["field"]) == (422, "subject")


async def test_a_template_previews_for_an_account_and_cannot_go_while_sent(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    headers = tenant.supervisor.headers
    template = await sms_template(client, tenant)
    account = tenant.accounts[0]
    preview = await client.post(
        f"{API}/templates/{template['id']}/preview",
        json={"account_id": account.id},
        headers=headers,
    )
    assert preview.status_code == 200, preview.text
    rendered = preview.json()
    assert rendered["to"] == "+15555550100"
    assert rendered["body"].startswith(
        "Hi Pat, $1,075.00 is due. (a payment link is made when the message is sent) Opt out: "
    )
    assert "/optout/" in rendered["body"]
    workflow = await client.post(
        f"{API}/workflows", json=broken_promise_workflow(template["id"]), headers=headers
    )
    assert workflow.status_code == 201
    refused = await client.delete(f"{API}/templates/{template['id']}", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "the workflow 'Broken promise follow-up' sends this template"


async def test_a_condition_is_checked_as_it_is_typed_with_the_accounts_it_matches(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    headers = tenant.supervisor.headers
    response = await client.post(
        f"{API}/workflows/check-condition",
        json={"condition": "account.days_past_due >= 45 && account.balance_minor == 107500"},
        headers=headers,
    )
    assert response.json() == {
        "valid": True,
        "matches": 3,
        "accounts": 3,
        "error": None,
        "line": None,
        "column": None,
    }
    response = await client.post(
        f"{API}/workflows/check-condition",
        json={"condition": "account.days_past_due >= 46"},
        headers=headers,
    )
    assert (response.json()["matches"], response.json()["accounts"]) == (0, 3)
    response = await client.post(
        f"{API}/workflows/check-condition", json={"condition": "account.x +"}, headers=headers
    )
    body = response.json()
    assert (body["valid"], body["line"], body["column"]) == (False, 1, 12)


async def test_only_supervisors_and_admins_keep_workflows(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    template = await sms_template(client, tenant)
    body = broken_promise_workflow(template["id"])
    for user in (tenant.collector, tenant.readonly):
        for method, path, json in (
            ("GET", "/workflows", None),
            ("POST", "/workflows", body),
            ("GET", "/templates", None),
            ("POST", f"/templates/{template['id']}/preview", {"account_id": 1}),
            ("GET", "/messages", None),
        ):
            response = await client.request(method, f"{API}{path}", json=json, headers=user.headers)
            assert response.status_code == 403, (user.role, method, path)
    admin = await client.post(f"{API}/workflows", json=body, headers=tenant.admin.headers)
    assert admin.status_code == 201


async def test_another_tenants_workflow_is_not_found(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants
) -> None:
    template = await sms_template(client, tenant)
    created = await client.post(
        f"{API}/workflows",
        json=broken_promise_workflow(template["id"]),
        headers=tenant.supervisor.headers,
    )
    stranger = await tenants.new(with_accounts=False)
    workflow_id = created.json()["id"]
    for method, path in (
        ("GET", f"/workflows/{workflow_id}"),
        ("PATCH", f"/workflows/{workflow_id}"),
        ("DELETE", f"/workflows/{workflow_id}"),
        ("GET", f"/workflows/{workflow_id}/runs"),
        ("GET", f"/templates/{template['id']}"),
        ("DELETE", f"/templates/{template['id']}"),
    ):
        json = {"enabled": False} if method == "PATCH" else None
        response = await client.request(
            method, f"{API}{path}", json=json, headers=stranger.supervisor.headers
        )
        assert response.status_code == 404, (method, path, response.text)
    still = await client.get(f"{API}/workflows/{workflow_id}", headers=tenant.supervisor.headers)
    assert still.json()["enabled"] is True


async def test_counting_matches_stops_at_its_time_budget_with_what_it_reached(
    client: httpx.AsyncClient, tenant: SeededTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count shares the web process: past its budget it answers with the accounts it
    reached, rather than holding every other request up."""
    from domain.workflows import accounts

    monkeypatch.setattr(accounts, "MATCH_YIELD", 1)
    monkeypatch.setattr(accounts, "MATCH_BUDGET", -1.0)
    response = await client.post(
        f"{API}/workflows/check-condition",
        json={"condition": "account.days_past_due >= 0"},
        headers=tenant.supervisor.headers,
    )
    assert (response.json()["matches"], response.json()["accounts"]) == (1, 1)
