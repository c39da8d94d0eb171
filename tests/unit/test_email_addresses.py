"""E-mail addresses as Recoup keeps them: one that looks like another's is refused."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from domain.validation import check_email


@pytest.mark.parametrize(
    "address",
    ["admin@demo.test", " admin@demo.test ", "zoë@exämple.test", "a.b+c@sub.example.co.uk"],
)
def test_addresses_pass_trimmed(address: str) -> None:
    assert check_email(address) == address.strip()


@pytest.mark.parametrize(
    "hidden",
    ["\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u00ad", "\x7f", "\u3000", "\u00a0"],
)
def test_an_invisible_character_anywhere_is_refused(hidden: str) -> None:
    for address in (f"admin@demo.test{hidden}x", f"ad{hidden}min@demo.test"):
        with pytest.raises(InvalidInput, match="is not an e-mail address"):
            check_email(address)


def test_the_refusal_says_what_is_wrong_with_a_lookalike() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_email("admin@demo.test\u200b")
    assert caught.value.detail.endswith("it holds an invisible character")
