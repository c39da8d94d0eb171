"""Every response carries the security headers and a request id, errors raised before a handler
(a middleware's 401, an unknown path's 404) included; HTML pages carry a policy that lets them
work from our own assets only; /metrics is closed in production."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import get
from msgspec.structs import replace

from config.settings import Settings
from server.app import create_app
from server.resources import Resources
from tests.conftest import asgi_client
from tests.factories import SeededTenant

STRICT = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}
HSTS = "max-age=63072000; includeSubDomains"


def assert_hardened(response: httpx.Response) -> None:
    for name, value in STRICT.items():
        assert response.headers.get(name) == value, (response.request.url, name, response.headers)
    policy = response.headers.get("content-security-policy", "")
    for directive in ("frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"):
        assert directive in policy, (response.request.url, policy)
    assert "http:" not in policy.replace("ws:", "")
    assert "https:" not in policy
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", response.headers.get("x-request-id", ""))


async def payment_link(client: httpx.AsyncClient, tenant: SeededTenant) -> str:
    response = await client.post(
        f"/api/v1/accounts/{tenant.accounts[0].id}/payment-links",
        json={},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201, response.text
    return "/pay/" + response.json()["url"].split("/pay/", 1)[1]


async def test_every_html_page_has_the_security_headers(client, tenant: SeededTenant) -> None:
    pay = await payment_link(client, tenant)
    pages = ["/", "/login", "/accounts", "/admin", "/queue", pay, "/pay/not-a-link", "/schema"]
    pages += ["/workflows", "/workflows/new", "/workflows/7/runs", "/templates/3", "/messages"]
    pages += ["/reports", "/reports/aging", "/reports/collectors"]
    for path in pages:
        response = await client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        assert_hardened(response)
        policy = response.headers["content-security-policy"]
        assert re.search(r"script-src '(self|none)';", policy), (path, policy)
        assert "unsafe" not in policy


async def test_every_page_links_the_icon_that_is_served(client, tenant: SeededTenant) -> None:
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert_hardened(icon)
    pay = await payment_link(client, tenant)
    for path in ["/", "/login", "/queue", "/reports", pay, "/pay/not-a-link", "/schema"]:
        html = (await client.get(path)).text
        assert '<link rel="icon" href="/favicon.ico">' in html, path
        assert "favicon-32x32" not in html, path


async def test_app_pages_are_not_served_as_static_files(client) -> None:
    for name in ("index.html", "login.html", "pay.html"):
        assert (await client.get(f"/static/{name}")).status_code == 404
    script = await client.get("/static/js/app.js")
    assert script.status_code == 200
    assert_hardened(script)
    assert (await client.get("/static/css/app.css")).status_code == 200
    assert (await client.get("/static/components/rc-money.js")).status_code == 200


async def test_api_reference_loads_nothing_from_elsewhere(client) -> None:
    response = await client.get("/schema")
    assert response.status_code == 200
    html = response.text
    assert "cdn." not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html[:800]
    assert "<script>" not in html.replace(" ", "")  # no inline script: script-src 'self' holds
    for url in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
        asset = await client.get(url)
        assert asset.status_code == 200, url
    assert "unsafe" not in response.headers["content-security-policy"]
    # The bundle's own sample pages (which fetch a remote spec) are not served.
    assert (await client.get("/schema-assets/index.html")).status_code == 404


async def test_problems_raised_by_middleware_carry_the_headers_and_the_request_id(
    client, tenant: SeededTenant
) -> None:
    cases = [
        (await client.get("/api/v1/accounts"), 401),
        (await client.get("/api/v1/accounts", headers={"Authorization": "Basic x"}), 401),
        (await client.get("/api/v1/audit", headers=tenant.collector.headers), 403),
        (await client.get("/no/such/page"), 404),
        (await client.get("/api/v1/accounts?limit=many", headers=tenant.admin.headers), 422),
        (await client.delete("/health/live"), 405),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert_hardened(response)
        assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_an_unexpected_failure_carries_the_headers_and_the_request_id(
    settings: Settings, resources: Resources
) -> None:
    @get("/boom", opt={"exclude_from_auth": True}, include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("a bug")

    app = create_app(settings, resources=resources)
    app.register(boom)
    async with asgi_client(app) as http:
        response = await http.get("/boom")
    assert response.status_code == 500
    assert_hardened(response)
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert "a bug" not in response.text


async def test_a_middleware_401_is_counted_with_its_status(client) -> None:
    def count() -> float:
        line = 'recoup_http_requests_total{method="GET",route="/api/v1/accounts",status="401"}'
        for row in metrics.splitlines():
            if row.startswith(line):
                return float(row.rsplit(" ", 1)[1])
        return 0.0

    metrics = (await client.get("/metrics")).text
    before = count()
    assert (await client.get("/api/v1/accounts")).status_code == 401
    metrics = (await client.get("/metrics")).text
    assert count() == before + 1
    assert 'route="/api/v1/accounts",status="500"' not in metrics


@pytest.fixture
def app_with(settings: Settings):  # type: ignore[no-untyped-def]
    """A client for an app (and its resources) built with some settings changed."""

    @contextlib.asynccontextmanager
    async def make(**changes: object) -> AsyncIterator[httpx.AsyncClient]:
        changed = replace(settings, **changes)
        opened = await Resources.open(changed, application_name="recoup-tests-settings")
        try:
            async with asgi_client(create_app(changed, resources=opened)) as http:
                yield http
        finally:
            await opened.close()

    return make


async def test_hsts_only_when_the_public_url_is_https(client, app_with) -> None:
    assert "strict-transport-security" not in (await client.get("/health/live")).headers
    async with app_with(public_url="https://recoup.example") as https:
        for path in ("/health/live", "/login", "/api/v1/accounts", "/nowhere"):
            assert (await https.get(path)).headers["strict-transport-security"] == HSTS


async def test_metrics_are_open_in_development_only(client, app_with) -> None:
    assert (await client.get("/metrics")).status_code == 200
    async with app_with(env="production") as production:
        closed = await production.get("/metrics")
        assert closed.status_code == 401
        assert_hardened(closed)
    async with app_with(env="production", metrics_token="m" * 32) as production:
        assert (await production.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer " + "n" * 32}
        assert (await production.get("/metrics", headers=wrong)).status_code == 401
        right = {"Authorization": "Bearer " + "m" * 32}
        opened = await production.get("/metrics", headers=right)
        assert opened.status_code == 200
        assert "recoup_http_requests_total" in opened.text
    async with app_with(metrics_token="m" * 32) as development:
        # Once a token is set it is needed in any environment.
        assert (await development.get("/metrics")).status_code == 401


async def test_large_answers_come_gzipped_with_the_edge_headers(client, tenant) -> None:
    """Compression sits inside the edge: the gzipped answer still has its request id and
    security headers; a small one (one account) is sent as it is."""
    response = await client.get("/schema/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["content-length"]) < len(response.content)
    assert response.json()["openapi"].startswith("3.")
    plain = await client.get("/schema/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == response.content
    one = await client.get(
        f"/api/v1/accounts/{tenant.accounts[0].id}",
        headers={**tenant.admin.headers, "Accept-Encoding": "gzip"},
    )
    assert one.status_code == 200
    assert "content-encoding" not in one.headers
