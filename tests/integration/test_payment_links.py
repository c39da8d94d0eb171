"""Payment links over REST: made and withdrawn only on accounts the caller may see."""

from __future__ import annotations

from tests.factories import SeededTenant


async def make_link(client, tenant: SeededTenant, account_id: int) -> dict:  # type: ignore[no-untyped-def]
    response = await client.post(
        f"/api/v1/accounts/{account_id}/payment-links", headers=tenant.admin.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def revoked_at(tenant: SeededTenant, link_id: int):  # type: ignore[no-untyped-def]
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval("SELECT revoked_at FROM payment_links WHERE id = $1", link_id)


async def test_a_collector_withdraws_links_on_their_own_accounts(
    client, tenant: SeededTenant
) -> None:
    mine = tenant.accounts[0]
    link = await make_link(client, tenant, mine.id)
    response = await client.delete(
        f"/api/v1/payment-links/{link['id']}", headers=tenant.collector.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["revoked_at"] is not None


async def test_a_collector_cannot_withdraw_a_link_on_an_account_they_cannot_see(
    client, tenant: SeededTenant
) -> None:
    theirs, unowned = tenant.accounts[1], tenant.accounts[2]
    for account in (theirs, unowned):
        link = await make_link(client, tenant, account.id)
        response = await client.delete(
            f"/api/v1/payment-links/{link['id']}", headers=tenant.collector.headers
        )
        assert response.status_code == 404, response.text
        # The same answer as for a link that does not exist: the id tells nothing.
        assert response.json()["detail"] == f"payment link {link['id']} not found"
        assert await revoked_at(tenant, link["id"]) is None
    async with tenant.db.tenant(tenant.id) as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM outbox WHERE type = 'payment_link.revoked'")
            == 0
        )


async def test_a_link_of_another_tenant_is_not_found(client, tenant: SeededTenant, tenants) -> None:
    other = await tenants.new()
    link = await make_link(client, other, other.accounts[0].id)
    response = await client.delete(
        f"/api/v1/payment-links/{link['id']}", headers=tenant.admin.headers
    )
    assert response.status_code == 404
    assert await revoked_at(other, link["id"]) is None
