"""The admin console's API keys and audit log in a real browser: a key made with two scopes
from the server's list is shown once with a copy button, reads accounts over HTTP, and is
refused once revoked on screen; the audit log finds that key's creation by who made it and
what it is, shows the change field by field, pages with "Show more", and every refusal
(a key without name or scopes, a filter that makes no sense) shows beside its field."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.e2e.test_queue import call
from tests.e2e.test_workflow_screens import WIDER_THAN_SCREEN
from tests.factories import SeededTenant

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 860}


async def signed_in(page: Page, base: str, tenant: SeededTenant) -> None:
    await sign_in(page, base, tenant.admin.email, tenant.admin.password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)


async def accounts_with(base: str, key: str) -> int:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        response = await http.get("/api/v1/accounts", headers={"Authorization": f"Bearer {key}"})
    return response.status_code


async def test_an_admin_makes_a_key_uses_it_and_revokes_it(
    page: Page, live_server: str, tenant: SeededTenant
) -> None:
    base = live_server
    await signed_in(page, base, tenant)
    await page.goto(f"{base}/admin/api-keys")
    await expect(page.get_by_role("heading", name="Create a key")).to_be_visible()
    create = page.get_by_role("button", name="Create key")

    # Neither name nor scopes: the name is refused beside it; then the scopes beside them.
    await create.click()
    await expect(page.locator("[data-field='name'] .field-error")).to_have_text(
        "This must not be empty."
    )
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    accounts_read = page.locator("input[name=scopes][value='accounts:read']")
    await page.get_by_label("Name").fill("   ")
    await accounts_read.check()
    await create.click()
    await expect(page.locator("[data-field='name'] .field-error")).to_contain_text(
        "give the key a name"
    )
    await page.get_by_label("Name").fill("CRM sync")
    await accounts_read.uncheck()
    await create.click()
    await expect(page.locator("[data-field='scopes'] .field-error")).to_be_visible()
    await expect(page.locator("[data-field='name'] .field-error")).to_have_count(0)

    # Every scope the API knows is offered with what it allows; two are ticked.
    scopes = (await call(base, tenant.admin, "GET", "/api-keys/scopes"))["scopes"]
    await expect(page.locator("input[name=scopes]")).to_have_count(len(scopes))
    await expect(page.locator("fieldset.scope-choices")).to_contain_text(scopes[0]["allows"])
    await page.locator("input[name=scopes][value='accounts:read']").check()
    await page.locator("input[name=scopes][value='payments:read']").check()
    await create.click()

    shown = page.locator("#api-key-value")
    await expect(shown).to_be_focused()
    key = await shown.input_value()
    assert key.startswith("rcp_"), key
    await expect(page.get_by_role("button", name="Copy")).to_be_visible()
    await expect(page.locator(".secret-box")).to_contain_text("you will not see this again")
    row = page.locator("table.keys tbody tr", has_text="CRM sync")
    await expect(row).to_contain_text("accounts:read")
    await expect(row).to_contain_text("payments:read")
    await expect(row).to_contain_text("never")
    await expect(row.locator(".badge")).to_have_text("active")
    await page.evaluate("scrollTo(0, 0)")
    await page.screenshot(path=str(SCREENSHOTS / "admin-keys.png"))
    await page.set_viewport_size(PHONE)
    await page.wait_for_timeout(150)
    assert not await page.evaluate(WIDER_THAN_SCREEN)
    await page.set_viewport_size(DESKTOP)

    assert await accounts_with(base, key) == 200
    await page.get_by_role("button", name="I have stored it").click()
    await expect(page.locator(".secret-box")).to_have_count(0)
    await page.reload()
    await expect(row).to_be_visible()
    assert key not in await page.content()
    await expect(row).not_to_contain_text("never")  # its use is stamped

    await row.get_by_role("button", name="Revoke…").click()
    await expect(row.get_by_role("group")).to_contain_text("Revoke “CRM sync”?")
    await row.get_by_role("button", name="Revoke", exact=True).click()
    await expect(row.locator(".badge")).to_have_text("revoked")
    await expect(row.get_by_role("button", name="Revoke…")).to_have_count(0)
    assert await accounts_with(base, key) == 401


async def test_the_audit_log_finds_a_change_by_who_and_what_and_shows_it(
    page: Page, live_server: str, tenant: SeededTenant
) -> None:
    base, admin = live_server, tenant.admin
    await signed_in(page, base, tenant)  # signing in is audited too: before the changes
    made = await call(
        base, admin, "POST", "/api-keys", {"name": "Ledger", "scopes": ["payments:read"]}
    )
    account = tenant.accounts[0]
    for n in range(26):  # more than a page of other changes, by someone else
        await call(
            base, tenant.supervisor, "PATCH", f"/accounts/{account.id}", {"creditor": f"Bank {n}"}
        )
    admin_name = (await call(base, admin, "GET", f"/users/{admin.id}"))["name"]
    boss_name = (await call(base, admin, "GET", f"/users/{tenant.supervisor.id}"))["name"]
    total = len((await call(base, admin, "GET", "/audit?limit=200"))["items"])
    assert 27 < total < 50
    await page.goto(f"{base}/admin/audit")
    entries = page.locator("li.audit-entry")
    await expect(entries).to_have_count(25)
    newest = entries.first
    await expect(newest.locator(".audit-who")).to_have_text(boss_name)
    await expect(newest.locator("tr[data-field='creditor']")).to_contain_text("Bank 24")
    await expect(newest.locator("tr[data-field='creditor']")).to_contain_text("Bank 25")
    # Changed fields only: not the balance, the debtor or anything else the record holds.
    changed = newest.locator("table.audit-diff tbody tr")
    await expect(changed).to_have_count(3)
    fields = await changed.evaluate_all("rows => rows.map((r) => r.dataset.field).sort()")
    assert fields == ["creditor", "updated_at", "version"]
    await page.get_by_role("button", name="Show more").click()
    await expect(entries).to_have_count(total)
    await expect(page.get_by_role("button", name="Show more")).to_be_hidden()
    await expect(entries.nth(26)).to_contain_text("api_key.create")

    # By who and what: the key's creation alone, its fields new, nothing secret.
    await page.get_by_label("Who").select_option(label=f"{admin_name} ({admin.email})")
    await page.get_by_label("Entity type").fill("api_key")
    await page.get_by_label("Entity id").fill(str(made["id"]))
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(entries).to_have_count(1)
    entry = entries.first
    await expect(entry.locator(".audit-who")).to_have_text(admin_name)
    await expect(entry.locator(".audit-action")).to_have_text("api_key.create")
    await expect(entry.locator("tr[data-field='name'] td.new")).to_have_text("Ledger")
    await expect(entry.locator("tr[data-field='name'] td.old")).to_have_text("—")
    await expect(entry.locator("tr[data-field='scopes'] td.new")).to_have_text("payments:read")
    await expect(entry.locator("tr[data-field='revoked_at']")).to_have_count(0)  # null to null
    assert made["key"] not in await entry.inner_text()
    assert "actor_type=user" in page.url
    assert f"entity_id={made['id']}" in page.url
    await expect(page.locator("[role=status]", has_text="1 entry")).to_be_visible()
    await page.evaluate("scrollTo(0, 0)")
    await page.screenshot(path=str(SCREENSHOTS / "admin-audit.png"))
    await page.set_viewport_size(PHONE)
    await page.wait_for_timeout(150)
    await page.locator("li.audit-entry").first.evaluate("e => e.scrollIntoView({block: 'center'})")
    await page.screenshot(path=str(SCREENSHOTS / "admin-audit-phone.png"))
    assert not await page.evaluate(WIDER_THAN_SCREEN)
    await page.set_viewport_size(DESKTOP)

    # The same view after a reload, from the address.
    await page.reload()
    await expect(entries).to_have_count(1)
    await expect(page.get_by_label("Entity id")).to_have_value(str(made["id"]))

    # Refusals beside their field: an id without its type, a range that ends before it starts.
    await page.get_by_label("Entity type").fill("")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("[data-field='entity_id'] .field-error")).to_contain_text(
        "needs its entity_type"
    )
    await expect(entries).to_have_count(1)  # what was shown stays
    await page.get_by_label("Entity id").fill("")
    await page.get_by_label("From").fill("2026-11-30T12:00")
    await page.get_by_label("Before").fill("2026-11-30T11:00")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("[data-field='occurred_before'] .field-error")).to_contain_text(
        "must be after occurred_from"
    )
    await expect(page.locator("[data-field='entity_id'] .field-error")).to_have_count(0)
