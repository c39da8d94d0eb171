"""Password policy, and Argon2id hashing off the event loop (a hash costs tens of milliseconds).

The policy: 8 to 256 characters, kept whole (nothing is truncated), and hard to guess by
zxcvbn's estimate (score 3 of 4: common and breached passwords, dictionary words, keyboard
walks, repeats, dates, the words of ``CONTEXT_WORDS`` and the user's own e-mail and name,
and their tenant's name, all count against it).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from domain.errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 8
MAX_LENGTH = 256
MIN_SCORE = 3
# zxcvbn's cost grows fast with length; what a password's first 72 characters are worth is a
# fair (lower) estimate of the whole, and bounds the work to a few hundred milliseconds.
_SCORED_LENGTH = 72
_ADVICE = "use a few uncommon words together, or a longer phrase"
# The words anyone would try first against a Recoup user (docs/security.md lists them): the
# product, the business and its roles. Each password also counts its user's e-mail and name
# and the tenant's name and slug as guessable.
CONTEXT_WORDS = (
    "recoup",
    "collections",
    "collector",
    "collection agency",
    "debt recovery",
    "debtor",
    "payment",
    "admin",
    "administrator",
    "supervisor",
    "readonly",
    "agent",
    "demo",
)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so that a miss costs as long as a hit."""
    return _hasher.hash("recoup-timing-equaliser")


def _guessable_words(user_inputs: Iterable[str | None]) -> list[str]:
    """The context words and the user's own (e-mail, name, tenant), whole and in parts, as
    zxcvbn's dictionary of the obvious."""
    words: list[str] = []
    for value in (*CONTEXT_WORDS, *user_inputs):
        if value:
            words.append(value.lower())
            words.extend(part for part in re.split(r"[^a-z0-9]+", value.lower()) if len(part) > 2)
    return words


def _weakness(password: str, user_inputs: list[str]) -> str | None:
    """None when ``password`` is hard enough to guess; otherwise what is wrong with it."""
    result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=user_inputs)
    if result["score"] >= MIN_SCORE:
        return None
    warning = result["feedback"]["warning"].rstrip(".")
    return warning or "it is too easy to guess"


async def check_password_strength(
    password: str, *, user_inputs: Iterable[str | None] = (), field: str = "password"
) -> str:
    """``password`` if the policy accepts it; else InvalidInput saying what to do instead.

    ``user_inputs``: the user's e-mail, name, tenant and the like, which make a password
    guessable (on top of ``CONTEXT_WORDS``).
    """
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_LENGTH} characters; {_ADVICE}", field=field
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"a password may have at most {MAX_LENGTH} characters", field=field)
    weakness = await asyncio.to_thread(_weakness, password, _guessable_words(user_inputs))
    if weakness is not None:
        raise InvalidInput(f"choose a stronger password ({weakness}): {_ADVICE}", field=field)
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    # An empty hash (the column's default: a user given no password) is no hash either: the
    # dummy's password, which anyone can read here, must not open it.
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; with no (or an empty) hash, spends the same time and says
    False."""
    return await asyncio.to_thread(_verify, password_hash, password)
