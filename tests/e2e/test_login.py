"""Signing in through the login page and landing in the app frame, in a real browser."""

from __future__ import annotations

from playwright.async_api import Page, expect

from domain.demo import DEMO_PASSWORD
from tests.e2e.conftest import screenshot


async def sign_in(page: Page, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_demo_admin_signs_in_and_sees_the_app_frame(
    page: Page, live_server: str, demo
) -> None:
    await page.goto(f"{live_server}/login")
    await expect(page.get_by_role("heading", name="Recoup")).to_be_visible()
    await screenshot(page, "login")
    await sign_in(page, live_server, "admin@demo.test", DEMO_PASSWORD)
    await expect(page).to_have_url(f"{live_server}/")
    await expect(page.locator("#who")).to_contain_text("Ada Admin · admin")
    await expect(page.get_by_role("navigation", name="Screens")).to_be_visible()
    await expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    await expect(page.locator("table.data tbody tr")).to_have_count(50)
    await expect(page.get_by_text("more available")).to_be_visible()
    await screenshot(page, "accounts")

    # The refresh token sits in an HttpOnly cookie: scripts cannot see it, a reload keeps the session.
    assert "recoup_refresh" not in await page.evaluate("document.cookie")
    cookies = await page.context.cookies()
    refresh = next(c for c in cookies if c["name"] == "recoup_refresh")
    assert refresh["httpOnly"]
    assert refresh["sameSite"] == "Strict"
    assert refresh["path"] == "/api/v1/auth"
    await page.reload()
    await expect(page.locator("#who")).to_contain_text("Ada Admin")

    # Open one account from the list.
    first = page.locator("table.data tbody tr a").first
    reference = await first.inner_text()
    await first.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    await expect(page.locator("#balance rc-money")).not_to_be_empty()
    await screenshot(page, "account")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{live_server}/login")
    await page.goto(f"{live_server}/")
    await expect(page).to_have_url(f"{live_server}/login?next=%2F")


async def test_a_visitor_who_never_signed_in_meets_no_refused_request(
    page: Page, live_server: str, demo
) -> None:
    """The sign-in page and the app frame ask to refresh a session only when the browser
    holds one: a first visit logs no error in the console and no 401."""
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if m.type == "error" else None)
    page.on(
        "response",
        lambda r: complaints.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    await page.goto(f"{live_server}/accounts")
    await expect(page).to_have_url(f"{live_server}/login?next=%2Faccounts")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert complaints == []
    await page.get_by_label("E-mail").fill("admin@demo.test")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{live_server}/accounts")
    await expect(page.locator("#who")).to_contain_text("Ada Admin")
    assert "recoup_signed_in=1" in await page.evaluate("document.cookie")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{live_server}/login")
    assert "recoup_signed_in" not in await page.evaluate("document.cookie")
    await page.goto(f"{live_server}/login")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert complaints == []


async def test_wrong_password_shows_the_reason(page: Page, live_server: str, demo) -> None:
    await sign_in(page, live_server, "admin@demo.test", "not the password")
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text("e-mail or password is wrong")
    await expect(page).to_have_url(f"{live_server}/login")


async def test_collector_sees_only_their_accounts_and_no_admin(
    page: Page, live_server: str, demo
) -> None:
    await sign_in(page, live_server, "collector1@demo.test", DEMO_PASSWORD)
    await expect(page.locator("#who")).to_contain_text("collector")
    # A collector's day starts on their queue.
    await expect(page).to_have_url(f"{live_server}/queue")
    await expect(page.get_by_role("heading", name="My queue")).to_be_visible()
    await expect(page.get_by_role("link", name="Admin")).to_be_hidden()
    await page.get_by_role("link", name="Accounts").click()
    rows = page.locator("table.data tbody tr")
    await expect(rows.first).to_be_visible()
    await page.goto(f"{live_server}/admin")
    await expect(page.get_by_role("alert")).to_contain_text("may not")
