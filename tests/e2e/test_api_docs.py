"""The API reference works from our own assets under its content policy."""

from __future__ import annotations

from playwright.async_api import Page, expect


async def test_the_api_reference_renders_under_its_policy(page: Page, live_server: str) -> None:
    refused: list[str] = []
    elsewhere: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if not request.url.startswith((live_server, "data:"))
            else None
        ),
    )
    response = await page.goto(f"{live_server}/schema")
    assert response is not None
    assert response.ok
    await expect(page.get_by_text("Sign in with e-mail and password")).to_be_visible()
    await page.get_by_text("Sign in with e-mail and password").click()
    await expect(page.get_by_text("Credentials").first).to_be_visible()
    assert not refused
    assert not elsewhere
