"""Signed tokens for links that act without a login (payment pages, opt-outs).

itsdangerous signs a small JSON payload with the server's secret and a purpose (salt), so a
token made for one purpose is worthless for another and any change to it is detected.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from domain.errors import RecoupError


class InvalidToken(RecoupError):
    status = 404
    slug = "invalid-link"
    title = "This link is not valid"


def sign(secret: str, purpose: str, payload: Any) -> str:
    return URLSafeSerializer(secret, salt=purpose).dumps(payload)


def verify(secret: str, purpose: str, token: str) -> Any:
    try:
        return URLSafeSerializer(secret, salt=purpose).loads(token)
    except BadSignature:
        raise InvalidToken("this link is not valid (it may have been mistyped)") from None
