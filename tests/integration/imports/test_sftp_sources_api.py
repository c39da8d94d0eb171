"""SFTP sources over REST: admins only, each change audited, the private key taken and
sealed but never answered (nor written to the audit log), what is refused with its field,
and another tenant's sources not found."""

from __future__ import annotations

import httpx
import msgspec

from config.settings import Settings
from domain.db import Database
from domain.imports.sftp import key_box
from tests.factories import SeededTenant, TenantFactory
from tests.integration.imports.files import MAPPING
from tests.integration.imports.sftp_server import new_key, private_text, public_text

API = "/api/v1"


async def _mapping(client: httpx.AsyncClient, headers: dict[str, str], name: str = "M") -> int:
    body = {"name": name, "mapping": msgspec.to_builtins(MAPPING)}
    made = await client.post(f"{API}/import-mappings", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _body(mapping: int, key: str, **overrides: object) -> dict:
    return {
        "name": "DebtFlow",
        "host": "sftp.debtflow.example",
        "username": "recoup",
        "private_key": key,
        "folder": "/outgoing",
        "processed_folder": "/outgoing/done",
        "mapping_id": mapping,
        **overrides,
    }


async def test_a_source_keeps_its_key_sealed_and_never_answers_it(
    client: httpx.AsyncClient, db: Database, tenant: SeededTenant, settings: Settings
) -> None:
    admin = tenant.admin.headers
    mapping_id = await _mapping(client, admin)
    key = private_text(new_key())
    made = await client.post(f"{API}/sftp-sources", json=_body(mapping_id, key), headers=admin)
    assert made.status_code == 201, made.text
    source = made.json()
    assert (source["port"], source["pattern"], source["enabled"], source["last_status"]) == (
        22,
        "*.csv",
        True,
        None,
    )
    assert "private_key" not in source
    assert "private_key_enc" not in source
    listed = await client.get(f"{API}/sftp-sources", headers=admin)
    assert [s["id"] for s in listed.json()["items"]] == [source["id"]]
    for answer in (
        made.text,
        listed.text,
        (await client.get(f"{API}/sftp-sources/{source['id']}", headers=admin)).text,
    ):
        assert "PRIVATE KEY" not in answer
    async with db.tenant(tenant.id) as conn:
        sealed = await conn.fetchval(
            "SELECT private_key_enc FROM sftp_sources WHERE id = $1", source["id"]
        )
        audit = await conn.fetch(
            "SELECT action, after::text FROM audit_log WHERE entity_type = 'sftp_source' "
            "ORDER BY id"
        )
    assert "PRIVATE KEY" not in sealed
    assert key_box(settings.secret_key).open(sealed) == key.strip() + "\n"
    assert [a["action"] for a in audit] == ["sftp_source.create"]
    assert "PRIVATE KEY" not in audit[0]["after"]

    # A new key replaces the old (the audit says so, not what it is); the rest stays.
    other = private_text(new_key())
    patched = await client.patch(
        f"{API}/sftp-sources/{source['id']}",
        json={"private_key": other, "port": 2222},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["port"], patched.json()["folder"]) == (2222, "/outgoing")
    async with db.tenant(tenant.id) as conn:
        sealed = await conn.fetchval(
            "SELECT private_key_enc FROM sftp_sources WHERE id = $1", source["id"]
        )
        after = await conn.fetchval(
            "SELECT after FROM audit_log WHERE action = 'sftp_source.update'"
        )
    assert key_box(settings.secret_key).open(sealed) == other.strip() + "\n"
    assert after["private_key"] == "replaced"
    assert "PRIVATE KEY" not in str(after)
    gone = await client.delete(f"{API}/sftp-sources/{source['id']}", headers=admin)
    assert gone.status_code == 204
    missing = await client.get(f"{API}/sftp-sources/{source['id']}", headers=admin)
    assert missing.status_code == 404


async def test_what_a_source_refuses(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    admin = tenant.admin.headers
    mapping_id = await _mapping(client, admin)
    key = private_text(new_key())
    other = await tenants.new(with_accounts=False)
    theirs = await _mapping(client, other.admin.headers, "Theirs")
    cases = [
        ({"private_key": "not a key"}, "private_key"),
        ({"host_key": "ssh-ed25519 nonsense"}, "host_key"),
        ({"host_key": key}, "host_key"),  # a private key, which would be kept and shown
        ({"mapping_id": theirs}, "mapping_id"),
        ({"processed_folder": "/outgoing/"}, "processed_folder"),
        ({"port": 0}, "port"),
        ({"port": 65536}, "port"),
        ({"pattern": "a/*.csv"}, "pattern"),
        ({"host": "bad host"}, "host"),
        # Addresses a poll would refuse are refused when saved (loopback only where the
        # deployment allows it, as for webhooks; never private, link-local or "this host").
        # A name that does not resolve yet is kept: the poll says so.
        ({"host": "169.254.169.254"}, "host"),
        ({"host": "10.0.0.1"}, "host"),
        ({"host": "0.0.0.0"}, "host"),
        ({"host": "fd00::1"}, "host"),
        ({"host": "167772161"}, "host"),  # 10.0.0.1 written as one number
        ({"host": "0177.0.0.1"}, "host"),  # 127.0.0.1 in octal: loopback not allowed here
        ({"name": " DebtFlow"}, "name"),
        ({"username": "a@b"}, "username"),
    ]
    for change, field in cases:
        refused = await client.post(
            f"{API}/sftp-sources", json=_body(mapping_id, key, **change), headers=admin
        )
        assert refused.status_code == 422, (change, refused.text)
        assert field in (refused.json().get("field") or refused.text), (change, refused.text)
    made = await client.post(
        f"{API}/sftp-sources", json=_body(mapping_id, key, name="Moves"), headers=admin
    )
    assert made.status_code == 201, made.text
    moved = await client.patch(
        f"{API}/sftp-sources/{made.json()['id']}", json={"host": "192.168.1.5"}, headers=admin
    )
    assert (moved.status_code, moved.json()["field"]) == (422, "host"), moved.text
    assert "SFTP sources may not reach (192.168.1.5)" in moved.json()["detail"]
    # The bounds themselves are taken.
    for port in (1, 65535):
        ok = await client.post(
            f"{API}/sftp-sources",
            json=_body(
                mapping_id, key, name=f"P{port}", port=port, host_key=public_text(new_key())
            ),
            headers=admin,
        )
        assert ok.status_code == 201, ok.text
    # A key may take 4 KiB (its text padded here with blank lines), not a character more.
    padded = key + "\n" * (4096 - len(key))
    fits = await client.post(
        f"{API}/sftp-sources", json=_body(mapping_id, padded, name="Padded"), headers=admin
    )
    assert fits.status_code == 201, fits.text
    over = await client.post(
        f"{API}/sftp-sources",
        json=_body(mapping_id, padded + "\n", name="Too long"),
        headers=admin,
    )
    assert over.status_code == 422
    assert "private_key" in over.text
    again = await client.post(
        f"{API}/sftp-sources", json=_body(mapping_id, key, name="P1"), headers=admin
    )
    assert (again.status_code, again.json()["field"]) == (409, "name")
    # A mapping a source uses cannot go while the source is there.
    in_use = await client.delete(f"{API}/import-mappings/{mapping_id}", headers=admin)
    assert in_use.status_code == 409


async def test_only_admins_and_only_their_tenants_sources(
    client: httpx.AsyncClient, tenant: SeededTenant, tenants: TenantFactory
) -> None:
    other = await tenants.new(with_accounts=False)
    mapping_id = await _mapping(client, other.admin.headers)
    theirs = await client.post(
        f"{API}/sftp-sources",
        json=_body(mapping_id, private_text(new_key())),
        headers=other.admin.headers,
    )
    source_id = theirs.json()["id"]
    for role in ("collector", "supervisor", "readonly"):
        headers = tenant.users[role].headers
        assert (await client.get(f"{API}/sftp-sources", headers=headers)).status_code == 403
        posted = await client.post(f"{API}/sftp-sources", json={}, headers=headers)
        assert posted.status_code == 403
    admin = tenant.admin.headers
    url = f"{API}/sftp-sources/{source_id}"
    assert (await client.get(url, headers=admin)).status_code == 404
    assert (await client.patch(url, json={"enabled": False}, headers=admin)).status_code == 404
    assert (await client.delete(url, headers=admin)).status_code == 404
    still = await client.get(url, headers=other.admin.headers)
    assert still.json()["enabled"] is True
    assert (await client.get(f"{API}/sftp-sources", headers=admin)).json()["items"] == []


async def test_a_host_key_is_kept_as_its_public_key_alone(
    client: httpx.AsyncClient, tenant: SeededTenant
) -> None:
    admin = tenant.admin.headers
    mapping_id = await _mapping(client, admin)
    host = new_key()
    commented = public_text(host) + " deploy@host\n"
    made = await client.post(
        f"{API}/sftp-sources",
        json=_body(mapping_id, private_text(new_key()), host_key=commented),
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert made.json()["host_key"] == commented.strip()
    refused = await client.post(
        f"{API}/sftp-sources",
        json=_body(mapping_id, private_text(new_key()), name="Two", host_key=private_text(host)),
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("that is a private key")
    assert "PRIVATE" not in refused.text.split('"detail"')[0]
