"""Every mutation writes one audit row and its outbox event in its own transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.accounts.schemas import AccountCreate
from domain.accounts.service import AccountService
from domain.debtors.schemas import DebtorCreate
from tests.factories import SeededTenant


async def journal(tenant: SeededTenant) -> tuple[list[dict], list[dict]]:
    async with tenant.db.tenant(tenant.id) as conn:
        audit = [
            dict(r)
            for r in await conn.fetch(
                "SELECT id, action, entity_type, entity_id, actor_type, actor_id, before, after, "
                "occurred_at FROM audit_log ORDER BY id"
            )
        ]
        outbox = [
            dict(r)
            for r in await conn.fetch(
                "SELECT id, event_id, type, channels, data, occurred_at FROM outbox ORDER BY id"
            )
        ]
    return audit, outbox


# What a mutation answers: 201 with what a POST made, 200 with what a PATCH changed.
CREATED_OR_CHANGED = {"post": 201, "patch": 200}

MUTATIONS = [
    (
        "create account",
        "post",
        "/api/v1/accounts",
        lambda t: {
            "external_ref": "M-1",
            "currency": "EUR",
            "principal": "12.50",
            "debtor_id": t.accounts[0].debtor_id,
        },
        "account.create",
        "account.created",
    ),
    (
        "update account",
        "patch",
        "/api/v1/accounts/{a0}",
        lambda t: {"creditor": "New Bank"},
        "account.update",
        "account.updated",
    ),
    (
        "update debtor",
        "patch",
        "/api/v1/debtors/{d0}",
        lambda t: {"opt_out_sms": True},
        "debtor.update",
        "debtor.updated",
    ),
    (
        "log interaction",
        "post",
        "/api/v1/accounts/{a0}/interactions",
        lambda t: {
            "channel": "call",
            "direction": "outbound",
            "disposition": "left_message",
            "notes": "voicemail",
        },
        "interaction.log",
        "interaction.logged",
    ),
    (
        "create user",
        "post",
        "/api/v1/users",
        lambda t: {
            "email": f"new@{t.slug}.test",
            "name": "New Person",
            "password": "a long password",
            "role": "collector",
        },
        "user.create",
        "user.created",
    ),
    (
        "change a user's status",
        "patch",
        "/api/v1/users/{collector}",
        lambda t: {"status": "available"},
        "user.update",
        "agent.status",
    ),
    (
        "create group",
        "post",
        "/api/v1/agent-groups",
        lambda t: {"name": "Night shift"},
        "group.create",
        "group.created",
    ),
    (
        "create api key",
        "post",
        "/api/v1/api-keys",
        lambda t: {"name": "erp", "scopes": ["payments:write"]},
        "api_key.create",
        "api_key.created",
    ),
    (
        "update tenant",
        "patch",
        "/api/v1/tenant",
        lambda t: {"name": "Renamed Ltd"},
        "tenant.update",
        "tenant.updated",
    ),
    (
        "create queue",
        "post",
        "/api/v1/queues",
        lambda t: {"name": "Audited queue"},
        "queue.create",
        "queue.created",
    ),
    (
        "create rule",
        "post",
        "/api/v1/rules",
        lambda t: {
            "name": "Audited rule",
            "conditions": [{"field": "days_past_due", "op": "at_least", "value": 1}],
        },
        "rule.create",
        "rule.created",
    ),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "action", "event_type"),
    MUTATIONS,
    ids=[m[0] for m in MUTATIONS],
)
async def test_mutation_writes_one_audit_row_and_one_event(
    client, tenant: SeededTenant, name, method, path, body, action, event_type
) -> None:
    url = path.format(
        a0=tenant.accounts[0].id, d0=tenant.accounts[0].debtor_id, collector=tenant.collector.id
    )
    audit_before, outbox_before = await journal(tenant)
    response = await getattr(client, method)(url, json=body(tenant), headers=tenant.admin.headers)
    assert response.status_code == CREATED_OR_CHANGED[method], response.text
    audit_after, outbox_after = await journal(tenant)
    new_audit = audit_after[len(audit_before) :]
    new_events = outbox_after[len(outbox_before) :]
    assert len(new_audit) == 1, new_audit
    assert len(new_events) == 1, new_events
    entry, event = new_audit[0], new_events[0]
    assert entry["action"] == action
    assert entry["actor_type"] == "user"
    assert entry["actor_id"] == tenant.admin.id
    assert entry["after"] is not None
    assert event["type"] == event_type
    assert event["occurred_at"] == entry["occurred_at"]  # written together
    if action.endswith("update"):
        assert entry["before"] is not None
        assert entry["before"] != entry["after"]


async def test_account_events_reach_the_account_both_owners_and_the_wallboard(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    _, before = await journal(tenant)
    response = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"owner_id": tenant.other_collector.id},
        headers=tenant.supervisor.headers,
    )
    assert response.status_code == 200
    _, after = await journal(tenant)
    event = after[len(before) :][0]
    assert set(event["channels"]) == {
        f"account:{account.id}",
        f"agent:{tenant.collector.id}",
        f"agent:{tenant.other_collector.id}",
        "wallboard",
    }
    assert event["data"]["owner_id"] == tenant.other_collector.id
    assert event["data"]["changed"] == ["owner_id"]
    assert isinstance(event["data"]["balance"], str)  # money travels as a string


async def test_every_event_about_an_account_has_one_audience(client, tenant: SeededTenant) -> None:
    """Account changes, payments, promises, calls and tasks: the account, its owner (or the
    task's assignee) and the wallboard, every time."""
    account = tenant.accounts[0]
    owner = tenant.collector
    headers = tenant.supervisor.headers
    _, before = await journal(tenant)
    for method, path, body, extra in [
        ("patch", f"/api/v1/accounts/{account.id}", {"creditor": "Audience Bank"}, {}),
        (
            "post",
            f"/api/v1/accounts/{account.id}/payments",
            {"amount": "5.00", "currency": "USD", "method": "bank_transfer"},
            {"Idempotency-Key": f"audience-{account.id}"},
        ),
        (
            "post",
            f"/api/v1/accounts/{account.id}/interactions",
            {"channel": "note", "direction": "outbound", "notes": "called"},
            {},
        ),
        (
            "post",
            "/api/v1/tasks",
            {
                "account_id": account.id,
                "type": "review",
                "strategy": {"kind": "agent", "agent_id": owner.id},
            },
            {},
        ),
    ]:
        response = await getattr(client, method)(path, json=body, headers={**headers, **extra})
        assert response.status_code == CREATED_OR_CHANGED[method], response.text
    _, after = await journal(tenant)
    staff = {
        e["type"]: set(e["channels"])
        for e in after[len(before) :]
        if "pay:" not in str(e["channels"])
    }
    assert set(staff) >= {"account.updated", "payment.received", "interaction.logged"}
    for event_type, channels in staff.items():
        if event_type.startswith("task."):
            # Work on the account: the account and wallboard, and whoever holds the task.
            assert channels >= {f"account:{account.id}", "wallboard"}, event_type
            continue
        assert channels == {f"account:{account.id}", f"agent:{owner.id}", "wallboard"}, event_type


async def test_no_op_update_writes_nothing(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    before = await journal(tenant)
    response = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": account.creditor},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 200
    assert await journal(tenant) == before


async def test_failing_mutation_leaves_neither_audit_nor_event(
    client, tenant: SeededTenant
) -> None:
    before = await journal(tenant)
    response = await client.patch(
        f"/api/v1/accounts/{tenant.accounts[0].id}",
        json={"owner_id": 999_999_999, "creditor": "should not stick"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 422
    assert await journal(tenant) == before


async def test_a_transaction_that_fails_after_writing_rolls_back_rows_audit_and_event(
    tenant: SeededTenant,
) -> None:
    before = await journal(tenant)
    with pytest.raises(RuntimeError):
        async with tenant.db.tenant(tenant.id) as conn:
            await AccountService(conn, tenant.admin.actor).create(
                AccountCreate(
                    external_ref="ROLLBACK-1",
                    currency="USD",
                    principal=Decimal("5.00"),
                    debtor=DebtorCreate(first_name="Gone", last_name="Soon"),
                )
            )
            raise RuntimeError("the request failed after the writes")
    assert await journal(tenant) == before
    async with tenant.db.tenant(tenant.id) as conn:
        assert not await conn.fetchval("SELECT 1 FROM accounts WHERE external_ref = 'ROLLBACK-1'")
        assert not await conn.fetchval("SELECT 1 FROM debtors WHERE last_name = 'Soon'")


async def test_audit_log_is_readable_by_admins_only(client, tenant: SeededTenant) -> None:
    account = tenant.accounts[0]
    await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"creditor": "Audited Bank"},
        headers=tenant.admin.headers,
    )
    entries = await client.get(
        "/api/v1/audit",
        params={"entity_type": "account", "entity_id": account.id},
        headers=tenant.admin.headers,
    )
    assert entries.status_code == 200
    latest = entries.json()["items"][0]
    assert latest["action"] == "account.update"
    assert latest["after"]["creditor"] == "Audited Bank"
    assert latest["request_id"]
    refused = await client.get("/api/v1/audit", headers=tenant.supervisor.headers)
    assert refused.status_code == 403
