"""The browser screens: plain HTML, CSS and ES modules served as they are (no build step)."""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.datastructures import CacheControlHeader
from litestar.response import File
from litestar.static_files import create_static_files_router

from server.security import SCREENS_CSP

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
# What /static serves: the pages' modules, styles and components. The pages themselves are
# served only by their routes, with their policy.
ASSET_DIRECTORIES = ("js", "css", "components")
_PUBLIC = {"opt": {"exclude_from_auth": True}, "include_in_schema": False}


def _page(name: str) -> File:
    return File(
        FRONTEND / name,
        content_disposition_type="inline",
        media_type="text/html",
        headers={"Cache-Control": "no-cache"},
    )


@get(
    [
        "/",
        "/accounts",
        "/accounts/{account_id:int}",
        "/admin",
        "/admin/users",
        "/admin/groups",
        "/admin/api-keys",
        "/admin/settings",
        "/admin/queues",
        "/admin/rules",
        "/admin/rules/new",
        "/admin/rules/{rule_id:int}",
        "/admin/audit",
        "/admin/imports",
        "/admin/imports/{import_id:int}",
        "/admin/fields",
        "/me",
        "/queue",
        "/team",
        "/wallboard",
        "/webhooks",
        "/webhooks/{endpoint_id:int}",
        "/workflows",
        "/workflows/new",
        "/workflows/{workflow_id:int}",
        "/workflows/{workflow_id:int}/runs",
        "/workflows/runs/{run_id:int}",
        "/templates",
        "/templates/new",
        "/templates/{template_id:int}",
        "/messages",
        "/reports",
        "/reports/aging",
        "/reports/liquidation",
        "/reports/promises",
        "/reports/collectors",
    ],
    **_PUBLIC,
)
async def app_frame() -> File:
    """Every signed-in screen starts from the app frame; its router picks the screen."""
    return _page("index.html")


@get("/login", **_PUBLIC)
async def login_page() -> File:
    return _page("login.html")


@get("/favicon.ico", **_PUBLIC)
async def favicon() -> File:
    """The icon every page links (and browsers ask for by this name anyway)."""
    return File(
        FRONTEND / "favicon.ico",
        content_disposition_type="inline",
        media_type="image/vnd.microsoft.icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def frontend_router() -> Router:
    assets = [
        create_static_files_router(
            path=f"/static/{directory}",
            directories=[FRONTEND / directory],
            opt={"exclude_from_auth": True},
            include_in_schema=False,
            # Revalidate every time (cheap with ETags), so a new release is seen at once.
            cache_control=CacheControlHeader(no_cache=True),
        )
        for directory in ASSET_DIRECTORIES
    ]
    return Router(
        path="/",
        route_handlers=[app_frame, login_page, favicon, *assets],
        # The screens load nothing from elsewhere and run no inline script.
        response_headers=[SCREENS_CSP],
    )
