"""The webhooks screen in a real browser, as the demo admin, with a receiver on loopback
(the live server admits it as development does): an address webhooks may not reach is
refused beside the URL; an endpoint is added and its secret shown once; a test event goes
out through the real relay and worker and lands; a receiver that fails is retried through
the schedule (on the test's clock) to a dead letter that turns the count red; a replay
lands. A collector sees neither the screen nor its API."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import httpx
from playwright.async_api import Browser, Page, expect
from standardwebhooks.webhooks import Webhook

from domain.db import Database
from domain.demo import DEMO_PASSWORD, DEMO_SLUG
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.test_login import sign_in
from tests.e2e.test_workflow_screens import DESKTOP, WIDER_THAN_SCREEN
from tests.integration.webhook_helpers import Receiver, sender

# Far enough apart that each round is after the last one's retry (at most 10 h, no jitter).
ROUND = dt.timedelta(hours=11)
RED = "rgb(179, 38, 30)"  # --bad
PHONE = {"width": 390, "height": 844}


async def open_as(browser: Browser, base: str, email: str) -> Page:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    await sign_in(page, base, email, DEMO_PASSWORD)
    await expect(page.locator("#who")).not_to_be_empty(timeout=20_000)
    return page


async def both_sizes(page: Page, name: str, phone_at: str | None = None) -> None:
    """The screen at desktop width from the top, and at phone width from ``phone_at``; on
    neither is anything wider than the screen (a table scrolls in its own box)."""
    for size, suffix, at in ((DESKTOP, "", None), (PHONE, "-phone", phone_at)):
        await page.set_viewport_size(size)
        await page.wait_for_timeout(150)
        if at:
            await page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        else:
            await page.evaluate("scrollTo(0, 0)")
        await page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"))
        wide = await page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, (name, size, wide)
    await page.set_viewport_size(DESKTOP)


async def demo_tenant(db: Database) -> int:
    async with db.system() as conn:
        return await conn.fetchval("SELECT id FROM tenants WHERE slug = $1", DEMO_SLUG)


async def test_an_admin_adds_an_endpoint_tests_it_and_replays_a_dead_letter(
    browser: Browser, live_server: str, demo, relay, worker, db: Database
) -> None:
    tenant_id = await demo_tenant(db)
    description = f"Billing {uuid.uuid4().hex[:6]}"
    async with Receiver() as receiver:
        page = await open_as(browser, live_server, "admin@demo.test")
        await page.get_by_role("link", name="Webhooks").click()
        await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()

        # A private address is refused at save, beside the URL.
        url = page.get_by_label("URL")
        await url.fill("http://10.0.0.1/hooks")
        await page.get_by_role("button", name="Add endpoint").click()
        await expect(page.locator("[data-field='url'] .field-error")).to_contain_text(
            "10.0.0.1 resolves to an address webhooks may not reach"
        )
        await expect(url).to_have_attribute("aria-invalid", "true")
        await expect(url).to_be_focused()

        # The receiver, for payments (a test event goes to it whatever it takes).
        await url.fill(receiver.url)
        await page.get_by_label("Description").fill(description)
        await page.get_by_label("payment.received").check()
        await page.get_by_role("button", name="Add endpoint").click()
        box = page.get_by_role("region", name="The endpoint's signing secret")
        await expect(box).to_contain_text("Copy it now: you will not see this again.")
        secret = await page.locator("#signing-secret").input_value()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        await expect(page.locator("#signing-secret")).to_be_focused()
        row = page.locator("#webhook-endpoints tbody tr", has_text=description)
        await expect(row).to_contain_text(receiver.url)
        await expect(row).to_contain_text("payment.received")
        await expect(row).to_contain_text("enabled")
        await expect(row.locator(".dead-letters")).to_have_text("0")
        await expect(row.locator(".dead-letters")).not_to_have_attribute("data-tone", "bad")
        # The form is empty again, ready for another.
        await expect(url).to_have_value("")
        await both_sizes(page, "webhooks")
        await page.get_by_role("button", name="I have stored it").click()
        await expect(box).to_have_count(0)
        assert secret not in await page.content()

        # A test event goes out through the relay and the worker, signed with that secret.
        await row.get_by_role("link").click()
        await expect(page.locator("#endpoint-title")).to_have_text(receiver.url)
        assert secret not in await page.content()
        await page.get_by_role("button", name="Send a test event").click()
        delivery = page.locator("#deliveries tbody tr[data-id]").first
        await expect(delivery).to_have_attribute("data-status", "succeeded", timeout=20_000)
        await expect(delivery).to_contain_text("webhook.test")
        await expect(delivery).to_contain_text("delivered")
        await expect(delivery.locator("td").nth(2)).to_have_text("1")
        await expect(delivery).to_contain_text("200 · status 200")
        [request] = receiver.requests
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "webhook.test"
        first_id = await delivery.get_attribute("data-id")
        await delivery.get_by_role("button", name="Attempts of delivery").click()
        attempts = page.locator(f"tr[data-attempts-of='{first_id}'] li.attempt")
        await expect(attempts).to_have_count(1)
        await expect(attempts.first).to_contain_text("200 · status 200")

        # The receiver fails: the worker's first attempt is refused, and the retry waits.
        receiver.script = [(500, {})]
        await page.get_by_role("button", name="Send a test event").click()
        failing = page.locator("#deliveries tbody tr[data-id]").first
        await expect(failing).to_contain_text("retrying", timeout=20_000)
        await expect(failing).to_contain_text("500 · status 500")
        await expect(failing.locator("td").nth(2)).to_have_text("1")
        dead_id = await failing.get_attribute("data-id")
        await expect(page.locator(".endpoint-facts")).to_contain_text("HTTP 500")
        # The rest of the schedule on the test's clock (no scheduler runs in the tests):
        # seven more refusals, then the delivery is dead-lettered.
        start = dt.datetime.now(dt.UTC)
        for n in range(1, 8):
            await sender(db, start + n * ROUND).deliver_tenant(tenant_id)
        assert len(receiver.requests) == 9
        await page.get_by_role("button", name="Refresh").click()
        dead = page.locator(f"#deliveries tr[data-id='{dead_id}']")
        await expect(dead).to_have_attribute("data-status", "dead")
        await expect(dead).to_contain_text("dead letter")
        await expect(dead.locator("td").nth(2)).to_have_text("8")
        count = page.locator(".endpoint-facts .dead-letters")
        await expect(count).to_have_text("1")
        await expect(count).to_have_attribute("data-tone", "bad")
        await expect(count).to_have_css("color", RED)
        await dead.get_by_role("button", name="Attempts of delivery").click()
        await expect(page.locator(f"tr[data-attempts-of='{dead_id}'] li.attempt")).to_have_count(8)
        await both_sizes(page, "webhook-endpoint", phone_at="#endpoint-deliveries")

        # Replayed to a receiver that is back: it lands, with the same webhook-id.
        receiver.script = [(200, {})]
        await dead.get_by_role("button", name="Replay delivery").click()
        await expect(dead).to_have_attribute("data-status", "pending")
        await sender(db, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).deliver_tenant(
            tenant_id
        )
        await expect(dead).to_have_attribute("data-status", "succeeded", timeout=10_000)
        await expect(dead.locator("td").nth(2)).to_have_text("1")
        await expect(count).to_have_text("0")
        await expect(count).not_to_have_attribute("data-tone", "bad")
        assert len(receiver.requests) == 10
        ids = {r.headers["webhook-id"] for r in receiver.requests[1:]}
        assert len(ids) == 1
        Webhook(secret).verify(receiver.requests[-1].body, receiver.requests[-1].headers)

        # Replaying a range: refused beside the field when it runs backwards, else counted.
        until = page.get_by_label("Until")
        since = await page.get_by_label("Failed since").input_value()
        await until.fill(since)
        await page.get_by_role("button", name="Replay failed").click()
        await expect(page.locator("[data-field='until'] .field-error")).to_have_text(
            "until must be after since"
        )
        await until.fill((dt.datetime.now() + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
        await page.get_by_role("button", name="Replay failed").click()
        await expect(page.get_by_text("0 deliveries sent again.")).to_be_visible()

        # Its event types changed; its secret rotated: the new one shown once, and both
        # sign the next request until the old one's 24 hours are over.
        await page.get_by_role("button", name="Change").click()
        await page.get_by_label("promise.broken").check()
        await page.get_by_role("button", name="Save changes").click()
        await expect(page.locator(".endpoint-facts")).to_contain_text(
            "payment.received, promise.broken"
        )
        await page.get_by_role("button", name="Rotate secret…").click()
        await page.get_by_role("button", name="Rotate secret", exact=True).click()
        rotated = page.get_by_role("region", name="The new signing secret")
        await expect(rotated).to_contain_text("you will not see this again")
        await expect(rotated).to_contain_text("The old secret signs beside it until")
        new_secret = await page.locator("#signing-secret").input_value()
        assert new_secret.startswith("whsec_")
        assert new_secret != secret
        await page.get_by_role("button", name="I have stored it").click()
        assert new_secret not in await page.content()
        await page.get_by_role("button", name="Send a test event").click()
        latest = page.locator("#deliveries tbody tr[data-id]").first
        await expect(latest).not_to_have_attribute("data-id", dead_id)
        await expect(latest).to_have_attribute("data-status", "succeeded", timeout=20_000)
        for signer in (secret, new_secret):
            Webhook(signer).verify(receiver.requests[-1].body, receiver.requests[-1].headers)

        # Disabled, it takes no test event (the server's reason shows); removed, it is gone.
        await page.get_by_role("button", name="Disable").click()
        await expect(page.locator(".endpoint-facts")).to_contain_text("disabled")
        await page.get_by_role("button", name="Send a test event").click()
        await expect(page.locator("#endpoint-problem")).to_contain_text(
            "the endpoint is disabled: enable it to send it a test event"
        )
        await page.get_by_role("button", name="Remove…").click()
        await page.get_by_role("button", name="Remove", exact=True).click()
        await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
        await expect(page.locator("#webhook-endpoints")).not_to_contain_text(description)
        assert not page.errors  # type: ignore[attr-defined]


async def test_a_collector_sees_neither_the_screen_nor_its_api(
    browser: Browser, live_server: str, demo
) -> None:
    page = await open_as(browser, live_server, "collector1@demo.test")
    await expect(page.locator("#nav a[href='/admin']")).to_be_hidden()
    await expect(page.locator("#nav a[href='/webhooks']")).to_be_hidden()
    answer = await page.evaluate(
        """() => import("/static/js/api.js")
          .then((m) => m.api("/webhook-endpoints"))
          .then(() => 200, (error) => error.status)"""
    )
    assert answer == 403
    await page.goto(f"{live_server}/webhooks")
    await expect(page.locator("#screen .problem")).to_be_visible()
    await expect(page.locator("#webhook-endpoints")).to_have_count(0)
    async with httpx.AsyncClient(base_url=live_server) as http:
        # The page itself holds no data (the API decides), as every screen's.
        assert (await http.get("/webhooks")).status_code == 200
