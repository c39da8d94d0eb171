"""The API reference works from our own assets under its content policy, and runs requests."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.factories import SeededTenant


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
    # The whole document renders at once: give a busy machine time for it.
    await expect(page.get_by_text("Sign in with e-mail and password")).to_be_visible(timeout=30_000)
    await page.get_by_text("Sign in with e-mail and password").click()
    await expect(page.get_by_text("Credentials").first).to_be_visible()
    assert not refused
    assert not elsewhere


async def test_the_api_reference_runs_a_request_with_a_token(
    page: Page, live_server: str, tenant: SeededTenant
) -> None:
    token = tenant.admin.headers["Authorization"].removeprefix("Bearer ")
    await page.goto(f"{live_server}/schema")
    await page.locator(".scheme-container button.authorize").click(timeout=30_000)
    dialog = page.locator(".modal-ux")
    await dialog.locator("input").first.fill(token)
    await dialog.locator(".auth-btn-wrapper button.authorize").click()
    await dialog.locator("button.btn-done").click()
    operation = page.locator("#operations-users-ApiV1UsersMeMe")
    await operation.locator(".opblock-summary").first.click()
    await operation.get_by_role("button", name="Try it out").click()
    async with page.expect_response(f"{live_server}/api/v1/users/me") as answered:
        await operation.get_by_role("button", name="Execute").click()
    assert (await answered.value).status == 200
    live = operation.locator(".live-responses-table")
    await expect(live.locator("tbody .response-col_status")).to_have_text("200")
    await expect(live.locator("tbody .response-col_description")).to_contain_text(
        tenant.admin.email
    )
