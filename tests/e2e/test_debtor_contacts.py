"""The account screen's debtor card lists every number, e-mail address and address with its
consent and the preferred one; a collector adds, edits, prefers and removes them there, a
refused number says why beside the form, and a change made elsewhere arrives live."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.factories import SeededTenant

DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


async def _account_page(
    browser: Browser, base: str, tenant: SeededTenant, account_id: int, size: dict
) -> Page:
    context = await browser.new_context(**size)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await sign_in(page, base, tenant.collector.email, tenant.collector.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.goto(f"{base}/accounts/{account_id}")
    await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
    return page


def _preferred(item):  # type: ignore[no-untyped-def]
    return item.locator('.badge[data-tone="info"]', has_text="preferred")


def _item(page: Page, value: str):  # type: ignore[no-untyped-def]
    return page.locator("#contact-details li").filter(has_text=value)


async def test_a_collector_edits_the_debtors_contact_details(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    account = tenant.accounts[0]
    page = await _account_page(browser, live_server, tenant, account.id, DESKTOP)
    old = _item(page, "+15555550100")
    await expect(_preferred(old)).to_have_count(1)
    await expect(old).to_contain_text("Texts: consent (on the debtor record)")
    # A number without its country code, for a debtor without a country, is refused.
    await page.get_by_text("Add a contact").click()
    await page.get_by_label("Number").fill("(212) 555-0123")
    await page.get_by_role("button", name="Add contact").click()
    await expect(page.locator("#contact-details-problem")).to_contain_text(
        "'(212) 555-0123' is not a valid phone number"
    )
    await page.get_by_label("Number").fill("+1 212 555 0123")
    await page.get_by_label("Texts: consent given").check()
    await page.get_by_label("How consent was given").fill("said yes on a call")
    await page.get_by_label("Preferred").check()
    await page.get_by_role("button", name="Add contact").click()
    new = _item(page, "+12125550123")
    await expect(_preferred(new)).to_have_count(1)
    await expect(new).to_contain_text("Texts: consent (said yes on a call)")
    await expect(new).to_contain_text("Calls: no consent")
    await expect(_preferred(old)).to_have_count(0)
    await expect(page.locator("#contact-details-problem")).to_be_empty()
    # Edited: another type.
    await new.get_by_role("button", name="Edit").click()
    await page.get_by_label("Type").select_option("work")
    await page.get_by_role("button", name="Save contact").click()
    await expect(new.locator(".badge").first).to_have_text("work")
    # The preferred one cannot go while another number remains; the old one is preferred
    # again and the new one removed.
    await new.get_by_role("button", name="Remove").click()
    await expect(page.locator("#contact-details-problem")).to_contain_text(
        "make another phone preferred"
    )
    await old.get_by_role("button", name="Make preferred").click()
    await expect(_preferred(old)).to_have_count(1)
    await new.get_by_role("button", name="Remove").click()
    await expect(new).to_have_count(0)
    # An address, with its lines.
    await page.get_by_text("Add a contact").click()
    await page.get_by_label("Kind").select_option("address")
    await page.get_by_label("Type").select_option("mailing")
    await page.get_by_label("Address line 1").fill("12 Quay Street")
    await page.get_by_label("City").fill("Leeds")
    await page.get_by_label("Postal code").fill("LS1 4AP")
    await page.get_by_role("button", name="Add contact").click()
    await expect(_item(page, "12 Quay Street, Leeds, LS1 4AP")).to_contain_text("mailing")
    # A change made elsewhere arrives without a reload.
    async with httpx.AsyncClient(base_url=live_server) as client:
        added = await client.post(
            f"/api/v1/debtors/{account.debtor_id}/contacts",
            json={
                "kind": "email",
                "type": "work",
                "value": "pat.work@firm.test",
                "email_consent": True,
                "consent_how": "web form",
            },
            headers=tenant.supervisor.headers,
        )
        assert added.status_code == 201, added.text
    await expect(_item(page, "pat.work@firm.test")).to_contain_text("E-mails: consent (web form)")
    card = page.locator(".card").filter(has=page.locator("#debtor-card"))
    await card.screenshot(path=str(SCREENSHOTS / "account-debtor-card.png"))
    assert page.errors == []  # type: ignore[attr-defined]
    await page.context.close()

    phone = await _account_page(browser, live_server, tenant, account.id, PHONE)
    await expect(_item(phone, "pat.work@firm.test")).to_be_visible()
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    card = phone.locator(".card").filter(has=phone.locator("#debtor-card"))
    await card.screenshot(path=str(SCREENSHOTS / "account-debtor-card-phone.png"))
    await phone.context.close()
