"""The tenant's custom fields on the account screen: the account's in its Account facts and
the debtor's in the Debtor card, labelled and ordered by their definitions, each type shown
as a person reads it; a change made elsewhere arrives live."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.e2e.test_workflow_screens import no_errors, open_app
from tests.factories import SeededTenant

API = "/api/v1"


async def test_a_collector_sees_the_accounts_and_debtors_custom_fields_and_their_changes(
    browser: Browser, live_server: str, relay, tenant: SeededTenant, tmp_path
) -> None:
    account = tenant.accounts[0]
    admin = tenant.admin.headers
    definitions = [
        {"entity": "account", "key": "tier", "label": "Tier", "type": "select",
         "options": ["gold", "silver"], "position": 2},
        {"entity": "account", "key": "opened", "label": "Opened", "type": "date", "position": 1},
        {"entity": "account", "key": "terms", "label": "Terms", "type": "url", "position": 3},
        {"entity": "account", "key": "note", "label": "Note", "type": "string", "position": 4},
        {"entity": "debtor", "key": "vip", "label": "VIP", "type": "boolean"},
        {"entity": "debtor", "key": "langs", "label": "Languages", "type": "multi_select",
         "options": ["en", "es", "fr"]},
    ]  # fmt: skip
    async with httpx.AsyncClient(base_url=live_server) as client:
        for body in definitions:
            made = await client.post(f"{API}/custom-fields", json=body, headers=admin)
            assert made.status_code == 201, made.text
        custom = {"tier": "gold", "opened": "2024-03-05", "terms": "https://example.com/t"}
        changed = await client.patch(
            f"{API}/accounts/{account.id}", json={"custom": custom}, headers=admin
        )
        assert changed.status_code == 200, changed.text
        debtor_id = changed.json()["debtor_id"]
        debtor = await client.patch(
            f"{API}/debtors/{debtor_id}",
            json={"custom": {"vip": True, "langs": ["es", "en"]}},
            headers=admin,
        )
        assert debtor.status_code == 200, debtor.text

        page = await open_app(browser, live_server, tenant.collector)
        await page.goto(f"{live_server}/accounts/{account.id}")
        await expect(page.locator("rc-connection")).to_have_attribute("data-state", "live")
        facts = page.locator("#facts")
        # In the definitions' order, after the account's own facts.
        labels = facts.locator("dt")
        await expect(labels).to_contain_text(
            ["Reference", "Creditor", "Due date", "Days past due", "Status",
             "Opened", "Tier", "Terms", "Note"]
        )  # fmt: skip
        await expect(facts.locator('[data-custom="opened"]')).to_have_text("Mar 5, 2024")
        await expect(facts.locator('[data-custom="tier"]')).to_have_text("gold")
        link = facts.locator('[data-custom="terms"] a')
        await expect(link).to_have_attribute("href", "https://example.com/t")
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        await expect(facts.locator('[data-custom="note"]')).to_have_text("—")
        card = page.locator("#debtor-card")
        await expect(card.locator('[data-custom="vip"]')).to_have_text("Yes")
        await expect(card.locator('[data-custom="langs"]')).to_have_text("es, en")

        # A supervisor changes the tier elsewhere: the collector's screen follows.
        moved = await client.patch(
            f"{API}/accounts/{account.id}",
            json={"custom": {"tier": "silver", "note": "<b>not bold</b>"}},
            headers=tenant.supervisor.headers,
        )
        assert moved.status_code == 200, moved.text
        await expect(facts.locator('[data-custom="tier"]')).to_have_text("silver")
        # Merged into the stored values: what the change did not name is kept.
        await expect(facts.locator('[data-custom="opened"]')).to_have_text("Mar 5, 2024")
        await expect(facts.locator('[data-custom="note"]')).to_have_text("<b>not bold</b>")
        await expect(facts.locator('[data-custom="note"] b')).to_have_count(0)
        # And the debtor's, changed elsewhere, in the Debtor card.
        flipped = await client.patch(
            f"{API}/debtors/{debtor_id}",
            json={"custom": {"vip": False}},
            headers=tenant.supervisor.headers,
        )
        assert flipped.status_code == 200, flipped.text
        await expect(card.locator('[data-custom="vip"]')).to_have_text("No")
        await expect(card.locator('[data-custom="langs"]')).to_have_text("es, en")
        for size, name in (
            ({"width": 1280, "height": 900}, "d"),
            ({"width": 390, "height": 844}, "p"),
        ):
            await page.set_viewport_size(size)
            await page.locator("#facts").scroll_into_view_if_needed()
            await page.screenshot(path=str(tmp_path / f"custom-{name}.png"), full_page=True)
        no_errors(page)
