"""Names that resolve to addresses webhooks may not reach, through the resolver the code
uses: refused at save, and refused at delivery when the name answered a public address at
save and a private one since (DNS rebinding), with the development setting off as in
production; and the request goes to the very address that was checked (pinned).

Both checks resolve through the event loop's ``getaddrinfo`` (``domain.webhooks.urls.resolve``
at save; at delivery the client's resolver, aiohttp's threaded one inside
``urls.CheckedResolver``, which checks the answer before the connector connects to it), which
runs the C library's resolver: it asks only the name servers of ``/etc/resolv.conf``, on port
53. So the test answers for its own zone (``.rebind.test``) at that single point,
``socket.getaddrinfo`` as the loop calls it, and hands every other name to the real one."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import uuid

import httpx
import pytest

from domain.db import Database
from tests.factories import SeededTenant, TenantFactory
from tests.integration.webhook_helpers import (
    T0,
    TYPE,
    Receiver,
    attempts,
    deliveries,
    emit,
    sender,
    stage_events,
)

ENDPOINTS = "/api/v1/webhook-endpoints"
PUBLIC = "93.184.215.14"
REFUSED = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"]
_getaddrinfo = socket.getaddrinfo


class Zone:
    """The answers for names under ``.rebind.test``: each lookup takes the next address of
    its name's list (the last one answers every lookup after), and is logged."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def name(self, *addresses: str) -> str:
        name = f"hook-{uuid.uuid4().hex[:8]}.rebind.test"
        self.answers[name] = list(addresses)
        return name

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else host
        if not isinstance(name, str) or not name.endswith(".rebind.test"):
            return _getaddrinfo(host, port, family, type, proto, flags)
        self.lookups.append(name)
        queue = self.answers.get(name)
        if not queue:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        port = int(port or 0)
        if ipaddress.ip_address(address).version == 6:
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
            ]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Zone:
    made = Zone()
    monkeypatch.setattr(socket, "getaddrinfo", made.getaddrinfo)
    return made


def refusal(name: str, address: str) -> str:
    return (
        f"{name} resolves to an address webhooks may not reach ({address}): only public "
        "addresses are allowed"
    )


@pytest.mark.parametrize("address", REFUSED)
async def test_a_name_resolving_to_a_private_address_is_refused_at_save(
    client: httpx.AsyncClient, tenant: SeededTenant, zone: Zone, address: str
) -> None:
    name = zone.name(address)
    refused = await client.post(
        ENDPOINTS,
        json={"url": f"https://{name}/hooks", "event_types": [TYPE]},
        headers=tenant.admin.headers,
    )
    assert refused.status_code == 422, refused.text
    assert (refused.json()["field"], refused.json()["detail"]) == ("url", refusal(name, address))
    assert zone.lookups == [name]
    # The same name answering a public address is taken.
    public = zone.name(PUBLIC)
    taken = await client.post(
        ENDPOINTS,
        json={"url": f"https://{public}/hooks", "event_types": [TYPE]},
        headers=tenant.admin.headers,
    )
    assert taken.status_code == 201, taken.text


@pytest.mark.parametrize("address", REFUSED)
async def test_a_name_public_at_save_and_private_at_delivery_is_refused_at_delivery(
    client: httpx.AsyncClient, db: Database, tenants: TenantFactory, zone: Zone, address: str
) -> None:
    tenant = await tenants.new(with_accounts=False)
    name = zone.name(PUBLIC, address)
    saved = await client.post(
        ENDPOINTS,
        json={"url": f"https://{name}/hooks", "event_types": [TYPE]},
        headers=tenant.admin.headers,
    )
    assert saved.status_code == 201, saved.text
    await emit(db, tenant.id, TYPE, {"account_id": 1})
    await stage_events(db, tenant.id, TYPE)
    # The development setting off, as in production.
    figures = await sender(db, T0, allow_local=False).deliver_tenant(tenant.id)
    assert figures == {"failed": 1}
    # Refused on the delivery's own lookup, before anything connects (the connector is
    # handed no address), with the words of the save's refusal.
    assert zone.lookups == [name, name]
    [row] = await deliveries(db, tenant.id)
    reason = "refused: " + refusal(name, address)
    # A failed attempt like any other: retried on the schedule (the name may be put right),
    # dead-lettered after the last.
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, reason)
    assert row["next_attempt_at"] == T0 + dt.timedelta(seconds=5)
    [tried] = await attempts(db, tenant.id, row["id"])
    assert (tried["status"], tried["response"], tried["error"]) == (None, None, reason)


async def test_the_request_goes_to_the_address_that_was_checked(
    db: Database, tenants: TenantFactory, zone: Zone
) -> None:
    """The name answers loopback to the checks (admitted here: the development setting is
    on, to reach the receiver) and an address where nothing listens to any lookup after: the
    request lands, because the connection is made to the address the delivery's lookup
    answered and its resolver checked, not to the name looked up once more."""
    tenant = await tenants.new(with_accounts=False)
    async with Receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        name = zone.name("127.0.0.1", "127.0.0.1", "10.0.0.1")
        from tests.integration.webhook_helpers import add_endpoint

        made = await add_endpoint(db, tenant.id, f"http://{name}:{port}/hooks")
        await emit(db, tenant.id, TYPE, {"account_id": 1})
        await stage_events(db, tenant.id, TYPE)
        figures = await sender(db, T0).deliver_tenant(tenant.id)
    assert figures == {"succeeded": 1}
    # At save; the delivery's, checked, and the one the connection is made to (no other).
    assert zone.lookups == [name, name]
    [request] = receiver.requests
    assert request.headers["host"] == f"{name}:{port}"
    assert made.endpoint.url == f"http://{name}:{port}/hooks"
