"""Files that arrive by SFTP: a real SFTP server on loopback, polled as the scheduled job
polls it. A new file is imported once and moved; a second poll does nothing; the same name
with other content is another import; a poll that dies before the move imports nothing
twice; and a host that cannot be reached, a refused key or a foreign host key are a status
on the source, not an exception."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import msgspec
import pytest

from config.settings import Settings
from domain.db import Database
from domain.imports.sftp import key_box
from domain.imports.sftp_poll import PollOptions, poll_all, poll_source
from tests.factories import SeededTenant
from tests.integration.imports.files import MAPPING, finish, good_row, write_rows
from tests.integration.imports.sftp_server import (
    USER,
    SftpServer,
    closed_port,
    new_key,
    private_text,
    public_text,
    sftp_server,
)

API = "/api/v1"


@pytest.fixture
async def server(tmp_path: Path):
    async with sftp_server(tmp_path / "sftp") as running:
        yield running


class Kicks:
    """The poll's hand-off to the import job: recorded, and run here to the end."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.kicked: list[int] = []

    async def __call__(self, tenant_id: int, import_id: int) -> None:
        self.kicked.append(import_id)
        await finish(self.db, tenant_id, import_id)


async def _source(
    client: httpx.AsyncClient, tenant: SeededTenant, server: SftpServer, **overrides: object
) -> dict:
    admin = tenant.admin.headers
    presets = (await client.get(f"{API}/import-mappings", headers=admin)).json()["items"]
    if presets:
        mapping_id = presets[0]["id"]
    else:
        preset = {"name": "DebtFlow", "mapping": msgspec.to_builtins(MAPPING)}
        made = await client.post(f"{API}/import-mappings", json=preset, headers=admin)
        mapping_id = made.json()["id"]
    # The API takes loopback only where the deployment allows it (WEBHOOKS_ALLOW_LOCAL, as
    # in development, which these polls stand for): the test server's address goes in
    # behind it.
    body = {
        "name": "DebtFlow daily",
        "host": "sftp.debtflow.example",
        "port": server.port,
        "username": USER,
        "private_key": private_text(server.client_key),
        "host_key": public_text(server.host_key),
        "folder": "/in",
        "pattern": "placements-*.csv",
        "processed_folder": "/done",
        "mapping_id": mapping_id,
        **overrides,
    }
    made = await client.post(f"{API}/sftp-sources", json=body, headers=admin)
    assert made.status_code == 201, made.text
    host = overrides.get("host", "127.0.0.1")
    async with tenant.db.tenant(tenant.id) as conn:
        await conn.execute(
            "UPDATE sftp_sources SET host = $1 WHERE id = $2", host, made.json()["id"]
        )
    return {**made.json(), "host": host}


def _options(settings: Settings, **kw: object) -> PollOptions:
    return PollOptions(imports_folder=settings.imports_path, allow_local=True, timeout=5, **kw)


async def _poll(db: Database, settings: Settings, tenant: SeededTenant, source: dict, kicks):
    box = key_box(settings.secret_key)
    return await poll_source(db, box, _options(settings), tenant.id, source["id"], kicks)


async def test_a_file_is_imported_once_moved_and_the_same_name_anew_is_another_import(
    client: httpx.AsyncClient,
    db: Database,
    tenant: SeededTenant,
    settings: Settings,
    server: SftpServer,
) -> None:
    admin = tenant.admin.headers
    source = await _source(client, tenant, server)
    inbox = server.root / "in"
    bad = ["S-bad", "D-x", "Ann", "Lee", "a@example.com", "XYZ", "10.00", "0", "2026-06-30"]
    write_rows(inbox / "placements-1.csv", [good_row(i, prefix="S") for i in range(3)] + [bad])
    write_rows(inbox / "other.csv", [good_row(9, prefix="O")])  # not the pattern: left alone
    kicks = Kicks(db)

    first = await _poll(db, settings, tenant, source, kicks)
    assert (first.status, first.error, len(first.imported)) == ("ok", None, 1)
    assert kicks.kicked == first.imported
    assert sorted(p.name for p in inbox.iterdir()) == ["other.csv"]
    assert [p.name for p in (server.root / "done").iterdir()] == ["placements-1.csv"]
    [import_id] = first.imported
    listed = (await client.get(f"{API}/imports", headers=admin)).json()["items"]
    assert [(i["id"], i["file_name"], i["status"]) for i in listed] == [
        (import_id, "placements-1.csv", "done")
    ]
    assert (listed[0]["rows_created"], listed[0]["rows_rejected"], listed[0]["created_by"]) == (
        3,
        1,
        None,
    )
    rejected = await client.get(f"{API}/imports/{import_id}/rejected.csv", headers=admin)
    rows = list(csv.reader(io.StringIO(rejected.text)))
    assert [r[:2] for r in rows[1:]] == [["5", "Currency"]]
    shown = (await client.get(f"{API}/sftp-sources/{source['id']}", headers=admin)).json()
    assert (shown["last_status"], shown["last_error"], shown["last_files"]) == ("ok", None, 1)
    assert shown["last_polled_at"] is not None

    # Polled again: nothing new, nothing imported, nothing kicked.
    second = await _poll(db, settings, tenant, source, kicks)
    assert (second.status, second.imported, kicks.kicked) == ("ok", [], [import_id])
    assert len((await client.get(f"{API}/imports", headers=admin)).json()["items"]) == 1

    # The same name with other content: a new file, a new import, moved beside the first.
    write_rows(inbox / "placements-1.csv", [good_row(i, prefix="S") for i in range(5)])
    third = await _poll(db, settings, tenant, source, kicks)
    assert len(third.imported) == 1
    assert third.imported[0] != import_id
    done = sorted(p.name for p in (server.root / "done").iterdir())
    assert len(done) == 2
    assert done[0] == "placements-1.csv"
    assert done[1].startswith("placements-1.")
    assert done[1].endswith(".csv")
    again = (await client.get(f"{API}/imports/{third.imported[0]}", headers=admin)).json()
    assert (again["status"], again["rows_created"], again["rows_unchanged"]) == ("done", 2, 3)
    async with db.tenant(tenant.id) as conn:
        files = await conn.fetch("SELECT name, import_id, moved_at FROM sftp_files ORDER BY id")
    assert [(f["name"], f["import_id"]) for f in files] == [
        ("placements-1.csv", import_id),
        ("placements-1.csv", third.imported[0]),
    ]
    assert all(f["moved_at"] is not None for f in files)


async def test_a_poll_that_dies_before_the_move_never_imports_the_file_twice(
    client: httpx.AsyncClient,
    db: Database,
    tenant: SeededTenant,
    settings: Settings,
    server: SftpServer,
) -> None:
    source = await _source(client, tenant, server)
    write_rows(server.root / "in" / "placements-2.csv", [good_row(i, prefix="K") for i in range(4)])

    async def dies(tenant_id: int, import_id: int) -> None:
        raise RuntimeError("the worker died")

    with pytest.raises(RuntimeError):
        await _poll(db, settings, tenant, source, dies)
    assert [p.name for p in (server.root / "in").iterdir()] == ["placements-2.csv"]
    kicks = Kicks(db)
    after = await _poll(db, settings, tenant, source, kicks)
    # Not imported again; the import the dead poll recorded is kicked again and moved.
    assert after.imported == []
    assert len(kicks.kicked) == 1
    assert list((server.root / "in").iterdir()) == []
    listed = (await client.get(f"{API}/imports", headers=tenant.admin.headers)).json()["items"]
    assert [(i["id"], i["status"], i["rows_created"]) for i in listed] == [
        (kicks.kicked[0], "done", 4)
    ]
    # The downloads of files taken before are not kept.
    kept = list((settings.imports_path / str(tenant.id)).iterdir())
    assert len(kept) == 1


async def test_the_scheduled_round_polls_enabled_sources_only(
    client: httpx.AsyncClient,
    db: Database,
    tenant: SeededTenant,
    settings: Settings,
    server: SftpServer,
) -> None:
    source = await _source(client, tenant, server)
    write_rows(server.root / "in" / "placements-3.csv", [good_row(1, prefix="R")])
    off = await client.patch(
        f"{API}/sftp-sources/{source['id']}", json={"enabled": False}, headers=tenant.admin.headers
    )
    assert off.status_code == 200
    assert off.json()["enabled"] is False
    kicks = Kicks(db)
    box = key_box(settings.secret_key)
    assert await poll_all(db, box, _options(settings), kicks) == 0
    assert kicks.kicked == []
    await client.patch(
        f"{API}/sftp-sources/{source['id']}", json={"enabled": True}, headers=tenant.admin.headers
    )
    assert await poll_all(db, box, _options(settings), kicks) == 1
    assert len(kicks.kicked) == 1


async def _status(client: httpx.AsyncClient, tenant: SeededTenant, source_id: int) -> tuple:
    got = await client.get(f"{API}/sftp-sources/{source_id}", headers=tenant.admin.headers)
    return got.json()["last_status"], got.json()["last_error"]


async def test_what_goes_wrong_is_the_sources_status(
    client: httpx.AsyncClient,
    db: Database,
    tenant: SeededTenant,
    settings: Settings,
    server: SftpServer,
) -> None:
    kicks = Kicks(db)
    write_rows(server.root / "in" / "placements-4.csv", [good_row(1, prefix="E")])
    port = closed_port()
    unreachable = await _source(client, tenant, server, name="Down", port=port)
    result = await _poll(db, settings, tenant, unreachable, kicks)
    assert result.status == "failed"
    assert result.error.startswith(f"cannot reach 127.0.0.1:{port}: ")
    assert await _status(client, tenant, unreachable["id"]) == ("failed", result.error)

    stranger = await _source(
        client, tenant, server, name="Wrong key", private_key=private_text(new_key())
    )
    result = await _poll(db, settings, tenant, stranger, kicks)
    assert (result.status, result.error) == (
        "failed",
        f"127.0.0.1:{server.port} refused the user 'debtflow' with this key",
    )

    spoofed = await _source(
        client, tenant, server, name="Other host", host_key=public_text(new_key())
    )
    result = await _poll(db, settings, tenant, spoofed, kicks)
    assert (result.status, result.error) == (
        "failed",
        f"127.0.0.1:{server.port} did not show the host key saved for this source",
    )

    nowhere = await _source(client, tenant, server, name="No folder", folder="/missing")
    result = await _poll(db, settings, tenant, nowhere, kicks)
    assert result.status == "failed"
    assert result.error.startswith(f"SFTP error on 127.0.0.1:{server.port}: ")

    # Loopback only where the deployment allows it (development, tests), as for webhooks.
    box = key_box(settings.secret_key)
    strict = PollOptions(imports_folder=settings.imports_path, allow_local=False, timeout=5)
    good = await _source(client, tenant, server, name="Good")
    result = await poll_source(db, box, strict, tenant.id, good["id"], kicks)
    assert result.status == "failed"
    assert "may not reach" in result.error
    assert kicks.kicked == []
    assert [p.name for p in (server.root / "in").iterdir()] == ["placements-4.csv"]

    # And once reachable, the same source is fine again.
    result = await _poll(db, settings, tenant, good, kicks)
    assert (result.status, len(result.imported)) == ("ok", 1)
    assert await _status(client, tenant, good["id"]) == ("ok", None)


def test_the_scheduler_polls_the_sources_every_five_minutes() -> None:
    from tasks.broker import broker
    from tasks.imports import poll_sftp

    assert poll_sftp.labels["schedule"] == [{"cron": "*/5 * * * *"}]
    assert broker.find_task("imports.poll_sftp") is poll_sftp
