"""Small server-rendered pages for people without an account: what went wrong with a link,
an opt-out confirmation, the sandbox provider's checkout. Everything is escaped."""

from __future__ import annotations

from html import escape

from litestar import Response

from server.security import PAGES_CSP


def page(
    title: str, body: str, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response[str]:
    """A complete, plain HTML page (``body`` must already be escaped HTML)."""
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/static/css/pay.css">
</head>
<body>
<main class="sheet">
{body}
</main>
</body>
</html>"""
    return Response(
        html,
        status_code=status,
        media_type="text/html",
        headers={
            "Cache-Control": "no-store",
            PAGES_CSP.name: PAGES_CSP.value or "",
            **(headers or {}),
        },
    )


def message(
    title: str, *paragraphs: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response[str]:
    body = "\n".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    return page(title, f"<h1>{escape(title)}</h1>\n{body}", status=status, headers=headers)
