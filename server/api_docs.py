"""The API reference: Swagger UI 5 from the swagger-ui-py wheel, so the docs work offline.

The page loads the bundle and its stylesheet from ``/schema-assets``, a start-up script of
ours and our stylesheet over the theme (its colours darkened to meet AA contrast), and
fetches the schema from ``/schema/openapi.json``: no CDN and no inline script, so it runs
under ``API_DOCS_CSP``.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath
from litestar.response import File

from server.security import API_DOCS_CSP

ASSETS_PATH = "/schema-assets"
# Only what the page loads; the wheel's own sample pages (which fetch a remote spec) stay out.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
}


@lru_cache(maxsize=1)
def _assets_dir() -> Path:
    """The wheel's static files, found without importing the package (and its templating)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(spec.submodule_search_locations[0]) / "static"


class ApiDocs(SwaggerRenderPlugin):
    def __init__(self) -> None:
        super().__init__(
            path="/",
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema["info"]["title"]))
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="{self.css_url}">
<link rel="stylesheet" href="/static/css/api-docs.css">
<script src="{self.js_url}" defer></script>
<script src="/static/js/api-docs.js" defer></script>
</head>
<body>
<div id="swagger-container"></div>
</body>
</html>""".encode()

    def receive_router(self, router: Router) -> None:
        """No OAuth2 redirect page: the API takes bearer tokens, not an OAuth2 flow."""


@get(f"{ASSETS_PATH}/{{name:str}}", opt={"exclude_from_auth": True}, include_in_schema=False)
async def api_docs_asset(name: FromPath[str]) -> File:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise NotFoundException(f"nothing at {ASSETS_PATH}/{name}")
    return File(
        _assets_dir() / name,
        content_disposition_type="inline",
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )


def api_docs_router() -> Router:
    """The router OpenAPIConfig serves the docs from: every page of it under API_DOCS_CSP."""
    return Router(
        path="/schema", route_handlers=[], include_in_schema=False, response_headers=[API_DOCS_CSP]
    )
