"""Opt-out links: each names one debtor of one tenant and one channel, and nothing else
signed with the same purpose passes for one."""

from __future__ import annotations

from typing import Any

import pytest

from domain.compliance.optout import PURPOSE, optout_token, optout_url, read_optout
from domain.signing import InvalidToken, sign

SECRET = "a secret long enough for the tests"


@pytest.mark.parametrize("channel", ["call", "sms", "email"])
def test_a_link_reads_back_its_tenant_debtor_and_channel(channel: str) -> None:
    url = optout_url("https://pay.example", SECRET, 7, 42, channel)
    prefix = "https://pay.example/optout/"
    assert url.startswith(prefix)
    token = url[len(prefix) :]
    assert token == optout_token(SECRET, 7, 42, channel)
    assert read_optout(SECRET, token) == (7, 42, channel)


@pytest.mark.parametrize(
    "payload",
    [
        [7, 42, "letter"],
        [7, 42],
        [7, 42, "sms", "extra"],
        ["7", 42, "sms"],
        [7, "42", "sms"],
        {"0": 7, "1": 42, "2": "sms"},
        "sms",
    ],
    ids=["letter", "short", "long", "tenant-text", "debtor-text", "object", "text"],
)
def test_a_signed_payload_of_another_shape_is_not_a_link(payload: Any) -> None:
    with pytest.raises(InvalidToken) as refused:
        read_optout(SECRET, sign(SECRET, PURPOSE, payload))
    assert refused.value.detail == "this link is not valid"


def test_a_link_for_another_purpose_or_secret_is_not_valid() -> None:
    with pytest.raises(InvalidToken):
        read_optout(SECRET, sign(SECRET, "recoup.pay", [7, 42, "sms"]))
    with pytest.raises(InvalidToken):
        read_optout("another secret entirely", optout_token(SECRET, 7, 42, "sms"))
