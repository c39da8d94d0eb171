"""Opt-out links carried by every e-mail and SMS: signed, one debtor and one channel each."""

from __future__ import annotations

from typing import Any

from domain.signing import InvalidToken, sign, verify

PURPOSE = "recoup.opt-out"


def optout_token(secret: str, tenant_id: int, debtor_id: int, channel: str) -> str:
    return sign(secret, PURPOSE, [tenant_id, debtor_id, channel])


def optout_url(base_url: str, secret: str, tenant_id: int, debtor_id: int, channel: str) -> str:
    return f"{base_url}/optout/{optout_token(secret, tenant_id, debtor_id, channel)}"


def read_optout(secret: str, token: str) -> tuple[int, int, str]:
    payload: Any = verify(secret, PURPOSE, token)
    if (
        isinstance(payload, list)
        and len(payload) == 3
        and isinstance(payload[0], int)
        and isinstance(payload[1], int)
        and payload[2] in ("call", "sms", "email")
    ):
        return payload[0], payload[1], payload[2]
    raise InvalidToken("this link is not valid")
