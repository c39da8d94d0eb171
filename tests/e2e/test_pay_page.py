"""The debtor's payment page in a phone-sized browser: pay through the sandbox checkout and
see the confirmation arrive live, while a collector's page shows the new balance."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_live_account import open_account
from tests.factories import SeededTenant

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def link_for(client, tenant: SeededTenant, account_id: int, **body) -> str:  # type: ignore[no-untyped-def]
    response = await client.post(
        f"/api/v1/accounts/{account_id}/payment-links", json=body, headers=tenant.admin.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_debtor_pays_and_sees_it_confirmed_live(
    browser: Browser, client, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    link = await link_for(client, tenant, account.id)
    path = "/pay/" + link["url"].split("/pay/", 1)[1]

    collector = await open_account(
        browser, live_server, tenant.collector.email, tenant.collector.password, account.id
    )
    await expect(collector.locator("#balance")).to_contain_text("1,075.00")

    context = await browser.new_context(**PHONE)
    debtor = await context.new_page()
    response = await debtor.goto(f"{live_server}{path}")
    assert response is not None
    assert response.ok
    await expect(debtor.get_by_role("heading", level=1)).to_have_text("Hello Pat")
    await expect(debtor.locator("#balance")).to_contain_text("1,075.00")
    await expect(debtor.get_by_text("Test Bank · reference")).to_be_visible()
    await screenshot(debtor, "pay")
    transferred = sum(
        r.get("transferSize", 0)
        for r in await debtor.evaluate(
            "performance.getEntriesByType('resource').map(r => ({transferSize: r.transferSize}))"
        )
    )
    assert transferred < 50_000

    await debtor.get_by_role("button", name="Pay in full").click()
    await expect(debtor.get_by_role("heading", level=1)).to_contain_text("Pay Test Bank")
    await debtor.get_by_role("button", name="Pay 1075.00 USD").click()
    await expect(debtor.get_by_role("status").filter(has_text="Payment confirmed")).to_be_visible(
        timeout=15_000
    )
    await expect(debtor.locator("#balance")).to_contain_text("0.00")
    await screenshot(debtor, "pay-confirmed")
    await expect(collector.locator("#balance")).to_contain_text("0.00", timeout=10_000)
    await expect(collector.locator("#facts")).to_contain_text("Paid")
    await context.close()
    await collector.context.close()


async def test_a_declined_card_says_so_and_charges_nothing(
    browser: Browser, client, live_server: str, relay, worker, tenant: SeededTenant
) -> None:
    account = tenant.accounts[1]
    link = await link_for(client, tenant, account.id)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(live_server + "/pay/" + link["url"].split("/pay/", 1)[1])
    await page.get_by_text("Pay another amount").click()
    # Words are said beside the field, in the page's terms, and nothing is started.
    await page.get_by_label("Amount (USD)").fill("abc")
    await page.get_by_role("button", name="Pay this amount").click()
    await expect(page.locator("#amount-problem")).to_have_text(
        "Enter an amount in figures, such as $120.50."
    )
    await expect(page.get_by_label("Amount (USD)")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_role("button", name="Decline the card")).to_have_count(0)
    await screenshot(page, "pay-amount-refused-phone")
    await page.get_by_label("Amount (USD)").fill("100")
    await page.get_by_role("button", name="Pay this amount").click()
    await page.get_by_role("button", name="Decline the card").click()
    await expect(page.get_by_role("alert")).to_contain_text("did not go through", timeout=15_000)
    await expect(page.locator("#balance")).to_contain_text("1,075.00")
    # The declined payment holds nothing back: the whole balance may be paid again.
    await expect(page.get_by_text("still under way")).to_have_count(0)
    await expect(page.get_by_role("button", name="Pay in full: $1,075.00")).to_be_visible()
    await context.close()


async def test_expired_revoked_and_forged_links_show_a_clear_page(
    browser: Browser, client, live_server: str, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    revoked = await link_for(client, tenant, account.id)
    await client.delete(f"/api/v1/payment-links/{revoked['id']}", headers=tenant.collector.headers)
    async with tenant.db.tenant(tenant.id) as conn:
        expired = await link_for(client, tenant, account.id)
        await conn.execute(
            "UPDATE payment_links SET expires_at = now() - interval '1 minute' WHERE id = $1",
            expired["id"],
        )
    page = await browser.new_page()
    for link, status, words in ((revoked, 410, "withdrawn"), (expired, 410, "expired")):
        response = await page.goto(live_server + "/pay/" + link["url"].split("/pay/", 1)[1])
        assert response is not None
        assert response.status == status
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "This payment link no longer works"
        )
        await expect(page.get_by_text(words)).to_be_visible()
    response = await page.goto(f"{live_server}/pay/not-a-real-link")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    async with httpx.AsyncClient() as http:
        summary = await http.get(f"{live_server}/pay/not-a-real-link/summary")
    assert summary.status_code == 404
    assert summary.headers["content-type"].startswith("application/problem+json")
    await page.close()


MONEY_WORDS = """async () => {
  const { currencyDecimals, exampleAmount, formatMoney } = await import("/static/js/dom.js");
  return {
    usd: formatMoney("1075", "USD"),
    all: formatMoney("1000.50", "ALL"),
    iqd: [currencyDecimals("IQD"), formatMoney("5", "IQD")],
    jpy: [currencyDecimals("JPY"), formatMoney("10.50", "JPY"), exampleAmount("JPY")],
    usdTyped: formatMoney("12.345", "USD"),
    long: formatMoney("1." + "1".repeat(150), "USD").length > 0,
  };
}"""


async def test_amounts_are_shown_in_the_servers_decimals_and_never_rounded(
    page: Page, live_server: str
) -> None:
    """The browser's digits for ALL are 0 where ISO 4217 (and the server) say 2: its amounts
    keep their cents; ¥10.50 typed is shown as typed; nothing throws on a long paste."""
    await page.goto(f"{live_server}/login")
    said = await page.evaluate(MONEY_WORDS)
    assert said["usd"] == "$1,075.00"
    assert said["all"].endswith("1,000.50"), said
    assert said["iqd"][0] == 3
    assert said["iqd"][1].endswith("5.000"), said
    assert said["jpy"] == [0, "¥10.50", "¥120"]
    assert said["usdTyped"] == "$12.345"
    assert said["long"] is True
