"""My account in a real browser, as a collector: the name in the top bar opens it; a new name
(the top bar follows) and time zone are saved; a new password is checked as it is typed,
the server's refusals (a wrong current password, a guessable new one) show beside their
fields, and a good one ends the session, which signs in again with it. Signing out
everywhere ends a page open in another browser too."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_admin_users import DESKTOP, PHONE, error_of, open_page
from tests.e2e.test_login import sign_in
from tests.e2e.test_workflow_screens import WIDER_THAN_SCREEN
from tests.factories import SeededTenant

NEW_PASSWORD = "copper meadow fiddle 9"
SIGNED_OUT = re.compile(r"/login\?next=%2F")


async def both_sizes(page: Page, name: str) -> None:
    """The screen whole at desktop and phone width; on neither is anything wider than the screen."""
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        await page.evaluate("scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True)
        wide = await page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (name, size, wide)
    await page.set_viewport_size(DESKTOP)


async def test_a_collector_changes_their_details_and_password(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, me = live_server, tenant.collector
    page = await open_page(browser, base, me.email, me.password)
    who = page.locator("#who")
    await expect(who).to_have_text(f"Collector of {tenant.slug} · collector")
    await who.click()
    await expect(page).to_have_url(f"{base}/me")
    await expect(page.get_by_role("heading", name="My account", level=1)).to_be_visible()
    await expect(who).to_have_attribute("aria-current", "page")

    details = page.locator("#my-details")
    email = details.get_by_label("E-mail")
    await expect(email).to_have_value(me.email)
    await expect(email).to_have_attribute("readonly", "")
    await expect(details).to_contain_text("It cannot be changed.")

    # Name and time zone: an empty name and an unknown zone are said as typed.
    name, zone = details.get_by_label("Name"), details.get_by_label("Time zone")
    await name.fill("")
    await zone.fill("Mars/Olympus")
    await zone.blur()
    await expect(error_of(page, "name")).to_have_text("A name is needed.")
    await expect(error_of(page, "time_zone")).to_have_text(
        "Mars/Olympus is not a time zone this browser knows."
    )
    await details.get_by_role("button", name="Save details").click()
    await expect(name).to_be_focused()
    await name.fill("Robin Vale")
    await zone.fill("America/Denver")
    await expect(error_of(page, "name")).to_have_count(0)
    await expect(error_of(page, "time_zone")).to_have_count(0)
    await details.get_by_role("button", name="Save details").click()
    await expect(details.locator(".me-said")).to_have_text("Saved.")
    await expect(who).to_have_text("Robin Vale · collector")
    await page.reload()
    await expect(who).to_have_text("Robin Vale · collector")
    await expect(name).to_have_value("Robin Vale")
    await expect(zone).to_have_value("America/Denver")
    await both_sizes(page, "me")

    # A new password: its length and the repeat are checked as typed.
    form = page.locator("#my-password")
    current = form.get_by_label("Current password")
    new = form.get_by_label("New password", exact=True)
    repeat = form.get_by_label("Repeat the new password")
    await new.fill("short")
    await repeat.fill("shorter")
    await repeat.blur()
    await expect(error_of(page, "password")).to_have_text("At least 8 characters (5 so far).")
    await expect(error_of(page, "password_repeat")).to_have_text(
        "This is not the same as the new password."
    )
    await new.fill("shorter1")
    await expect(error_of(page, "password")).to_have_count(0)
    await repeat.fill("shorter1")
    await expect(error_of(page, "password_repeat")).to_have_count(0)
    await form.get_by_role("button", name="Change password").click()
    await expect(error_of(page, "current_password")).to_have_text(
        "Your current password is needed."
    )
    await expect(current).to_be_focused()

    # The server's refusals, beside their fields: a wrong current password...
    await current.fill("not my password")
    await new.fill(NEW_PASSWORD)
    await repeat.fill(NEW_PASSWORD)
    await form.get_by_role("button", name="Change password").click()
    await expect(error_of(page, "current_password")).to_have_text("current password is wrong")
    await expect(current).to_be_focused()
    await expect(error_of(page, "password")).to_have_count(0)
    # ... and one too easy to guess, with zxcvbn's advice.
    await current.fill(me.password)
    await new.fill("password1234")
    await repeat.fill("password1234")
    await form.get_by_role("button", name="Change password").click()
    await expect(error_of(page, "password")).to_contain_text("choose a stronger password")
    await expect(error_of(page, "password")).to_contain_text("use a few uncommon words")
    await expect(error_of(page, "current_password")).to_have_count(0)
    await expect(new).to_be_focused()

    # A good one ends every session, this one too: they sign in again with it.
    await new.fill(NEW_PASSWORD)
    await repeat.fill(NEW_PASSWORD)
    await form.get_by_role("button", name="Change password").click()
    await expect(page).to_have_url(f"{base}/login")
    await expect(page.locator("#login-note")).to_contain_text(
        "every session of yours has ended, this one too"
    )
    await sign_in(page, base, me.email, me.password)
    await expect(page.get_by_role("alert")).to_have_text("e-mail or password is wrong")
    await expect(page.locator("#login-note")).to_be_hidden()
    await sign_in(page, base, me.email, NEW_PASSWORD)
    await expect(who).to_have_text("Robin Vale · collector", timeout=20_000)
    assert not page.errors  # type: ignore[attr-defined]
    await page.context.close()


async def test_signing_out_everywhere_ends_another_browsers_page(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    base, me = live_server, tenant.collector
    elsewhere = await open_page(browser, base, me.email, me.password)
    await expect(elsewhere).to_have_url(f"{base}/queue")
    page = await open_page(browser, base, me.email, me.password)
    await page.goto(f"{base}/me")
    card = page.locator(".me-sign-out")
    # It asks first; "Keep it" changes nothing.
    await card.get_by_role("button", name="Sign out everywhere…").click()
    await expect(card.get_by_role("group")).to_contain_text("this one too")
    await card.get_by_role("button", name="Keep it").click()
    await expect(card.get_by_role("button", name="Sign out everywhere…")).to_be_focused()
    await card.get_by_role("button", name="Sign out everywhere…").click()
    await card.get_by_role("button", name="Sign out everywhere", exact=True).click()
    await expect(page).to_have_url(f"{base}/login")
    await expect(page.locator("#login-note")).to_contain_text("You signed out everywhere")
    # The other browser's page goes to the sign-in page by itself, and stays signed out.
    await expect(elsewhere).to_have_url(SIGNED_OUT, timeout=20_000)
    await elsewhere.goto(f"{base}/me")
    await expect(elsewhere).to_have_url(f"{base}/login?next=%2Fme")
    await page.goto(f"{base}/me")
    await expect(page).to_have_url(f"{base}/login?next=%2Fme")
    assert not page.errors  # type: ignore[attr-defined]
    assert not elsewhere.errors  # type: ignore[attr-defined]
    await page.context.close()
    await elsewhere.context.close()


async def test_a_read_only_user_has_my_account_too(
    browser: Browser, live_server: str, tenant: SeededTenant
) -> None:
    base, me = live_server, tenant.readonly
    page = await open_page(browser, base, me.email, me.password)
    await page.locator("#who").click()
    await expect(page).to_have_url(f"{base}/me")
    details = page.locator("#my-details")
    await details.get_by_label("Time zone").fill("Europe/Lisbon")
    await details.get_by_role("button", name="Save details").click()
    await expect(details.locator(".me-said")).to_have_text("Saved.")
    await details.get_by_role("button", name="Save details").click()
    await expect(details.locator(".me-said")).to_have_text("Nothing to change.")
    await page.reload()
    await expect(details.get_by_label("Time zone")).to_have_value("Europe/Lisbon")
    await expect(page.locator("#who")).to_have_text(f"Readonly of {tenant.slug} · readonly")
    assert not page.errors  # type: ignore[attr-defined]
    await page.context.close()
