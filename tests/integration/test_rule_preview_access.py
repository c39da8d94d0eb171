"""A rule preview counts accounts for anyone who may read tasks; its sample, and conditions on
debtors' fields, need the permission to read accounts."""

from __future__ import annotations

from tests.factories import SeededTenant

LATE = {"field": "days_past_due", "op": "at_least", "value": 30}
ON_DEBTOR = {"field": "debtor.has_phone", "op": "eq", "value": True}
ON_DEBTOR_CUSTOM = {"field": "debtor.custom.segment", "op": "eq", "value": "retail"}


async def key_headers(client, tenant: SeededTenant, *scopes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "rules", "scopes": list(scopes)},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['key']}"}


async def preview(client, headers: dict, *conditions: dict, **body):  # type: ignore[no-untyped-def]
    return await client.post(
        "/api/v1/rules/preview", json={"conditions": list(conditions), **body}, headers=headers
    )


async def test_a_key_that_reads_only_tasks_gets_the_count_and_no_sample(
    client, tenant: SeededTenant
) -> None:
    headers = await key_headers(client, tenant, "tasks:read")
    count = await preview(client, headers, LATE, sample_size=0)
    assert count.status_code == 200, count.text
    assert count.json() == {"matching": 3, "sample": []}
    for body in ({}, {"sample_size": 5}):
        refused = await preview(client, headers, LATE, **body)
        assert refused.status_code == 403, refused.text
        assert "accounts:read" in refused.json()["detail"]
        assert "sample_size" in refused.json()["detail"]


async def test_a_key_that_reads_only_tasks_cannot_ask_about_debtors(
    client, tenant: SeededTenant
) -> None:
    headers = await key_headers(client, tenant, "tasks:read")
    for condition in (ON_DEBTOR, ON_DEBTOR_CUSTOM):
        refused = await preview(client, headers, LATE, condition, sample_size=0)
        assert refused.status_code == 403, refused.text
        assert "accounts:read" in refused.json()["detail"]
        assert "matching" not in refused.json()


async def test_a_key_that_reads_accounts_gets_the_sample_and_may_ask_about_debtors(
    client, tenant: SeededTenant
) -> None:
    headers = await key_headers(client, tenant, "tasks:read", "accounts:read")
    response = await preview(client, headers, LATE, ON_DEBTOR)
    assert response.status_code == 200, response.text
    assert response.json()["matching"] == 3
    assert sorted(a["id"] for a in response.json()["sample"]) == sorted(
        a.id for a in tenant.accounts
    )


async def test_managers_preview_with_samples_and_debtor_fields(
    client, tenant: SeededTenant
) -> None:
    for user in (tenant.supervisor, tenant.admin):
        response = await preview(client, user.headers, ON_DEBTOR, sample_size=2)
        assert response.status_code == 200, response.text
        assert (response.json()["matching"], len(response.json()["sample"])) == (3, 2)


async def test_a_key_that_cannot_read_accounts_cannot_save_a_rule_on_debtor_fields(
    client, tenant: SeededTenant
) -> None:
    # A saved rule's runs count what it matched: the same question, asked another way.
    headers = await key_headers(client, tenant, "tasks:write", "tasks:read")
    refused = await client.post(
        "/api/v1/rules",
        json={"name": "Reachable", "conditions": [ON_DEBTOR]},
        headers=headers,
    )
    assert refused.status_code == 403, refused.text
    assert "accounts:read" in refused.json()["detail"]
    made = await client.post(
        "/api/v1/rules", json={"name": "Late", "conditions": [LATE]}, headers=headers
    )
    assert made.status_code == 201, made.text
    changed = await client.patch(
        f"/api/v1/rules/{made.json()['id']}", json={"conditions": [ON_DEBTOR]}, headers=headers
    )
    assert changed.status_code == 403, changed.text


async def test_the_api_documents_what_the_preview_needs(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/rules/preview"]["post"]
    assert "accounts:read" in operation["summary"]
    assert "sample_size: 0" in operation["description"]
    assert "debtor.*" in operation["description"]
