"""The demo tenant: seeded once, with the people and the book the README promises."""

from __future__ import annotations

import msgspec

from domain.db import Database
from domain.demo import DEMO_BRANDING, DEMO_PASSWORD, DEMO_USERS, seed_demo


async def test_demo_tenant_is_seeded_once_with_a_realistic_book(
    demo: None, db: Database, client
) -> None:
    assert await seed_demo(db) is False  # already there: nothing happens
    async with db.system() as conn:
        tenant_id = await conn.fetchval("SELECT id FROM tenants WHERE slug = 'demo'")
    async with db.tenant(tenant_id) as conn:
        assert await conn.fetchval("SELECT count(*) FROM debtors") == 1000
        per_debtor = await conn.fetch("SELECT count(*) AS n FROM accounts GROUP BY debtor_id")
        assert {r["n"] for r in per_debtor} == {1, 2}
        assert await conn.fetchval("SELECT count(*) FROM agent_groups") == 2
        currencies = {
            r["currency"] for r in await conn.fetch("SELECT DISTINCT currency FROM accounts")
        }
        assert {"USD", "EUR", "GBP", "JPY"} <= currencies
        zones = await conn.fetchval("SELECT count(DISTINCT time_zone) FROM debtors")
        assert zones >= 8
        spread = await conn.fetchrow(
            "SELECT min(principal) AS lo, max(principal) AS hi, "
            "count(*) FILTER (WHERE due_date < current_date - 90) AS late, "
            "count(*) FILTER (WHERE owner_id IS NULL) AS unowned FROM accounts"
        )
        assert spread["lo"] < 100 < 10_000 < spread["hi"]
        assert spread["late"] > 100
        assert spread["unowned"] > 100
    for email, _, role, _ in DEMO_USERS:
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, email
        me = await client.get(
            "/api/v1/users/me",
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        )
        assert me.json()["role"] == role
        # The agency its debtors' payment page names, read through the settings API.
        tenant = await client.get(
            "/api/v1/tenant",
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
        )
        assert tenant.json()["settings"]["branding"] == msgspec.to_builtins(DEMO_BRANDING)
        assert DEMO_BRANDING.phone
