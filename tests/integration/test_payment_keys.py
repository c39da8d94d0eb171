"""Idempotency-Keys on payments belong to their caller, and a replay is checked against the
caller's access like a first request."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from domain.payments.idempotency import request_hash
from domain.payments.schemas import PaymentCreate
from tests.factories import SeededTenant
from tests.helpers import keyed


def new_key() -> str:
    return f"key-{uuid.uuid4()}"


async def pay(client, headers: dict, account_id: int, key: str, amount: str = "10.00"):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/accounts/{account_id}/payments",
        json={"amount": amount, "currency": "USD", "method": "card"},
        headers={**headers, "Idempotency-Key": key},
    )


async def payments_on(tenant: SeededTenant, account_id: int) -> int:
    async with tenant.db.tenant(tenant.id) as conn:
        return await conn.fetchval(
            "SELECT count(*) FROM payments WHERE account_id = $1", account_id
        )


async def api_key_headers(client, tenant: SeededTenant, *scopes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "integration", "scopes": list(scopes)},
        headers=tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['key']}"}


async def test_two_users_of_one_tenant_with_the_same_key_do_not_collide(
    client, tenant: SeededTenant
) -> None:
    key = new_key()
    first = await pay(client, tenant.admin.headers, tenant.accounts[0].id, key)
    other_account = await pay(client, tenant.supervisor.headers, tenant.accounts[1].id, key)
    same_request = await pay(client, tenant.collector.headers, tenant.accounts[0].id, key)
    for response in (first, other_account, same_request):
        assert response.status_code == 201, response.text
        assert "idempotent-replayed" not in response.headers
    assert len({r.json()["id"] for r in (first, other_account, same_request)}) == 3
    assert await payments_on(tenant, tenant.accounts[0].id) == 2
    # Each caller's own retry still gets its own first response.
    again = await pay(client, tenant.supervisor.headers, tenant.accounts[1].id, key)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == other_account.json()["id"]


async def test_no_user_can_block_another_users_key(client, tenant: SeededTenant) -> None:
    key = new_key()
    squatted = await pay(client, tenant.other_collector.headers, tenant.accounts[1].id, key, "1.00")
    assert squatted.status_code == 201
    mine = await pay(client, tenant.collector.headers, tenant.accounts[0].id, key)
    assert mine.status_code == 201, mine.text
    assert "idempotent-replayed" not in mine.headers


async def test_a_replay_of_another_users_payment_on_a_hidden_account_is_not_found(
    client, tenant: SeededTenant
) -> None:
    account, key = tenant.accounts[0], new_key()  # the first collector's account
    assert (await pay(client, tenant.collector.headers, account.id, key)).status_code == 201
    probe = await client.get(
        f"/api/v1/accounts/{account.id}", headers=tenant.other_collector.headers
    )
    assert probe.status_code == 404
    replay = await pay(client, tenant.other_collector.headers, account.id, key)
    assert replay.status_code == 404, replay.text
    assert "idempotent-replayed" not in replay.headers
    assert await payments_on(tenant, account.id) == 1


async def test_a_collector_who_lost_the_account_gets_404_on_replay(
    client, tenant: SeededTenant
) -> None:
    account, key = tenant.accounts[0], new_key()
    first = await pay(client, tenant.collector.headers, account.id, key)
    assert first.status_code == 201
    moved = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"owner_id": tenant.other_collector.id},
        headers=tenant.admin.headers,
    )
    assert moved.status_code == 200, moved.text
    replay = await pay(client, tenant.collector.headers, account.id, key)
    assert replay.status_code == 404, replay.text
    other_body = await pay(client, tenant.collector.headers, account.id, key, "11.00")
    assert other_body.status_code == 404  # as a first request would be, whatever the body
    back = await client.patch(
        f"/api/v1/accounts/{account.id}",
        json={"owner_id": tenant.collector.id},
        headers=tenant.admin.headers,
    )
    assert back.status_code == 200
    replay = await pay(client, tenant.collector.headers, account.id, key)
    assert (replay.status_code, replay.headers["idempotent-replayed"]) == (201, "true")
    assert replay.json()["id"] == first.json()["id"]
    assert await payments_on(tenant, account.id) == 1


async def test_an_api_key_and_a_user_have_keys_of_their_own(client, tenant: SeededTenant) -> None:
    account, key = tenant.accounts[2], new_key()
    integration = await api_key_headers(client, tenant, "payments:write")
    by_key = await pay(client, integration, account.id, key)
    by_user = await pay(client, tenant.admin.headers, account.id, key)
    assert (by_key.status_code, by_user.status_code) == (201, 201)
    assert by_key.json()["id"] != by_user.json()["id"]
    assert by_key.json()["source"] == "api"
    replay = await pay(client, integration, account.id, key)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == by_key.json()["id"]
    other_key = await api_key_headers(client, tenant, "payments:write")
    assert "idempotent-replayed" not in (await pay(client, other_key, account.id, key)).headers


async def test_one_tenants_key_never_touches_anothers(
    client, tenant: SeededTenant, tenants
) -> None:
    other, key = await tenants.new(), new_key()
    here = await pay(client, tenant.admin.headers, tenant.accounts[0].id, key)
    there = await pay(client, other.admin.headers, other.accounts[0].id, key)
    assert (here.status_code, there.status_code) == (201, 201)
    assert "idempotent-replayed" not in there.headers
    # The first tenant's account id, sent to the other tenant with the same key: not found.
    crossed = await pay(client, other.admin.headers, tenant.accounts[0].id, key)
    assert crossed.status_code == 404
    assert await payments_on(tenant, tenant.accounts[0].id) == 1


async def test_a_reused_or_busy_key_is_refused_naming_the_idempotency_key_header(
    client, tenant: SeededTenant
) -> None:
    account, key = tenant.accounts[0], new_key()
    assert (await pay(client, tenant.admin.headers, account.id, key)).status_code == 201
    reused = await pay(client, tenant.admin.headers, account.id, key, "11.00")
    assert reused.status_code == 422, reused.text
    assert reused.json()["type"] == "urn:recoup:problem:idempotency-key-reused"
    assert reused.json()["errors"] == [
        {
            "field": "Idempotency-Key",
            "message": "this Idempotency-Key was already used with a different request",
        }
    ]
    busy = new_key()
    async with tenant.db.tenant(tenant.id) as conn:  # a first request still running
        await conn.execute(
            """INSERT INTO idempotency_keys (tenant_id, caller, key, request_hash)
            VALUES ($1, $2, $3, $4)""",
            tenant.id,
            f"user:{tenant.admin.id}",
            busy,
            request_hash(
                "payment", account.id, PaymentCreate(amount=Decimal("10.00"), currency="USD")
            ),
        )
    in_flight = await pay(client, tenant.admin.headers, account.id, busy)
    assert in_flight.status_code == 409, in_flight.text
    assert in_flight.json()["type"] == "urn:recoup:problem:idempotency-key-in-flight"
    assert in_flight.json()["field"] == "Idempotency-Key"
    assert in_flight.json()["detail"] == (
        "a request with this Idempotency-Key is still in progress; retry in a moment"
    )
    assert await payments_on(tenant, account.id) == 1


MISSING = (
    "send an Idempotency-Key header: a unique value for each payment, and the same one again "
    "when you retry it"
)


def assert_key_missing(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:recoup:problem:idempotency-key-missing"
    assert (problem["field"], problem["detail"]) == ("Idempotency-Key", MISSING)


async def test_every_post_that_moves_money_needs_an_idempotency_key(
    client, tenant: SeededTenant
) -> None:
    account, admin = tenant.accounts[0], tenant.admin.headers
    body = {"amount": "10.00", "currency": "USD", "method": "card"}
    url = f"/api/v1/accounts/{account.id}/payments"
    assert_key_missing(await client.post(url, json=body, headers=admin))
    assert await payments_on(tenant, account.id) == 0
    paid = await pay(client, admin, account.id, new_key())
    assert paid.status_code == 201
    for action in ("refund", "reverse"):
        refused = await client.post(
            f"/api/v1/payments/{paid.json()['id']}/{action}", json={"reason": "x"}, headers=admin
        )
        assert_key_missing(refused)
    assert (await client.get(f"/api/v1/payments/{paid.json()['id']}", headers=admin)).json()[
        "status"
    ] == "succeeded"
    link = await client.post(f"/api/v1/accounts/{account.id}/payment-links", json={}, headers=admin)
    page = "/pay/" + link.json()["url"].split("/pay/", 1)[1]
    assert_key_missing(await client.post(f"{page}/checkout", json={"amount": "5.00"}))
    assert await payments_on(tenant, account.id) == 1
    # A promise moves no money: it needs no key.
    promise = {"amount": "200.00", "due_date": str(dt.date.today() + dt.timedelta(days=3))}
    made = await client.post(f"/api/v1/accounts/{account.id}/promises", json=promise, headers=admin)
    assert made.status_code == 201, made.text


async def test_a_refund_retried_with_its_key_is_answered_once(client, tenant: SeededTenant) -> None:
    admin = tenant.admin.headers
    paid = (await pay(client, admin, tenant.accounts[0].id, new_key())).json()
    url, key = f"/api/v1/payments/{paid['id']}/refund", new_key()
    first = await client.post(
        url, json={"reason": "dup"}, headers={**admin, "Idempotency-Key": key}
    )
    again = await client.post(
        url, json={"reason": "dup"}, headers={**admin, "Idempotency-Key": key}
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["status"] == "refunded"
    other = await client.post(url, json={"reason": "x"}, headers={**admin, "Idempotency-Key": key})
    assert other.status_code == 422
    fresh = await client.post(url, json={"reason": "dup"}, headers={**admin, **keyed()})
    assert fresh.status_code == 409  # a second refund, not a retry of the first


async def test_a_checkout_retried_with_its_key_is_the_same_checkout(
    client, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    link = await client.post(
        f"/api/v1/accounts/{account.id}/payment-links", json={}, headers=tenant.admin.headers
    )
    page, key = "/pay/" + link.json()["url"].split("/pay/", 1)[1], {"Idempotency-Key": new_key()}
    first = await client.post(f"{page}/checkout", json={"amount": "5.00"}, headers=key)
    again = await client.post(f"{page}/checkout", json={"amount": "5.00"}, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await payments_on(tenant, account.id) == 1
    other = await client.post(f"{page}/checkout", json={"amount": "6.00"}, headers=keyed())
    assert other.json()["payment_id"] != first.json()["payment_id"]
    assert await payments_on(tenant, account.id) == 2


async def test_the_document_says_which_posts_need_the_key(client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]

    def key_of(path: str) -> dict:
        (header,) = [p for p in paths[path]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
        return header

    for path in (
        "/api/v1/accounts/{account_id}/payments",
        "/api/v1/payments/{payment_id}/refund",
        "/api/v1/payments/{payment_id}/reverse",
        "/pay/{token}/checkout",
    ):
        assert key_of(path)["required"] is True, path
        assert "400" in paths[path]["post"]["responses"], path
    assert key_of("/api/v1/accounts/{account_id}/payment-links/send")["required"] is False
