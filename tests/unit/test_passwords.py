"""The password policy and hashing, at the function: both sides of each limit, each message."""

from __future__ import annotations

import pytest

from domain.auth.passwords import (
    CONTEXT_WORDS,
    _guessable_words,
    check_password_strength,
    hash_password,
    verify_password,
)
from domain.errors import InvalidInput

ADVICE = "use a few uncommon words together, or a longer phrase"
# Three of zxcvbn's four, the least the policy takes (about 2 * 10^8 guesses).
SCORE_3 = "copper kettle"


async def refusal(password: str, **kwargs) -> InvalidInput:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as refused:
        await check_password_strength(password, **kwargs)
    return refused.value


async def test_seven_characters_are_too_few_and_eight_reach_the_strength_check() -> None:
    short = await refusal("k7#Vq!z")
    assert str(short) == f"a password needs at least 8 characters; {ADVICE}"
    assert short.field == "password"
    # Eight random characters pass the length rule; zxcvbn still finds them guessable.
    eight = await refusal("k7#Vq!zM")
    assert str(eight) == f"choose a stronger password (it is too easy to guess): {ADVICE}"
    assert await check_password_strength("k7#Vq!zMw") == "k7#Vq!zMw"


async def test_256_characters_are_allowed_and_257_are_not() -> None:
    longest = SCORE_3 + " " + "x" * (256 - len(SCORE_3) - 1)
    assert await check_password_strength(longest) == longest
    too_long = await refusal(longest + "x")
    assert str(too_long) == "a password may have at most 256 characters"
    assert too_long.field == "password"


async def test_only_the_first_72_characters_are_scored() -> None:
    # A long run of one letter is guessable, whatever strong words come after it.
    weak_start = "a" * 72 + " saffron ferry timetable"
    refused = await refusal(weak_start)
    assert str(refused) == (
        f'choose a stronger password (Repeats like "aaa" are easy to guess): {ADVICE}'
    )


async def test_a_score_of_three_passes_and_two_is_refused_with_zxcvbns_warning() -> None:
    assert await check_password_strength(SCORE_3) == SCORE_3
    refused = await refusal("amber quay")
    assert str(refused) == (
        f"choose a stronger password (Common names and surnames are easy to guess): {ADVICE}"
    )


async def test_a_refusal_names_the_field_it_was_given() -> None:
    assert (await refusal("k7#Vq!z", field="new_password")).field == "new_password"
    assert (await refusal("x" * 257, field="new_password")).field == "new_password"
    assert (await refusal("password", field="new_password")).field == "new_password"
    assert (await refusal("password")).field == "password"


async def test_the_users_own_words_make_a_password_guessable() -> None:
    mine = ["quentin.harbourside@acme.io", "Quentin Harbourside", None, "Zephyr Logistics"]
    assert await check_password_strength("zephyr logistics") == "zephyr logistics"
    refused = await refusal("zephyr logistics", user_inputs=mine)
    assert str(refused) == f"choose a stronger password (it is too easy to guess): {ADVICE}"


def test_guessable_words_are_the_context_words_and_the_users_own_whole_and_in_parts() -> None:
    words = _guessable_words(["Jo.Smithers@ACME.io", None, "", "Ann Li"])
    context = []
    for word in CONTEXT_WORDS:
        context += [word, *(p for p in word.split() if len(p) > 2)]
    # Parts of two letters ("jo", "io", "li") are left out; three ("ann") count.
    assert words == [*context, "jo.smithers@acme.io", "smithers", "acme", "ann li", "ann"]


async def test_a_hash_verifies_only_its_own_password() -> None:
    hashed = await hash_password("saffron ferry timetable")
    assert hashed.startswith("$argon2id$")
    assert await verify_password(hashed, "saffron ferry timetable") is True
    assert await verify_password(hashed, "saffron ferry timetablE") is False
    assert await verify_password("not a hash", "saffron ferry timetable") is False


async def test_no_hash_verifies_nothing_not_even_the_timing_dummys_password() -> None:
    # The e-mail is unknown: the dummy hash is checked for the time it takes, never to let in.
    assert await verify_password(None, "recoup-timing-equaliser") is False
    assert await verify_password(None, "saffron ferry timetable") is False
    assert await verify_password("", "recoup-timing-equaliser") is False
