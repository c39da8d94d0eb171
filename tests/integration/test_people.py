"""Users, agent groups, debtors and the tenant over REST."""

from __future__ import annotations

from tests.factories import SeededTenant


async def test_admin_creates_a_user_who_can_sign_in(client, tenant: SeededTenant) -> None:
    group = (
        await client.post(
            "/api/v1/agent-groups", json={"name": "Recoveries"}, headers=tenant.admin.headers
        )
    ).json()
    created = await client.post(
        "/api/v1/users",
        json={
            "email": f"Dana@{tenant.slug}.test",
            "name": "Dana",
            "password": "a fine password",
            "role": "collector",
            "group_id": group["id"],
            "capacity": 40,
            "time_zone": "America/Denver",
        },
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert "password" not in user
    assert "password_hash" not in user
    assert (user["status"], user["capacity"], user["group_id"]) == ("offline", 40, group["id"])
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": f"dana@{tenant.slug}.test", "password": "a fine password"},
    )
    assert login.status_code == 200
    groups = (await client.get("/api/v1/agent-groups", headers=tenant.collector.headers)).json()[
        "items"
    ]
    assert [g["member_count"] for g in groups if g["id"] == group["id"]] == [1]


async def test_duplicate_email_is_409_even_across_tenants(
    client, tenant: SeededTenant, tenants
) -> None:
    other = await tenants.new(with_accounts=False)
    response = await client.post(
        "/api/v1/users",
        json={"email": tenant.collector.email.upper(), "name": "Copy", "password": "long enough 1"},
        headers=other.admin.headers,
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "email"


async def test_weak_password_and_bad_time_zone_are_refused(client, tenant: SeededTenant) -> None:
    for body, field in (
        ({"password": "short"}, "password"),
        ({"time_zone": "Nowhere/City"}, "time_zone"),
        ({"email": "not an email"}, "email"),
    ):
        payload = {
            "email": f"x@{tenant.slug}.test",
            "name": "X",
            "password": "long enough 2",
            **body,
        }
        response = await client.post("/api/v1/users", json=payload, headers=tenant.admin.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


async def test_common_and_predictable_passwords_are_refused(client, tenant: SeededTenant) -> None:
    email = f"dana.kowalczyk@{tenant.slug}.test"
    for weak in (
        " " * 8,
        "password",
        "12345678",
        "qwertyuiop",
        "Password1!",
        "aaaaaaaaaaaa",
        email,  # the user's own e-mail and name count as guessable
        "kowalczyk.dana",
        "x" * 257,
    ):
        response = await client.post(
            "/api/v1/users",
            json={"email": email, "name": "Dana Kowalczyk", "password": weak},
            headers=tenant.admin.headers,
        )
        assert response.status_code == 422, (weak, response.text)
        error = response.json()["errors"][0]
        assert error["field"] == "password"
        assert any(hint in error["message"] for hint in ("add", "256", "use")), error
    refused = await client.patch(
        "/api/v1/users/me",
        json={"password": "password123", "current_password": tenant.collector.password},
        headers=tenant.collector.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "password"
    reset = await client.patch(
        f"/api/v1/users/{tenant.collector.id}",
        json={"password": "12345678"},
        headers=tenant.admin.headers,
    )
    assert reset.status_code == 422


async def test_a_long_passphrase_is_kept_whole(client, tenant: SeededTenant) -> None:
    passphrase = "wandering ochre lighthouse keeps fourteen quiet ledgers " * 4
    email = f"pat.long@{tenant.slug}.test"
    created = await client.post(
        "/api/v1/users",
        json={"email": email, "name": "Pat Long", "password": passphrase},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    for attempt, status in ((passphrase, 200), (passphrase[:72], 401), (passphrase[:-1], 401)):
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": attempt})
        assert login.status_code == status


async def test_the_last_admin_cannot_be_demoted(client, tenant: SeededTenant) -> None:
    response = await client.patch(
        f"/api/v1/users/{tenant.admin.id}",
        json={"role": "supervisor"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 409


async def test_anyone_sets_their_own_status_and_password(client, tenant: SeededTenant) -> None:
    me = await client.patch(
        "/api/v1/users/me", json={"status": "available"}, headers=tenant.collector.headers
    )
    assert me.status_code == 200
    assert me.json()["status"] == "available"
    wrong = await client.patch(
        "/api/v1/users/me",
        json={"password": "brand new password", "current_password": "nope"},
        headers=tenant.collector.headers,
    )
    assert wrong.status_code == 422
    changed = await client.patch(
        "/api/v1/users/me",
        json={"password": "brand new password", "current_password": tenant.collector.password},
        headers=tenant.collector.headers,
    )
    assert changed.status_code == 200
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": tenant.collector.email, "password": "brand new password"},
    )
    assert login.status_code == 200
    # A new password ends the sessions signed in with the old one, this one included.
    stale = await client.get("/api/v1/users/me", headers=tenant.collector.headers)
    assert stale.status_code == 401
    fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
    promote = await client.patch("/api/v1/users/me", json={"role": "admin"}, headers=fresh)
    assert promote.status_code == 422  # not a field of your own profile


async def test_debtor_contact_choices_and_search(client, tenant: SeededTenant) -> None:
    created = await client.post(
        "/api/v1/debtors",
        json={
            "first_name": "Zelda",
            "last_name": "Quinterro",
            "external_ref": "CRM-99",
            "phone": "+1 (555) 010-9999",
            "time_zone": "America/New_York",
        },
        headers=tenant.supervisor.headers,
    )
    assert created.status_code == 201, created.text
    debtor = created.json()
    updated = await client.patch(
        f"/api/v1/debtors/{debtor['id']}",
        json={"opt_out_call": True, "cease_requested": True},
        headers=tenant.supervisor.headers,
    )
    assert updated.json()["opt_out_call"] is True
    assert updated.json()["cease_requested_at"] is not None
    found = (
        await client.get("/api/v1/debtors", params={"q": "quint"}, headers=tenant.admin.headers)
    ).json()["items"]
    assert [d["id"] for d in found] == [debtor["id"]]
    by_ref = (
        await client.get("/api/v1/debtors", params={"q": "crm-99"}, headers=tenant.admin.headers)
    ).json()["items"]
    assert [d["id"] for d in by_ref] == [debtor["id"]]
    duplicate = await client.post(
        "/api/v1/debtors", json={"external_ref": "CRM-99"}, headers=tenant.supervisor.headers
    )
    assert duplicate.status_code == 409


async def test_tenant_is_readable_by_everyone(client, tenant: SeededTenant) -> None:
    response = await client.get("/api/v1/tenant", headers=tenant.collector.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == tenant.slug
    assert [b["name"] for b in body["settings"]["buckets"]] == [
        "current",
        "1-30",
        "31-60",
        "61-90",
        "90+",
    ]


async def test_openapi_describes_the_api(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["info"]["title"] == "Recoup API"
    for path in (
        "/api/v1/accounts",
        "/api/v1/accounts/{account_id}",
        "/api/v1/auth/login",
        "/api/v1/api-keys",
        "/api/v1/debtors",
        "/api/v1/accounts/{account_id}/interactions",
    ):
        assert path in schema["paths"], path
    assert "bearer" in schema["components"]["securitySchemes"]
    docs = await client.get("/schema")
    assert docs.status_code == 200
    assert "/schema-assets/swagger-ui-bundle.js" in docs.text
    assert (await client.get("/schema-assets/swagger-ui-bundle.js")).status_code == 200
