"""OWASP ASVS 5.0, V8 Authorization: a test for each level 1 and 2 requirement that applies
to Recoup, named after it (docs/security.md holds the table). The route walk
(test_route_walk.py) asks every route of the API the same questions; these pin each
requirement on a few routes where it is easy to read."""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import urlsplit

import httpx
import pytest

from channels import names
from config.settings import Settings
from domain.payments.schemas import DebtorAccount
from domain.users.schemas import AgentUpdate, ProfileUpdate, UserUpdate
from server.app import create_app
from server.auth.guards import Allow, rule_of
from tests.factories import SeededTenant, TenantFactory
from tests.integration.asvs_helpers import USERS, bearer, doc_section, table_rows
from tests.realtime import events, open_socket, silence, subscribe

ROLES = ("admin", "supervisor", "collector", "readonly")


async def key(client: httpx.AsyncClient, tenant: SeededTenant, *scopes: str) -> dict[str, str]:
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "asvs", "scopes": list(scopes)},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    return bearer(created.json()["key"])


def pay(amount: str = "5.00") -> dict[str, str]:
    return {"amount": amount, "currency": "USD", "method": "card"}


def _who_may_call_what(settings: Settings) -> dict[str, list[str]]:
    """Per area of the API (its tag): for each role, whether it may call all, some or none of
    the area's routes; and the API key scopes its routes take."""
    calls: dict[str, list[Allow]] = defaultdict(list)
    for route in create_app(settings).routes:
        for handler in getattr(route, "route_handlers", []):
            rule = rule_of(handler.opt)
            if not route.path.startswith("/api/v1") or rule is None:
                continue
            for _ in handler.http_methods - {"HEAD", "OPTIONS"}:
                calls[handler.resolve_tags()[0]].append(rule)
    matrix = {}
    for area, rules in calls.items():
        row = []
        for role in ROLES:
            count = sum(role in r.roles for r in rules)
            row.append("all" if count == len(rules) else "some" if count else "—")
        scopes = sorted({r.scope for r in rules if r.scope})
        row.append(", ".join(f"`{s}`" for s in scopes) or "—")
        matrix[area] = row
    return matrix


# V8.1 Authorization documentation ----------------------------------------------------------


def test_asvs_v8_1_1_who_may_call_what_is_documented_as_the_routes_declare_it(
    settings: Settings,
) -> None:
    documented = {row[0]: row[1:6] for row in table_rows(doc_section("Who may call what"))}
    assert documented == _who_may_call_what(settings)


def test_asvs_v8_1_2_field_rules_are_documented_as_the_schemas_declare_them() -> None:
    section = doc_section("Field-level rules")

    def listed(lead: str) -> set[str]:
        line = next(line for line in section.splitlines() if line.startswith(lead))
        return set(re.findall(r"`(\w+)`", line))

    assert listed("- A user may change of themselves:") == set(ProfileUpdate.__struct_fields__)
    assert listed("- An admin may change of any user:") == set(UserUpdate.__struct_fields__)
    assert listed("- A supervisor (or an admin) may change of an active agent") == set(
        AgentUpdate.__struct_fields__
    )
    assert listed("- A payment link shows its debtor:") == set(DebtorAccount.__struct_fields__)


# V8.2 General authorization design ---------------------------------------------------------


async def test_asvs_v8_2_1_functions_are_open_only_to_those_explicitly_allowed(
    client, tenant: SeededTenant
) -> None:
    new_user = {"email": f"x@{tenant.slug}.test", "name": "X", "password": "k7#Vq!zMw"}
    expected = {"admin": 201, "supervisor": 403, "collector": 403, "readonly": 403}
    for role, status in expected.items():
        made = await client.post(USERS, json=new_user, headers=tenant.users[role].headers)
        assert made.status_code == status, (role, made.text)
    account = tenant.accounts[0].id  # the collector's own
    payments = f"/api/v1/accounts/{account}/payments"
    for role, status in {"collector": 201, "readonly": 403}.items():
        headers = {**tenant.users[role].headers, "Idempotency-Key": f"fn-{role}"}
        assert (await client.post(payments, json=pay(), headers=headers)).status_code == status
    for scopes, status in ((["payments:write"], 201), (["payments:read", "accounts:write"], 403)):
        headers = {**await key(client, tenant, *scopes), "Idempotency-Key": f"fn-{scopes[0]}"}
        assert (await client.post(payments, json=pay(), headers=headers)).status_code == status
    assert (
        await client.get(USERS, headers=await key(client, tenant, "accounts:write"))
    ).status_code == 403


async def test_asvs_v8_2_2_data_is_open_only_to_those_allowed_that_item(
    client, tenant: SeededTenant
) -> None:
    mine, theirs = tenant.accounts[0].id, tenant.accounts[1].id
    collector = tenant.collector.headers
    assert (await client.get(f"/api/v1/accounts/{mine}", headers=collector)).status_code == 200
    for method, path in (
        ("GET", f"/api/v1/accounts/{theirs}"),
        ("GET", f"/api/v1/accounts/{theirs}/interactions"),
        ("POST", f"/api/v1/accounts/{theirs}/payment-links"),
    ):
        response = await client.request(method, path, headers=collector)
        assert response.status_code == 404, (method, path, response.text)
    listed = await client.get("/api/v1/accounts", headers=collector)
    assert {a["id"] for a in listed.json()["items"]} == {mine}
    # An idempotency key is its caller's: the same key from someone else replays nothing.
    payments = f"/api/v1/accounts/{mine}/payments"
    first = await client.post(
        payments, json=pay(), headers={**collector, "Idempotency-Key": "shared-key-1"}
    )
    other = await client.post(
        payments,
        json=pay(),
        headers={**tenant.supervisor.headers, "Idempotency-Key": "shared-key-1"},
    )
    assert (first.status_code, other.status_code) == (201, 201)
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != first.json()["id"]


async def test_asvs_v8_2_3_fields_are_open_only_to_those_allowed_them(
    client, tenant: SeededTenant
) -> None:
    collector = tenant.collector.headers
    for field in ({"role": "admin"}, {"active": True}, {"capacity": 900}, {"group_id": None}):
        refused = await client.patch("/api/v1/users/me", json=field, headers=collector)
        assert refused.status_code == 422, (field, refused.text)
    assert (await client.get("/api/v1/users/me", headers=collector)).json()["role"] == "collector"
    # Secrets are write-only: no answer carries a password, a hash or a key once made.
    admin = tenant.admin.headers
    made = await client.post(
        "/api/v1/api-keys", json={"name": "k", "scopes": ["accounts:read"]}, headers=admin
    )
    answers = [
        await client.get(USERS, headers=admin),
        await client.get(f"{USERS}/{tenant.collector.id}", headers=admin),
        await client.get("/api/v1/api-keys", headers=admin),
        await client.get(f"/api/v1/api-keys/{made.json()['id']}", headers=admin),
        await client.get("/api/v1/audit", headers=admin),
    ]
    for answer in answers:
        assert answer.status_code == 200
        assert not re.search(r'"(password|password_hash|key_hash|token_hash|key)"', answer.text)
    # A debtor's link shows one account's figures and nothing else.
    link = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payment-links", headers=admin
    )
    summary = await client.get(urlsplit(link.json()["url"]).path + "/summary")
    assert set(summary.json()) == set(DebtorAccount.__struct_fields__)
    # Its figures, a name, its zone, the agency, the link's expiry, a dispute, promise dates,
    # its promises and payments, what is under way: docs/security.md lists each (test_asvs_v8_1_2).
    assert len(DebtorAccount.__struct_fields__) == 17


# V8.3 Operation level authorization --------------------------------------------------------


async def test_asvs_v8_3_1_the_server_decides_whatever_the_client_claims_or_hides(
    client, tenant: SeededTenant
) -> None:
    # The screens hide the Admin link from collectors; hiding it is not what keeps them out.
    frame = (await client.get("/")).text
    assert re.search(r'href="/admin"[^>]*data-roles="admin,supervisor"', frame)
    collector = tenant.collector.headers
    for method, path in (("GET", USERS), ("GET", "/api/v1/api-keys"), ("GET", "/api/v1/audit")):
        refused = await client.request(method, path, headers=collector)
        assert refused.status_code == 403, path
        allowed = await client.request(method, path, headers=tenant.admin.headers)
        assert allowed.status_code == 200, path
    # Nor does anything the client sends about itself: headers, query, body.
    claims = {"X-Role": "admin", "X-User-Id": str(tenant.admin.id), "X-Tenant-Id": "1"}
    spoofed = await client.get(USERS, params={"role": "admin"}, headers={**collector, **claims})
    assert spoofed.status_code == 403


# V8.4 Other authorization considerations ---------------------------------------------------


@pytest.mark.usefixtures("relay")
async def test_asvs_v8_4_1_no_caller_reaches_another_tenant(
    client, live_server: str, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    other = await tenants.new()
    theirs = other.accounts[0]
    admin = tenant.admin.headers
    for method, path, body in (
        ("GET", f"/api/v1/accounts/{theirs.id}", None),
        ("PATCH", f"/api/v1/accounts/{theirs.id}", {"creditor": "Mine now"}),
        ("GET", f"/api/v1/debtors/{theirs.debtor_id}", None),
        ("PATCH", f"{USERS}/{other.admin.id}", {"active": False}),
        ("POST", f"{USERS}/{other.admin.id}/sign-out-everywhere", None),
    ):
        response = await client.request(method, path, json=body, headers=admin)
        assert response.status_code == 404, (method, path, response.text)
    attach = await client.post(
        "/api/v1/accounts",
        json={
            "external_ref": "X-1",
            "currency": "USD",
            "principal": "1.00",
            "debtor_id": theirs.debtor_id,
        },
        headers=admin,
    )
    assert attach.status_code == 422, attach.text  # an id in a body is input, not the target
    every_scope = await key(client, tenant, "accounts:read", "debtors:read")
    listed = (
        await client.get("/api/v1/accounts", params={"limit": 200}, headers=every_scope)
    ).json()
    assert {a["id"] for a in listed["items"]} == {a.id for a in tenant.accounts}
    # A channel name is its tenant's own: the same name in two tenants is two channels.
    ours = await open_socket(client, live_server, tenant.supervisor)
    mine = await open_socket(client, live_server, other.supervisor)
    for ws in (ours, mine):
        assert (await subscribe(ws, names.account(theirs.id)))["op"] == "subscribed"
    changed = await client.patch(
        f"/api/v1/accounts/{theirs.id}", json={"creditor": "Theirs"}, headers=other.admin.headers
    )
    assert changed.status_code == 200
    assert (await events(mine, 1))[0]["data"]["id"] == theirs.id
    assert [f for f in await silence(ours, 1.5) if f["op"] == "event"] == []
    for ws in (ours, mine):
        await ws.close()


async def test_asvs_v8_4_1_the_database_shows_each_transaction_one_tenant(
    tenant: SeededTenant, tenants: TenantFactory
) -> None:
    other = await tenants.new()
    async with tenant.db.tenant(tenant.id) as conn:
        # No tenant filter in the query: row-level security is the filter.
        seen = await conn.fetchval("SELECT count(*) FROM accounts WHERE tenant_id = $1", other.id)
        tenants_seen = await conn.fetch("SELECT DISTINCT tenant_id FROM users")
    assert seen == 0
    assert [r["tenant_id"] for r in tenants_seen] == [tenant.id]
