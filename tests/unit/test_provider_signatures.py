"""Stripe-format signatures: only the form Stripe writes is read, whatever else arrives."""

from __future__ import annotations

import time

import msgspec
import pytest

from domain.payments import providers

SECRET = "whsec_unit"
BODY = b'{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{}}}'
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))


def test_a_valid_signature_verifies() -> None:
    providers.verify(BODY, providers.sign(SECRET, BODY), [SECRET])


@pytest.mark.parametrize(
    "header",
    [
        # The right digest for the right time, with the time in other digits.
        lambda t, v1: f"t={str(t).translate(ARABIC_INDIC)},v1={v1}",
        lambda t, v1: f"t=\u00b2,v1={v1}",
        lambda t, v1: f"t={'9' * 5000},v1={v1}",
        lambda t, v1: f"t={'9' * 4000},v1={v1}",
        lambda t, v1: f"t={t:+d},v1={v1}",
        lambda t, v1: f"t= {t},v1={v1}",
        lambda t, v1: f"t={t}.0,v1={v1}",
        lambda t, v1: f"t={t},v1=\u00e9{v1[1:]}",
        lambda t, v1: f"t={t},v1={v1.upper()}",
        lambda t, v1: f"t={t},v1={v1}\x00",
        lambda t, v1: f"t={t},v1=",
    ],
)
def test_any_other_form_is_an_invalid_signature(header) -> None:  # type: ignore[no-untyped-def]
    t = int(time.time())
    v1 = providers.sign(SECRET, BODY, t).split("v1=")[1]
    with pytest.raises(providers.InvalidSignature):
        providers.verify(BODY, header(t, v1), [SECRET])


def event(obj: dict, **top: object) -> bytes:
    return msgspec.json.encode(
        {"id": "evt_1", "type": "payment_intent.succeeded", **top, "data": {"object": obj}}
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"id":"evt","type":"x","data":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        event({"id": "pi_1", "amount": 100, "currency": "usd"}, id="evt_\x00"),
        event({"id": "pi_\x00", "amount": 100, "currency": "usd"}),
        event({"id": "pi_1", "amount": 100, "currency": "usd", "note": "\x00"}),
        event({"id": "pi_1", "amount": "\u0661\u0660\u0660", "currency": "usd"}),
        event({"id": "pi_1", "amount": 1e300, "currency": "usd"}),
        event({"id": "pi_1", "amount": 2**63, "currency": "usd"}),
        event({"id": "pi_1", "amount": True, "currency": "usd"}),
    ],
)
def test_an_event_we_could_not_store_or_read_is_invalid(body: bytes) -> None:
    with pytest.raises(providers.InvalidEvent):
        providers.parse(body)


def test_an_event_in_minor_units_parses() -> None:
    parsed = providers.parse(event({"id": "pi_1", "amount": 4000, "currency": "usd"}))
    assert (parsed.payment_ref, str(parsed.amount), parsed.currency) == ("pi_1", "40.00", "USD")


NOW = 1_800_000_000
TOLERANCE = providers.TOLERANCE_SECONDS


@pytest.mark.parametrize(
    "offset",
    [-TOLERANCE, -TOLERANCE + 1, 0, TOLERANCE - 1, TOLERANCE],
    ids=["-tolerance", "-tolerance+1s", "now", "+tolerance-1s", "+tolerance"],
)
def test_a_timestamp_within_the_tolerance_either_way_verifies(offset: int) -> None:
    header = providers.sign(SECRET, BODY, NOW + offset)
    providers.verify(BODY, header, [SECRET], now=NOW)


@pytest.mark.parametrize(
    "offset",
    [-TOLERANCE - 1, TOLERANCE + 1, -86_400, 86_400],
    ids=["-tolerance-1s", "+tolerance+1s", "a day old", "a day ahead"],
)
def test_a_timestamp_past_the_tolerance_either_way_is_refused(offset: int) -> None:
    header = providers.sign(SECRET, BODY, NOW + offset)
    with pytest.raises(providers.InvalidSignature) as refused:
        providers.verify(BODY, header, [SECRET], now=NOW)
    assert refused.value.detail == "the signature's timestamp is outside the tolerance window"


def test_a_signature_made_now_carries_the_current_time() -> None:
    before = int(time.time())
    header = providers.sign(SECRET, BODY)
    after = int(time.time())
    t, v1 = header.split(",")
    assert before <= int(t.removeprefix("t=")) <= after
    assert v1 == providers.sign(SECRET, BODY, int(t.removeprefix("t="))).split(",")[1]


def test_spaces_around_the_parts_of_the_header_are_read_past() -> None:
    t, v1 = providers.sign(SECRET, BODY, NOW).split(",")
    providers.verify(BODY, f" {t} , {v1} ", [SECRET], now=NOW)


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "the Stripe-Signature header is missing"),
        ("", "the Stripe-Signature header is missing"),
        ("t=soon,v1=" + "0" * 64, "the signature's timestamp is not a Unix time"),
        (f"t={NOW}=0,v1=" + "0" * 64, "the signature's timestamp is not a Unix time"),
        (f"t={NOW}", "the Stripe-Signature header has no timestamp or no v1 signature"),
        ("v1=" + "0" * 64, "the Stripe-Signature header has no timestamp or no v1 signature"),
        (f"t={NOW},v1=abc", "the Stripe-Signature header has no timestamp or no v1 signature"),
        (f"t={NOW},v1=" + "0" * 64, "no signature matches"),
    ],
    ids=["none", "empty", "words", "two equals signs", "no v1", "no t", "short v1", "wrong v1"],
)
def test_each_refusal_says_what_is_wrong(header: str | None, detail: str) -> None:
    with pytest.raises(providers.InvalidSignature) as refused:
        providers.verify(BODY, header, [SECRET], now=NOW)
    assert refused.value.detail == detail


def test_a_right_digest_under_another_scheme_than_v1_is_not_read() -> None:
    digest = providers.sign(SECRET, BODY, NOW).split("v1=")[1]
    with pytest.raises(providers.InvalidSignature) as refused:
        providers.verify(BODY, f"t={NOW},v0={digest}", [SECRET], now=NOW)
    assert refused.value.detail == "the Stripe-Signature header has no timestamp or no v1 signature"


def test_any_of_our_secrets_matching_any_v1_verifies() -> None:
    ours = providers.sign(SECRET, BODY, NOW).split(",")[1]
    other = providers.sign("whsec_other", BODY, NOW).split(",")[1]
    for header in (f"t={NOW},{ours},{other}", f"t={NOW},{other},{ours}"):
        providers.verify(BODY, header, ["whsec_retired", SECRET], now=NOW)
        providers.verify(BODY, header, [SECRET, "whsec_retired"], now=NOW)
    with pytest.raises(providers.InvalidSignature, match=r"^no signature matches$"):
        providers.verify(BODY, f"t={NOW},{other}", ["whsec_retired", SECRET], now=NOW)


def test_the_signature_covers_the_timestamp() -> None:
    digest = providers.sign(SECRET, BODY, NOW).split("v1=")[1]
    with pytest.raises(providers.InvalidSignature, match=r"^no signature matches$"):
        providers.verify(BODY, f"t={NOW + 1},v1={digest}", [SECRET], now=NOW)
