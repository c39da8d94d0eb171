"""The admin console's SFTP sources in a real browser: two sources kept over the API and
polled against a real SFTP server on loopback, one that took a file and one whose key the
server refuses, each shown with its last poll (the failure with its reason); no key shown."""

from __future__ import annotations

from pathlib import Path

import msgspec
from playwright.async_api import Page, expect

from config.settings import Settings
from domain.imports.sftp import key_box
from domain.imports.sftp_poll import PollOptions, poll_source
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.e2e.test_queue import call
from tests.factories import SeededTenant
from tests.integration.imports.files import MAPPING, good_row, write_rows
from tests.integration.imports.sftp_server import (
    USER,
    new_key,
    private_text,
    public_text,
    sftp_server,
)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 860}


async def test_the_imports_screen_lists_the_sources_and_their_last_poll(
    page: Page, live_server: str, tenant: SeededTenant, settings: Settings, tmp_path: Path
) -> None:
    base, admin = live_server, tenant.admin
    preset = {"name": "DebtFlow daily", "mapping": msgspec.to_builtins(MAPPING)}
    mapping = await call(base, admin, "POST", "/import-mappings", preset)
    async with sftp_server(tmp_path / "sftp") as server:
        write_rows(server.root / "in" / "placements-0601.csv", [good_row(1, prefix="UI")])
        common = {
            "host": "127.0.0.1",
            "port": server.port,
            "username": USER,
            "host_key": public_text(server.host_key),
            "folder": "/in",
            "pattern": "placements-*.csv",
            "processed_folder": "/in/done",
            "mapping_id": mapping["id"],
        }
        good = await call(
            base,
            admin,
            "POST",
            "/sftp-sources",
            {**common, "name": "DebtFlow", "private_key": private_text(server.client_key)},
        )
        refused = await call(
            base,
            admin,
            "POST",
            "/sftp-sources",
            {**common, "name": "Northwind", "private_key": private_text(new_key())},
        )
        await call(
            base,
            admin,
            "POST",
            "/sftp-sources",
            {
                **common,
                "name": "Paused",
                "enabled": False,
                "private_key": private_text(new_key()),
            },
        )
        options = PollOptions(imports_folder=settings.imports_path, allow_local=True, timeout=5)
        box = key_box(settings.secret_key)

        async def kick(tenant_id: int, import_id: int) -> None:
            return None

        for source in (good, refused):
            await poll_source(tenant.db, box, options, tenant.id, source["id"], kick)

    await sign_in(page, base, admin.email, admin.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    await page.goto(f"{base}/admin/imports")
    section = page.locator("#sftp-sources")
    await expect(section.get_by_role("heading", name="SFTP sources")).to_be_visible()
    rows = section.locator("tbody tr")
    await expect(rows).to_have_count(3)
    ok_row = section.locator(f"tr[data-id='{good['id']}']")
    await expect(ok_row.locator(".sftp-server")).to_have_text(f"debtflow@127.0.0.1:{server.port}")
    await expect(ok_row.locator(".sftp-files")).to_have_text("/in/placements-*.csv")
    await expect(ok_row).to_contain_text("DebtFlow daily")
    await expect(ok_row.locator(".sftp-poll .badge")).to_have_text("ok")
    await expect(ok_row).to_contain_text("1 new file")
    bad_row = section.locator(f"tr[data-id='{refused['id']}']")
    await expect(bad_row.locator(".sftp-poll .badge")).to_have_text("failed")
    await expect(bad_row.locator(".sftp-error")).to_have_text(
        f"127.0.0.1:{server.port} refused the user 'debtflow' with this key"
    )
    paused = rows.filter(has_text="Paused")
    await expect(paused).to_contain_text("disabled")
    await expect(paused).to_contain_text("not polled yet")
    assert "PRIVATE KEY" not in await section.inner_text()
    # The file it took is in the history like any upload, by the system.
    history = page.locator("#import-history tbody tr").first
    await expect(history).to_contain_text("placements-0601.csv")
    await expect(history).to_contain_text("system")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        await page.set_viewport_size(size)
        await section.scroll_into_view_if_needed()
        await section.screenshot(path=str(SCREENSHOTS / f"admin-sftp-sources{suffix}.png"))


async def test_an_admin_adds_pauses_and_removes_a_source_on_the_screen(
    page: Page, live_server: str, tenant: SeededTenant, tmp_path: Path
) -> None:
    base, admin = live_server, tenant.admin
    preset = {"name": "Placements", "mapping": msgspec.to_builtins(MAPPING)}
    await call(base, admin, "POST", "/import-mappings", preset)
    await sign_in(page, base, admin.email, admin.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    await page.goto(f"{base}/admin/imports")
    section = page.locator("#sftp-sources")
    await expect(section).to_contain_text("No SFTP sources yet")
    await section.get_by_text("Add an SFTP source").click()
    form = section.get_by_role("form", name="A new SFTP source")
    await form.get_by_label("Name").fill("Contoso")
    await form.get_by_label("Server", exact=True).fill("sftp.example.com")
    await form.get_by_label("User").fill("contoso")
    await form.get_by_label("Private key").fill("not a key")
    await form.get_by_label("Folder").fill("/in")
    await form.get_by_label("Then moved to").fill("/in/done")
    await form.get_by_label("Read with mapping").select_option(label="Placements (accounts)")
    await form.get_by_role("button", name="Add source").click()
    # Refused beside the field, nothing added.
    await expect(form.locator("[aria-invalid=true]")).to_have_count(1)
    await expect(form.get_by_label("Private key")).to_have_attribute("aria-invalid", "true")
    await expect(section.locator("tbody tr")).to_have_count(0)

    await form.get_by_label("Private key").fill(private_text(new_key()))
    await form.get_by_role("button", name="Add source").click()
    row = section.locator("tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Contoso")
    await expect(row.locator(".sftp-files")).to_have_text("/in/*.csv")
    await expect(row).to_contain_text("every 5 min")
    assert "PRIVATE KEY" not in await section.inner_text()
    await page.screenshot(path=str(tmp_path / "sftp-form.png"), full_page=True)

    await row.get_by_role("button", name="Pause Contoso").click()
    await expect(row).to_contain_text("disabled")
    await row.get_by_role("button", name="Resume Contoso").click()
    await expect(row).to_contain_text("every 5 min")
    await row.get_by_role("button", name="Remove…").click()
    await row.get_by_role("button", name="Remove", exact=True).click()
    await expect(section).to_contain_text("No SFTP sources yet")
    listed = await call(base, admin, "GET", "/sftp-sources")
    assert listed["items"] == []
