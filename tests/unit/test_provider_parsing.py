"""Provider events as delivered: which parts are read, in what units, and what is refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from domain.payments import providers
from domain.validation import INT64_MAX


def delivered(obj: Any, **top: Any) -> bytes:
    """A Stripe-shaped event around ``obj``, its ``data.object``."""
    return msgspec.json.encode(
        {"id": "evt_1", "type": "payment_intent.succeeded", **top, "data": {"object": obj}}
    )


def test_every_part_we_use_is_read_as_delivered() -> None:
    parsed = providers.parse(
        delivered(
            {
                "id": "pi_1",
                "amount": 4000,
                "currency": "usd",
                "last_payment_error": {"message": "card declined", "code": "card_declined"},
            },
            type="charge.failed",
        )
    )
    assert parsed == providers.ProviderEvent(
        id="evt_1",
        type="charge.failed",
        payment_ref="pi_1",
        amount=Decimal("40.00"),
        currency="USD",
        failure_reason="card declined",
    )


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ({"amount_received": 4000, "amount_total": 3000, "amount": 2000}, "40.00"),
        ({"amount_total": 3000, "amount": 2000}, "30.00"),
        ({"amount": 2000}, "20.00"),
        ({"amount_received": 0, "amount_total": 3000}, "0.00"),
    ],
    ids=["received first", "then the total", "then the amount", "zero received"],
)
def test_the_amount_received_comes_first_then_the_total_then_the_amount(
    amounts: dict[str, int], expected: str
) -> None:
    parsed = providers.parse(delivered({"id": "pi_1", "currency": "usd", **amounts}))
    assert str(parsed.amount) == expected


@pytest.mark.parametrize(
    ("currency", "minor", "expected"),
    [("jpy", 4000, "4000"), ("usd", 4000, "40.00"), ("bhd", 4000, "4.000"), ("EUR", 5, "0.05")],
)
def test_minor_units_become_the_currencys_decimals(
    currency: str, minor: int, expected: str
) -> None:
    parsed = providers.parse(delivered({"id": "pi_1", "amount": minor, "currency": currency}))
    assert (str(parsed.amount), parsed.currency) == (expected, currency.upper())


@pytest.mark.parametrize(
    ("obj", "currency"),
    [
        ({"amount": 4000}, None),
        ({"amount": 4000, "currency": ""}, None),
        ({"amount": 4000, "currency": None}, None),
        ({"currency": "usd"}, "USD"),
        ({"amount": None, "currency": "usd"}, "USD"),
    ],
    ids=["no currency", "empty currency", "null currency", "no amount", "null amount"],
)
def test_an_amount_needs_both_a_number_and_a_currency(obj: dict, currency: str | None) -> None:
    parsed = providers.parse(delivered({"id": "pi_1", **obj}))
    assert (parsed.amount, parsed.currency) == (None, currency)


@pytest.mark.parametrize("amount", [INT64_MAX, -INT64_MAX])
def test_the_largest_whole_amount_either_way_is_read(amount: int) -> None:
    parsed = providers.parse(delivered({"id": "pi_1", "amount": amount, "currency": "jpy"}))
    assert parsed.amount == Decimal(amount)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (INT64_MAX + 1, str(INT64_MAX + 1)),
        (-INT64_MAX - 1, str(-INT64_MAX - 1)),
        (True, "True"),
        (False, "False"),
        (40.5, "40.5"),
        ("4000", "'4000'"),
    ],
    ids=["2**63", "-2**63", "true", "false", "a fraction", "text"],
)
def test_an_amount_not_a_whole_number_of_minor_units_is_refused_by_name(
    amount: Any, shown: str
) -> None:
    with pytest.raises(providers.InvalidEvent) as refused:
        providers.parse(delivered({"id": "pi_1", "amount": amount, "currency": "usd"}))
    assert refused.value.detail == (
        f"the event is not one we understand: amount {shown} is not a whole number of minor units"
    )


@pytest.mark.parametrize(
    ("obj", "ref"),
    [({"id": "pi_1"}, "pi_1"), ({"id": 17}, None), ({"id": None}, None), ({}, None)],
    ids=["text", "a number", "null", "missing"],
)
def test_only_a_text_id_is_the_payment_reference(obj: dict, ref: str | None) -> None:
    assert providers.parse(delivered(obj)).payment_ref == ref


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ({"message": "card declined"}, "card declined"),
        ({"code": "card_declined"}, None),
        (None, None),
        ("card declined", None),
        (["card declined"], None),
        ({"message": 42}, None),
        ({"message": {"text": "card declined"}}, None),
    ],
    ids=["a message", "no message", "null", "text", "a list", "a number", "an object"],
)
def test_the_failure_reason_is_the_last_errors_message(error: Any, reason: str | None) -> None:
    parsed = providers.parse(delivered({"id": "pi_1", "last_payment_error": error}))
    assert parsed.failure_reason == reason


def test_a_numeric_event_id_and_type_are_read_as_text() -> None:
    parsed = providers.parse(delivered({}, id=42, type=7))
    assert (parsed.id, parsed.type) == ("42", "7")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"id": "evt_1", "type": "x"}', "the event is not one we understand: 'data'"),
        (b'{"type": "x", "data": {"object": {}}}', "the event is not one we understand: 'id'"),
        (
            delivered({"id": "pi_1", "currency": "xyz", "amount": 1}),
            "the event is not one we understand: 'XYZ' is not an ISO 4217 currency in use",
        ),
        (
            b'{"id": "evt_1", "type": "x", "data": {"object": []}}',
            "the event is not one we understand: 'list' object has no attribute 'get'",
        ),
    ],
    ids=["no data", "no id", "unknown currency", "object not an object"],
)
def test_an_event_we_cannot_read_says_what_is_wrong(body: bytes, detail: str) -> None:
    with pytest.raises(providers.InvalidEvent) as refused:
        providers.parse(body)
    assert refused.value.detail == detail


def test_an_event_nesting_too_deeply_says_so() -> None:
    body = b'{"id":"evt","type":"x","data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(providers.InvalidEvent) as refused:
        providers.parse(body)
    assert refused.value.detail == "the event nests too deeply to read"
