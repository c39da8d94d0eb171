"""What the admin console's Users and Agent groups screens rely on: each refusal names its
field, both sides of each limit, every change audited, when a user was last seen, and a
group a queue or rule still uses is not removed from under it."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from tests.factories import SeededTenant

STRONG = "violet harbour lantern 42"


async def audit_of(tenant: SeededTenant, entity_type: str, entity_id: int) -> list[dict]:
    async with tenant.db.tenant(tenant.id) as conn:
        rows = await conn.fetch(
            "SELECT action, before, after FROM audit_log WHERE entity_type = $1 "
            "AND entity_id = $2 ORDER BY id",
            entity_type,
            entity_id,
        )
    return [
        {
            "action": r["action"],
            "before": json.loads(r["before"]) if isinstance(r["before"], str) else r["before"],
            "after": json.loads(r["after"]) if isinstance(r["after"], str) else r["after"],
        }
        for r in rows
    ]


def new_user(tenant: SeededTenant, **values) -> dict:
    return {
        "email": f"u{uuid.uuid4().hex[:8]}@{tenant.slug}.test",
        "name": "Dana Okafor",
        "password": STRONG,
        **values,
    }


async def test_create_refusals_name_their_field(client, tenant: SeededTenant) -> None:
    admin = tenant.admin.headers
    cases = [
        (new_user(tenant, email=tenant.collector.email), 409, "email"),
        (new_user(tenant, email="not-an-address"), 422, "email"),
        (new_user(tenant, password="short1"), 422, "password"),
        (new_user(tenant, password="password123"), 422, "password"),
        (new_user(tenant, password="x" * 257), 422, "password"),
        (new_user(tenant, capacity=10_001), 422, "capacity"),
        (new_user(tenant, capacity=-1), 422, "capacity"),
        (new_user(tenant, group_id=999_999), 422, "group_id"),
        (new_user(tenant, name=""), 422, "name"),
    ]
    for body, status, field in cases:
        response = await client.post("/api/v1/users", json=body, headers=admin)
        assert response.status_code == status, (body, response.text)
        assert response.json()["field"] == field, (body, response.json())
    # Both ends of capacity, and the longest password, are taken.
    for capacity in (0, 10_000):
        made = await client.post(
            "/api/v1/users", json=new_user(tenant, capacity=capacity), headers=admin
        )
        assert made.status_code == 201, made.text
        assert made.json()["capacity"] == capacity
    longest = STRONG + "x" * (256 - len(STRONG))
    made = await client.post(
        "/api/v1/users", json=new_user(tenant, password=longest), headers=admin
    )
    assert made.status_code == 201, made.text


async def test_other_tenants_group_is_refused(client, tenant: SeededTenant, tenants) -> None:
    other = await tenants.new(with_accounts=False)
    theirs = await client.post(
        "/api/v1/agent-groups", json={"name": "Theirs"}, headers=other.admin.headers
    )
    group_id = theirs.json()["id"]
    response = await client.post(
        "/api/v1/users", json=new_user(tenant, group_id=group_id), headers=tenant.admin.headers
    )
    assert response.status_code == 422
    assert response.json()["field"] == "group_id"
    patched = await client.patch(
        f"/api/v1/users/{tenant.collector.id}",
        json={"group_id": group_id},
        headers=tenant.admin.headers,
    )
    assert patched.status_code == 422
    assert patched.json()["field"] == "group_id"
    assert (
        await client.delete(f"/api/v1/agent-groups/{group_id}", headers=tenant.admin.headers)
    ).status_code == 404


async def test_each_change_is_audited(client, tenant: SeededTenant) -> None:
    admin = tenant.admin.headers
    group = (
        await client.post("/api/v1/agent-groups", json={"name": "Early"}, headers=admin)
    ).json()
    user = (
        await client.post(
            "/api/v1/users", json=new_user(tenant, group_id=group["id"], capacity=7), headers=admin
        )
    ).json()
    assert user["group_id"] == group["id"]
    assert user["last_seen_at"] is None
    for body in (
        {"role": "supervisor"},
        {"group_id": None},
        {"capacity": 12},
        {"active": False},
        {"active": True},
        {"password": "copper meadow fiddle 9"},
    ):
        response = await client.patch(f"/api/v1/users/{user['id']}", json=body, headers=admin)
        assert response.status_code == 200, (body, response.text)
    trail = await audit_of(tenant, "user", user["id"])
    assert [t["action"] for t in trail] == ["user.create"] + ["user.update"] * 6
    assert trail[1]["before"]["role"] == "collector"
    assert trail[1]["after"]["role"] == "supervisor"
    assert trail[2]["after"]["group_id"] is None
    assert trail[3]["after"]["capacity"] == 12
    assert trail[4]["after"]["active"] is False
    assert trail[5]["after"]["active"] is True
    assert trail[6]["after"]["password_changed"] is True
    assert "password" not in json.dumps(trail[6]["before"])
    # The group's member count follows.
    again = (await client.get(f"/api/v1/agent-groups/{group['id']}", headers=admin)).json()
    assert again["member_count"] == 0


async def test_last_seen_is_when_the_app_was_last_open(client, tenant: SeededTenant) -> None:
    seen = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)
    async with tenant.db.system() as conn:
        await conn.execute(
            "UPDATE users SET last_seen_at = $2 WHERE id = $1", tenant.collector.id, seen
        )
    listed = (await client.get("/api/v1/users", headers=tenant.admin.headers)).json()["items"]
    by_id = {u["id"]: u for u in listed}
    assert dt.datetime.fromisoformat(by_id[tenant.collector.id]["last_seen_at"]) == seen
    assert by_id[tenant.other_collector.id]["last_seen_at"] is None


async def test_weak_reset_password_is_refused_beside_it(client, tenant: SeededTenant) -> None:
    for password, status in (("1234567", 422), ("tenant" + tenant.slug, 422)):
        response = await client.patch(
            f"/api/v1/users/{tenant.collector.id}",
            json={"password": password},
            headers=tenant.admin.headers,
        )
        assert response.status_code == status, response.text
        assert response.json()["field"] == "password"


async def test_group_rename_refusals(client, tenant: SeededTenant) -> None:
    admin = tenant.admin.headers
    first = (await client.post("/api/v1/agent-groups", json={"name": "Days"}, headers=admin)).json()
    await client.post("/api/v1/agent-groups", json={"name": "Nights"}, headers=admin)
    taken = await client.patch(
        f"/api/v1/agent-groups/{first['id']}", json={"name": "nights"}, headers=admin
    )
    assert taken.status_code == 409
    assert taken.json()["field"] == "name"
    for name, status in (("", 422), ("x" * 101, 422), ("x" * 100, 200)):
        response = await client.patch(
            f"/api/v1/agent-groups/{first['id']}", json={"name": name}, headers=admin
        )
        assert response.status_code == status, (name, response.text)
        if status == 422:
            assert response.json()["field"] == "name"
    trail = await audit_of(tenant, "agent_group", first["id"])
    assert [t["action"] for t in trail] == ["group.create", "group.update"]


async def test_a_group_in_use_is_not_removed(client, tenant: SeededTenant) -> None:
    admin = tenant.admin.headers
    group = (await client.post("/api/v1/agent-groups", json={"name": "Late"}, headers=admin)).json()
    await client.patch(
        f"/api/v1/users/{tenant.collector.id}", json={"group_id": group["id"]}, headers=admin
    )
    queue = (
        await client.post(
            "/api/v1/queues", json={"name": "Late calls", "group_id": group["id"]}, headers=admin
        )
    ).json()
    rule = await client.post(
        "/api/v1/rules",
        json={
            "name": "Late rule",
            "conditions": [{"field": "days_past_due", "op": "at_least", "value": 1}],
            "strategy": {"kind": "fewest_open", "group_id": group["id"]},
        },
        headers=admin,
    )
    assert rule.status_code == 201, rule.text
    refused = await client.delete(f"/api/v1/agent-groups/{group['id']}", headers=admin)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "task queue 'Late calls'" in detail
    assert "task rule 'Late rule'" in detail
    await client.patch(f"/api/v1/queues/{queue['id']}", json={"group_id": None}, headers=admin)
    still = await client.delete(f"/api/v1/agent-groups/{group['id']}", headers=admin)
    assert still.status_code == 409
    assert "task queue" not in still.json()["detail"]
    await client.patch(
        f"/api/v1/rules/{rule.json()['id']}", json={"strategy": {"kind": "queue"}}, headers=admin
    )
    removed = await client.delete(f"/api/v1/agent-groups/{group['id']}", headers=admin)
    assert removed.status_code == 204
    # Its member keeps working, without a group.
    member = (await client.get(f"/api/v1/users/{tenant.collector.id}", headers=admin)).json()
    assert member["active"]
    assert member["group_id"] is None
    trail = await audit_of(tenant, "agent_group", group["id"])
    assert trail[-1]["action"] == "group.delete"
