"""The wallboard in a real browser: its tiles equal GET /api/v1/stats/realtime, a payment made
through the API shows within a second, and a cut connection shows the stale banner until the
socket is back, with what was missed applied."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from channels.redis_backend import RedisBackend
from tasks.stats import Snapshots
from tests.e2e.conftest import screenshot
from tests.e2e.test_login import sign_in
from tests.factories import SeededTenant
from tests.integration.test_admin_users_api import new_user

TV = {"width": 1920, "height": 1080}


def zone_name(zone: str) -> str:
    """How the board names a zone: its place, or UTC±n for an Etc/GMT zone (whose sign is
    the other way round: Etc/GMT-3 is three hours ahead)."""
    if zone.startswith("Etc/GMT"):
        offset = zone.removeprefix("Etc/GMT")
        return "UTC" + ({"-": "+", "+": "-"}[offset[0]] + offset[1:] if offset else "")
    return zone.rsplit("/", 1)[-1].replace("_", " ")


PHONE = {"width": 390, "height": 844}


class Cable:
    """The browser's sockets, through a switch: ``cut()`` closes them and refuses new ones
    until ``mend()``."""

    def __init__(self) -> None:
        self.cut_off = False
        self.routes: list[WebSocketRoute] = []

    async def handle(self, route: WebSocketRoute) -> None:
        if self.cut_off:
            await route.close()
            return
        server = route.connect_to_server()
        # Forwarded by hand: frames the page sends before the server's side is open wait.
        route.on_message(server.send)
        server.on_message(route.send)
        self.routes.append(route)

    async def cut(self) -> None:
        self.cut_off = True
        for route in self.routes:
            await route.close()
        self.routes.clear()

    def mend(self) -> None:
        self.cut_off = False


async def figures(base: str, tenant: SeededTenant) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base) as http:
        got = await http.get("/api/v1/stats/realtime", headers=tenant.supervisor.headers)
    assert got.status_code == 200, got.text
    return got.json()


async def pay(base: str, tenant: SeededTenant, amount: str) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        paid = await http.post(
            f"/api/v1/accounts/{tenant.accounts[0].id}/payments",
            json={"amount": amount, "currency": "USD", "method": "cash"},
            headers={**tenant.collector.headers, "Idempotency-Key": f"wb-{amount}-{tenant.id}"},
        )
    assert paid.status_code == 201, paid.text


async def money(page: Page, amount: str, currency: str = "USD") -> str:
    return await page.evaluate(
        "([a, c]) => new Intl.NumberFormat(undefined, {style: 'currency', currency: c}).format(a)",
        [amount, currency],
    )


async def tiles_equal_the_api(page: Page, got: dict[str, Any]) -> None:
    usd = [c for c in got["collected"] if c["currency"] == "USD"]
    await expect(page.locator("rc-kpi-tile[data-kpi=collected]")).to_have_attribute(
        "value", await money(page, usd[0]["amount"]) if usd else "—"
    )
    open_work = sum(got["tasks"]["open_by_status"].values())
    expected = {
        "promises": got["promises"]["made_today"],
        "broken": got["promises"]["broken_today"],
        "calls": got["calls"]["attempted_today"],
        "completed": got["tasks"]["completed_today"],
        "open": open_work,
    }
    for kpi, value in expected.items():
        await expect(page.locator(f"rc-kpi-tile[data-kpi={kpi}]")).to_have_attribute(
            "value", f"{value:,}"
        )
    assert await page.locator("#wb-agents li").count() == len(got["agents"])
    assert await page.locator("#wb-queues tr").count() == len(got["queues"])


async def test_the_wallboard_follows_the_floor_and_says_when_it_cannot(
    browser: Browser, live_server: str, relay, tenant: SeededTenant
) -> None:
    # The supervisor watches from another zone than the tenant's: the board keeps to the
    # tenant's, whose hours and day its figures are.
    context = await browser.new_context(viewport=TV, timezone_id="Pacific/Chatham")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    cable = Cable()
    await page.route_web_socket(re.compile(r"/ws\?"), cable.handle)
    await sign_in(page, live_server, tenant.supervisor.email, tenant.supervisor.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.goto(f"{live_server}/wallboard?tv=1")
    board = page.locator(".wallboard")
    await expect(board).to_have_attribute("data-state", "live")
    await expect(page.locator(".topbar")).to_be_hidden()  # TV mode: no chrome
    # A screen on the wall cannot scroll: the whole board fits its 1080 pixels.
    assert await page.evaluate("document.documentElement.scrollHeight") <= TV["height"]
    await tiles_equal_the_api(page, await figures(live_server, tenant))

    # A payment through the API is on the board within a second, in the tiles and the feed.
    await pay(live_server, tenant, "12.34")
    collected = page.locator("rc-kpi-tile[data-kpi=collected]")
    await expect(collected).to_have_attribute("value", await money(page, "12.34"), timeout=1000)
    await expect(page.locator("#wb-feed li").first).to_contain_text(await money(page, "12.34"))
    await tiles_equal_the_api(page, await figures(live_server, tenant))
    zone = (await figures(live_server, tenant))["time_zone"]
    at = await page.locator("#wb-feed li time").first.get_attribute("datetime")
    there = await page.evaluate(
        "([at, zone]) => new Intl.DateTimeFormat(undefined, "
        "{timeZone: zone, hour: '2-digit', minute: '2-digit'}).format(new Date(at))",
        [at, zone],
    )
    await expect(page.locator("#wb-feed li time").first).to_have_text(there)
    await expect(page.locator("#wb-as-of")).to_contain_text(f"({zone_name(zone)} time)")
    await screenshot(page, "wallboard")

    # The connection goes: the board says so, and what happens meanwhile is not lost.
    await cable.cut()
    stale = page.locator("#wb-stale")
    await expect(stale).to_be_visible()
    await expect(stale).to_contain_text("Connection lost")
    await expect(board).to_have_attribute("data-state", "stale")
    await pay(live_server, tenant, "7.66")
    await expect(collected).to_have_attribute("value", await money(page, "12.34"))
    await screenshot(page, "wallboard-stale")
    cable.mend()
    await expect(stale).to_be_hidden(timeout=20_000)  # reconnects with backoff, by itself
    await expect(collected).to_have_attribute("value", await money(page, "20.00"))
    await expect(page.locator("#wb-feed li").first).to_contain_text(await money(page, "7.66"))
    await tiles_equal_the_api(page, await figures(live_server, tenant))

    # On a phone the same board, one column.
    await page.set_viewport_size(PHONE)
    await expect(collected).to_be_visible()
    await screenshot(page, "wallboard-phone")
    await context.close()
    assert not errors, errors


async def test_collectors_are_not_shown_the_wallboard(
    page: Page, live_server: str, tenant: SeededTenant
) -> None:
    await sign_in(page, live_server, tenant.collector.email, tenant.collector.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await expect(page.locator("#nav a[data-screen=wallboard]")).to_be_hidden()
    await page.goto(f"{live_server}/wallboard")
    await expect(page.locator(".problem")).to_be_visible()


async def test_a_supervisor_runs_an_agent_from_the_wallboards_grid(
    page: Page, live_server: str, relay, tenant: SeededTenant
) -> None:
    await sign_in(page, live_server, tenant.supervisor.email, tenant.supervisor.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.goto(f"{live_server}/wallboard")
    await expect(page.locator(".wallboard")).to_have_attribute("data-state", "live")
    card = page.locator(f"#wb-agents li[data-agent='{tenant.collector.id}']")
    await expect(card).to_have_attribute("data-status", "offline")

    await card.get_by_label("Status").select_option("away")
    # The change comes back as the agent's event: the card, its badge and the tiles follow.
    await expect(card).to_have_attribute("data-status", "away")
    await expect(card.locator(".agent-body .badge")).to_have_text("away")
    await expect(page.locator("rc-kpi-tile[data-kpi=agents]")).to_have_attribute(
        "detail", "1 away · 1 offline"
    )
    await card.get_by_role("spinbutton", name="Capacity").fill("3")
    # The field shows what was typed at once: the saving is the answer to the change.
    async with page.expect_response(
        lambda r: r.request.method == "PATCH" and f"/agents/{tenant.collector.id}" in r.url
    ) as saved:
        await card.get_by_role("button", name="Set").click()
    assert (await saved.value).status == 200
    await expect(card.get_by_role("spinbutton", name="Capacity")).to_have_value("3")
    async with httpx.AsyncClient(base_url=live_server) as http:
        agent = await http.get(
            f"/api/v1/agents/{tenant.collector.id}", headers=tenant.supervisor.headers
        )
    assert (agent.json()["status"], agent.json()["capacity"]) == ("away", 3)
    await screenshot(page, "wallboard-supervisor")
    # On the wall (TV mode) the grid shows the agents without controls.
    await page.goto(f"{live_server}/wallboard?tv=1")
    await expect(page.locator(".wallboard")).to_have_attribute("data-state", "live")
    await expect(page.locator("#wb-agents li").first).to_be_visible()
    assert await page.locator("#wb-agents rc-agent-controls").count() == 0


async def test_a_capacity_being_typed_on_the_grid_keeps_its_focus_as_an_agent_arrives(
    page: Page, live_server: str, relay, db, redis_url: str, tenant: SeededTenant
) -> None:
    """A new collector arrives with the next snapshot and takes their place in name order;
    the card beside it, where a supervisor is typing a capacity, is not moved under them."""
    await sign_in(page, live_server, tenant.supervisor.email, tenant.supervisor.password)
    await expect(page.locator("#who")).not_to_be_empty()
    await page.goto(f"{live_server}/wallboard")
    await expect(page.locator(".wallboard")).to_have_attribute("data-state", "live")
    card = page.locator(f"#wb-agents li[data-agent='{tenant.collector.id}']")
    capacity = card.get_by_role("spinbutton", name="Capacity")
    await capacity.fill("1")
    async with httpx.AsyncClient(base_url=live_server, headers=tenant.admin.headers) as http:
        made = await http.post(
            "/api/v1/users", json=new_user(tenant, name="Aaron Abbot", role="collector")
        )
        assert made.status_code == 201, made.text
    # The snapshot the scheduler sends every few seconds, sent now.
    backend = RedisBackend(redis_url)
    try:
        assert await Snapshots(db, backend).send(tenant.id, force=True)
    finally:
        await backend.stop()
    await expect(page.locator("#wb-agents li").first).to_have_attribute(
        "data-agent", str(made.json()["id"])
    )
    await expect(capacity).to_have_value("1")
    await expect(capacity).to_be_focused()
    await page.keyboard.type("2")
    await page.keyboard.press("Enter")
    await expect(card.locator(".agent-load")).to_contain_text("/ 12 tasks")
    async with httpx.AsyncClient(base_url=live_server) as http:
        agent = await http.get(
            f"/api/v1/agents/{tenant.collector.id}", headers=tenant.supervisor.headers
        )
    assert agent.json()["capacity"] == 12


STORE_RACE = """async () => {
  const { WallboardStore, addDecimal } = await import("/static/js/screens/wallboard/store.js");
  const reading = (asOf, amount, count) => ({
    as_of: asOf, today: "2026-11-30", time_zone: "UTC",
    collected: count ? [{ currency: "USD", amount, count, target: null }] : [],
    promises: { made_today: 0, due_today: 0, broken_today: 0, kept_rate_7d: null },
    calls: { attempted_today: 0, right_party_today: 0, right_party_rate: null },
    tasks: { open_by_status: { open: 0, assigned: 0, in_progress: 0 }, open_by_priority: {},
      completed_today: 0 },
    queues: [], queue_thresholds: { warn_seconds: 900, alert_seconds: 3600 },
    agents_by_status: {}, agents: [], by_hour: [], feed: [],
  });
  const payment = (id, at, amount) => ({
    type: "payment.received", id,
    data: { payment: { status: "succeeded", received_at: at, currency: "USD", amount,
      created_by: null, account_id: 1 }, account: { id: 1, external_ref: "A-1" } },
  });
  const store = new WallboardStore();
  const usd = () => store.figures.collected.find((c) => c.currency === "USD")?.amount ?? "0";
  const seen = [];
  store.reset(reading("2026-11-30T10:00:00Z", "0", 0));
  store.apply(payment("p1", "2026-11-30T10:00:05Z", "10.10"));
  seen.push(usd());
  // A reading taken before the payment arrives after it: the payment is laid over it again.
  store.reset(reading("2026-11-30T10:00:03Z", "1.00", 1));
  seen.push(usd());
  // A reading that holds the payment counts it once.
  store.reset(reading("2026-11-30T10:00:06Z", "11.10", 2));
  seen.push(usd());
  // An older reading than the one shown changes nothing.
  store.reset(reading("2026-11-30T10:00:04Z", "1.00", 1));
  seen.push(usd());
  // A payment stamped before the reading is already in it.
  store.apply(payment("p0", "2026-11-30T10:00:01Z", "5.00"));
  seen.push(usd());
  seen.push(addDecimal("0.1", "0.2"), addDecimal("-1.05", "0.055"), addDecimal("999.99", "0.01"));
  return seen;
}"""


async def test_the_wallboards_store_counts_each_payment_once_whatever_the_order(
    page: Page, live_server: str
) -> None:
    await page.goto(f"{live_server}/login")
    assert await page.evaluate(STORE_RACE) == [
        "10.10",
        "11.10",
        "11.10",
        "11.10",
        "11.10",
        "0.3",
        "-0.995",
        "1000.00",
    ]


LEADING_CURRENCY = """async () => {
  const { mainCurrency } = await import("/static/js/screens/wallboard/chart.js");
  const { tiles } = await import("/static/js/screens/wallboard/panels.js");
  const figures = (collected) => ({
    collected,
    promises: { made_today: 0, due_today: 0, broken_today: 0, kept_rate_7d: null },
    calls: { attempted_today: 0, right_party_today: 0, right_party_rate: null },
    tasks: { open_by_status: { open: 0, assigned: 0, in_progress: 0 }, completed_today: 0 },
    agents_by_status: {}, agents: [], by_hour: [],
  });
  const usd = { currency: "USD", amount: "900.00", count: 3, target: null };
  const jpy = { currency: "JPY", amount: "100000", count: 1, target: null };
  const said = (f) => {
    const main = mainCurrency(f);
    const tile = tiles(f, main)[0];
    return [main, tile.getAttribute("value"), tile.getAttribute("detail")];
  };
  return [
    said(figures([jpy, usd])),
    said(figures([{ ...jpy, count: 3 }, usd])),
    said(figures([{ ...jpy, target: "500000" }, usd])),
    said(figures([])),
  ];
}"""


async def test_the_board_leads_with_a_currency_by_payments_not_by_the_size_of_its_figures(
    page: Page, live_server: str
) -> None:
    """¥100,000 is about $650: the larger figure is not the larger sum. The tile leads with
    the currency that has a target, else the one most payments came in, and counts every
    payment of the day."""
    await page.goto(f"{live_server}/login")
    yen, dollars = await money(page, "100000", "JPY"), await money(page, "900.00")
    assert await page.evaluate(LEADING_CURRENCY) == [
        ["USD", dollars, f"4 payments · {yen}"],
        ["JPY", yen, f"6 payments · {dollars}"],
        ["JPY", yen, f"20% of {await money(page, '500000', 'JPY')} target · {dollars}"],
        [None, "—", "no payments yet"],
    ]
