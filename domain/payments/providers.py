"""Payment providers' webhooks: Stripe-format signatures and the events we act on.

``Stripe-Signature: t=<unix time>,v1=<hex>,v1=<hex>`` signs ``"{t}.{body}"`` with
HMAC-SHA256. Several v1 values arrive while a secret is being rotated; any one that matches
any of our secrets will do. The timestamp must be within the tolerance either way, so an
old delivery cannot be replayed. The built-in sandbox provider signs exactly like this.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from decimal import Decimal
from typing import Any

import msgspec

from domain.errors import InvalidInput, RecoupError
from domain.money import minor_digits
from domain.validation import INT64_MAX, check_json

TOLERANCE_SECONDS = 300


class InvalidSignature(RecoupError):
    status = 400
    slug = "invalid-signature"
    title = "Webhook signature not valid"


class InvalidEvent(RecoupError):
    status = 400
    slug = "invalid-event"
    title = "Webhook event not understood"


class ProviderEvent(msgspec.Struct, kw_only=True):
    id: str
    type: str
    payment_ref: str | None
    amount: Decimal | None
    currency: str | None
    failure_reason: str | None


SUCCEEDED = frozenset(
    {"payment_intent.succeeded", "checkout.session.completed", "charge.succeeded"}
)
FAILED = frozenset({"payment_intent.payment_failed", "charge.failed", "checkout.session.expired"})


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """A Stripe-format signature header (used by the sandbox provider and the tests)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


# Only what Stripe writes: a Unix time in ASCII digits, and lowercase hex SHA-256 digests.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


def verify(
    body: bytes,
    header: str | None,
    secrets: list[str],
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    if not header:
        raise InvalidSignature("the Stripe-Signature header is missing")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            if not _TIMESTAMP.fullmatch(value):
                raise InvalidSignature("the signature's timestamp is not a Unix time")
            timestamp = int(value)
        elif key == "v1" and _DIGEST.fullmatch(value):
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("the Stripe-Signature header has no timestamp or no v1 signature")
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise InvalidSignature("the signature's timestamp is outside the tolerance window")
    signed = f"{timestamp}.".encode() + body
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return
    raise InvalidSignature("no signature matches")


def _minor_units(amount: Any) -> int:
    """An amount as Stripe sends it: a whole number of minor units."""
    if isinstance(amount, bool) or not isinstance(amount, int) or abs(amount) > INT64_MAX:
        raise ValueError(f"amount {amount!r} is not a whole number of minor units")
    return amount


def parse(body: bytes) -> ProviderEvent:
    """The parts of a Stripe-shaped event we use (amounts arrive in minor units). The event
    is kept as delivered, so one PostgreSQL could not store (NUL, deep nesting) is refused."""
    try:
        raw = msgspec.json.decode(body)
        check_json(raw)
        obj = raw["data"]["object"]
        currency = str(obj.get("currency") or "").upper() or None
        amount = obj.get("amount_received", obj.get("amount_total", obj.get("amount")))
        decimal = (
            Decimal(_minor_units(amount)).scaleb(-minor_digits(currency))
            if amount is not None and currency
            else None
        )
        error = obj.get("last_payment_error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        return ProviderEvent(
            id=str(raw["id"]),
            type=str(raw["type"]),
            payment_ref=obj.get("id") if isinstance(obj.get("id"), str) else None,
            amount=decimal,
            currency=currency,
            failure_reason=message if isinstance(message, str) else None,
        )
    except RecursionError:
        raise InvalidEvent("the event nests too deeply to read") from None
    except (
        msgspec.DecodeError,
        InvalidInput,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
    ) as exc:
        raise InvalidEvent(f"the event is not one we understand: {exc}") from None
