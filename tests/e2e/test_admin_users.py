"""The admin console's Users and Agent groups in a real browser, on a fresh tenant: an admin
makes groups, adds a collector with a group and a capacity (each refusal of the form shown
beside its field, the e-mail's shape and the password's length before anything is sent),
the collector signs in in a second browser; their role and group change; a new password
set for them signs their page out and they sign in with it; deactivating them signs their
open page out at once. Groups are renamed, refused a name another has, and their members
added and taken out; a group a queue uses is not removed, with the server's reason."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.e2e.test_workflow_screens import WIDER_THAN_SCREEN
from tests.factories import SeededTenant
from tests.integration.test_admin_users_api import STRONG, new_user

DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}
NEW_PASSWORD = "copper meadow fiddle 9"
SIGNED_OUT = re.compile(r"/login\?next=%2F")


async def open_page(browser: Browser, base: str, email: str, password: str) -> Page:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await sign_in(page, base, email, password)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    return page


def error_of(page: Page, field: str):
    return page.locator(f"[data-field='{field}'] .field-error")


async def add_group(page: Page, name: str) -> None:
    form = page.locator("#add-group")
    await form.get_by_label("Group name").fill(name)
    await form.get_by_role("button", name="Add group").click()
    await expect(page.locator("#group-editor-title")).to_have_text(name)


async def test_an_admin_adds_changes_and_deactivates_a_collector(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base = live_server
    admin = await open_page(browser, base, tenant.admin.email, tenant.admin.password)
    await admin.goto(f"{base}/admin/groups")
    await add_group(admin, "Night shift")
    await add_group(admin, "Day shift")

    await (
        admin.get_by_role("navigation", name="Admin sections")
        .get_by_role("link", name="Users")
        .click()
    )
    form = admin.locator("#add-user")
    await expect(form).to_be_visible()
    email, password = form.get_by_label("E-mail"), form.get_by_label("First password")
    # Known before anything is sent: the e-mail's shape and the password's length.
    await form.get_by_label("Name").fill("Dana Okafor")
    await email.fill("dana.example")
    await password.fill("short")
    await form.get_by_label("Capacity").click()
    await expect(error_of(admin, "email")).to_have_text(
        "This is not an e-mail address (name@example.com)."
    )
    await expect(error_of(admin, "password")).to_have_text("At least 8 characters (5 so far).")
    await expect(email).to_have_attribute("aria-invalid", "true")
    await password.fill("password12")
    await expect(error_of(admin, "password")).to_have_count(0)
    # The server's refusals, each beside its field: a guessable password...
    address = f"dana@{tenant.slug}.test"
    await email.fill(address)
    await form.get_by_label("Group").select_option(label="Night shift")
    await form.get_by_role("button", name="Add user").click()
    await expect(error_of(admin, "password")).to_contain_text("use a few uncommon words")
    await expect(password).to_be_focused()
    # ... a capacity out of range ...
    await password.fill(STRONG)
    await form.get_by_label("Capacity").fill("10001")
    await form.get_by_role("button", name="Add user").click()
    await expect(error_of(admin, "capacity")).to_contain_text("10000")
    await expect(error_of(admin, "password")).to_have_count(0)
    # ... an e-mail someone already signs in with.
    await form.get_by_label("Capacity").fill("3")
    await email.fill(tenant.collector.email)
    await form.get_by_role("button", name="Add user").click()
    await expect(error_of(admin, "email")).to_contain_text("already exists")
    await email.fill(address)
    await form.get_by_role("button", name="Add user").click()
    row = admin.locator("#users tbody tr", has_text=address)
    await expect(row).to_contain_text("Collector")
    await expect(row).to_contain_text("Night shift")
    await expect(row).to_contain_text("never")
    await expect(email).to_have_value("")

    # They sign in with it, in a browser of their own.
    dana = await open_page(browser, base, address, STRONG)
    await expect(dana.locator("#who")).to_have_text("Dana Okafor · collector")
    await admin.reload()
    await expect(row).not_to_contain_text("never")

    # Role and group change.
    await row.get_by_role("button", name="Manage").click()
    editor = admin.locator("#user-editor")
    await expect(admin.locator("#user-editor-title")).to_be_focused()
    await editor.get_by_label("Role").select_option("supervisor")
    await editor.get_by_label("Group").select_option(label="Day shift")
    await editor.get_by_label("Capacity").fill("-1")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(editor.locator("[data-field='capacity'] .field-error")).to_have_text(
        "This must be at least 0."
    )
    await expect(row).to_contain_text("Collector")
    await editor.get_by_label("Capacity").fill("4")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(row).to_contain_text("Supervisor")
    await expect(row).to_contain_text("Day shift")
    await expect(editor).to_contain_text("Saved.")
    await dana.reload()
    await expect(dana.locator("#who")).to_have_text("Dana Okafor · supervisor")
    await both_sizes(admin, "admin-users", "#user-editor")

    # A new password: too short is said at once; the new one signs their page out.
    new = editor.get_by_label("New password")
    await new.fill("1234567")
    await editor.get_by_role("button", name="Set password").click()
    await expect(editor.locator("[data-field='password'] .field-error")).to_have_text(
        "At least 8 characters (7 so far)."
    )
    await new.fill("password1234")
    await editor.get_by_role("button", name="Set password").click()
    await expect(editor.locator("[data-field='password'] .field-error")).to_be_visible()
    await new.fill(NEW_PASSWORD)
    await editor.get_by_role("button", name="Set password").click()
    await expect(editor).to_contain_text("Password set. Dana Okafor was signed out everywhere.")
    await expect(dana).to_have_url(SIGNED_OUT, timeout=20_000)
    await sign_in(dana, base, address, NEW_PASSWORD)
    await expect(dana.locator("#who")).to_have_text("Dana Okafor · supervisor", timeout=20_000)

    # Deactivated: their open page signs out at once; reactivated, they may come back.
    await editor.get_by_role("button", name="Deactivate…").click()
    await editor.get_by_role("button", name="Deactivate", exact=True).click()
    await expect(row).to_contain_text("deactivated")
    await expect(dana).to_have_url(SIGNED_OUT, timeout=20_000)
    await sign_in(dana, base, address, NEW_PASSWORD)
    await expect(dana.locator(".problem, [role=alert]").first).to_be_visible()
    await expect(dana).to_have_url(f"{base}/login")
    await editor.get_by_role("button", name="Reactivate…").click()
    await editor.get_by_role("button", name="Reactivate", exact=True).click()
    await expect(row).not_to_contain_text("deactivated")

    # The tenant's only admin may not make themselves a collector: said beside the role.
    mine = admin.locator("#users tbody tr", has_text=tenant.admin.email)
    await mine.get_by_role("button", name="Manage").click()
    await expect(admin.locator("#user-editor-title")).to_have_text(f"Admin of {tenant.slug}")
    await editor.get_by_label("Role").select_option("collector")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(editor.locator("[data-field='role'] .field-error")).to_have_text(
        "the tenant must keep at least one active admin"
    )
    await expect(mine).to_contain_text("Admin")
    assert not admin.errors  # type: ignore[attr-defined]
    assert not dana.errors  # type: ignore[attr-defined]
    await dana.context.close()
    await admin.context.close()


async def test_a_deactivation_being_asked_about_stays_open_while_the_user_changes(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    """Another admin's change to the user redraws their editor (the new capacity shows); the
    question of deactivating them, still true, stays open with the focus on it."""
    base, who = live_server, tenant.other_collector
    admin = await open_page(browser, base, tenant.admin.email, tenant.admin.password)
    await admin.goto(f"{base}/admin/users")
    await expect(admin.locator("rc-connection")).to_have_attribute("data-state", "live")
    await admin.locator(f"#users tr[data-id='{who.id}']").get_by_role("button").click()
    editor = admin.locator("#user-editor")
    await editor.get_by_role("button", name="Deactivate…").click()
    keep = editor.get_by_role("button", name="Keep it")
    await expect(keep).to_be_focused()
    async with httpx.AsyncClient(base_url=base) as http:
        changed = await http.patch(
            f"/api/v1/users/{who.id}", json={"capacity": 7}, headers=tenant.admin.headers
        )
        assert changed.status_code == 200, changed.text
    await expect(editor.get_by_label("Capacity")).to_have_value("7", timeout=15_000)
    await expect(editor.get_by_role("group", name=re.compile(r"^Deactivate "))).to_be_visible()
    await expect(keep).to_be_focused()
    await editor.get_by_role("button", name="Deactivate", exact=True).click()
    await expect(editor.get_by_role("heading", name="Reactivate")).to_be_visible()
    async with httpx.AsyncClient(base_url=base) as http:
        got = await http.get(f"/api/v1/users/{who.id}", headers=tenant.admin.headers)
    assert (got.json()["active"], got.json()["capacity"]) == (False, 7)
    assert not admin.errors  # type: ignore[attr-defined]
    await admin.context.close()


async def test_an_admin_renames_a_group_and_changes_its_members(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base = live_server
    admin = await open_page(browser, base, tenant.admin.email, tenant.admin.password)
    await admin.goto(f"{base}/admin/groups")
    await add_group(admin, "Recoveries")
    await add_group(admin, "Disputes")
    editor = admin.locator("#group-editor")
    # A name another group has is refused beside the name; so is an empty one.
    await editor.get_by_label("Name").fill("recoveries")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(editor.locator("[data-field='name'] .field-error")).to_contain_text(
        "already exists"
    )
    await editor.get_by_label("Name").fill("")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(editor.locator("[data-field='name'] .field-error")).to_be_visible()
    await editor.get_by_label("Name").fill("Hardship")
    await editor.get_by_label("Description").fill("Accounts on a hardship plan")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(admin.locator("#group-editor-title")).to_have_text("Hardship")
    row = admin.locator("#groups tbody tr", has_text="Hardship")
    await expect(row).to_contain_text("Accounts on a hardship plan")

    # Members: two added, one taken out; the count follows.
    await expect(editor).to_contain_text("No members yet.")
    members = editor.locator("ul.members li")
    for count, who in enumerate(("Collector of", "Collector2 of"), start=1):
        await editor.get_by_label("User").select_option(label=await option(editor, who))
        await editor.get_by_role("button", name="Add to group").click()
        await expect(members).to_have_count(count)
    await expect(row.locator(".member-count")).to_have_text("2")
    await members.first.get_by_role("button", name="Take out").click()
    await expect(members).to_have_count(1)
    await expect(row.locator(".member-count")).to_have_text("1")
    await both_sizes(admin, "admin-groups", "#group-editor")
    await admin.goto(f"{base}/admin/users")
    await expect(admin.locator("#users tbody tr", has_text="Hardship")).to_have_count(1)

    # A group a task queue uses stays, and the server says why.
    async with httpx.AsyncClient(base_url=base) as http:
        groups = (await http.get("/api/v1/agent-groups", headers=tenant.admin.headers)).json()
        hardship = next(g for g in groups["items"] if g["name"] == "Hardship")
        made = await http.post(
            "/api/v1/queues",
            json={"name": "Hardship calls", "group_id": hardship["id"]},
            headers=tenant.admin.headers,
        )
        assert made.status_code == 201, made.text
    await admin.goto(f"{base}/admin/groups")
    await admin.locator("#groups tbody tr", has_text="Hardship").get_by_role("button").click()
    await editor.get_by_role("button", name="Remove group…").click()
    await editor.get_by_role("button", name="Remove group", exact=True).click()
    await expect(editor.locator(".problem")).to_contain_text("task queue 'Hardship calls'")
    # One nothing uses goes.
    await admin.locator("#groups tbody tr", has_text="Recoveries").get_by_role("button").click()
    await editor.get_by_role("button", name="Remove group…").click()
    await editor.get_by_role("button", name="Remove group", exact=True).click()
    await expect(admin.locator("#groups tbody tr", has_text="Recoveries")).to_have_count(0)
    await expect(admin.locator("#group-editor")).to_have_count(0)
    assert not admin.errors  # type: ignore[attr-defined]
    await admin.context.close()


async def test_a_group_being_changed_or_removed_stays_open_while_users_change(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    """Users changing elsewhere redraw the open group (a new member, a new user to choose);
    the description half typed, and then the question of removing the group, stay as they
    are, focus and all."""
    base = live_server
    admin = await open_page(browser, base, tenant.admin.email, tenant.admin.password)
    await admin.goto(f"{base}/admin/groups")
    await expect(admin.locator("rc-connection")).to_have_attribute("data-state", "live")
    await add_group(admin, "Hardship")
    editor = admin.locator("#group-editor")
    group_id = int(await editor.get_attribute("data-id"))  # type: ignore[arg-type]
    description = editor.get_by_label("Description")
    await description.fill("Accounts on hard")
    async with httpx.AsyncClient(base_url=base, headers=tenant.admin.headers) as http:
        moved = await http.patch(
            f"/api/v1/users/{tenant.collector.id}", json={"group_id": group_id}
        )
        assert moved.status_code == 200, moved.text
    await expect(editor.locator("ul.members li")).to_have_count(1, timeout=15_000)
    await expect(description).to_have_value("Accounts on hard")
    await expect(description).to_be_focused()
    await admin.keyboard.type("ship")
    await admin.keyboard.press("Enter")
    row = admin.locator(f"#groups tr[data-id='{group_id}']")
    await expect(row).to_contain_text("Accounts on hardship")

    await editor.get_by_role("button", name="Remove group…").click()
    keep = editor.get_by_role("button", name="Keep it")
    await expect(keep).to_be_focused()
    async with httpx.AsyncClient(base_url=base, headers=tenant.admin.headers) as http:
        made = await http.post("/api/v1/users", json=new_user(tenant, name="Ines Varga"))
        assert made.status_code == 201, made.text
    await expect(
        editor.get_by_label("User").locator("option", has_text="Ines Varga")
    ).to_have_count(1, timeout=15_000)
    await expect(editor.get_by_role("group", name="Remove Hardship?", exact=False)).to_be_visible()
    await expect(keep).to_be_focused()
    await editor.get_by_role("button", name="Remove group", exact=True).click()
    await expect(row).to_have_count(0)
    async with httpx.AsyncClient(base_url=base, headers=tenant.admin.headers) as http:
        groups = (await http.get("/api/v1/agent-groups")).json()["items"]
        mover = (await http.get(f"/api/v1/users/{tenant.collector.id}")).json()
    assert [g["name"] for g in groups] == []
    assert mover["group_id"] is None
    assert not admin.errors  # type: ignore[attr-defined]
    await admin.context.close()


async def option(editor, starts: str) -> str:
    labels = await editor.get_by_label("User").locator("option").all_inner_texts()
    return next(label for label in labels if label.startswith(starts))


async def both_sizes(page: Page, name: str, phone_at: str) -> None:
    """The section at desktop width whole and at phone width from ``phone_at``; on neither is anything wider than the screen."""
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        if suffix:
            await page.locator(phone_at).evaluate("e => e.scrollIntoView({block: 'start'})")
        else:
            await page.evaluate("scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=suffix == "")
        wide = await page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (name, size, wide)
    await page.set_viewport_size(DESKTOP)
