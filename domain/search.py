"""Turning what someone typed into a search box into a safe prefix query."""

from __future__ import annotations

import re

from domain.sql import Where

_WORD = re.compile(r"\w+", re.UNICODE)
# What a phone number may be typed as: digits with spaces, dots, dashes, brackets, a plus.
_PHONE = re.compile(r"\+?[0-9 ().-]+")
# Fewer digits than this would match too many numbers to be a search for one.
_MIN_PHONE_DIGITS = 4


def prefix_tsquery(text: str | None) -> str | None:
    """``"ann smi"`` -> ``"ann:* & smi:*"``; words only, so no tsquery syntax gets through."""
    if not text:
        return None
    words = _WORD.findall(text.lower())[:8]
    return " & ".join(f"{w}:*" for w in words) or None


def like_prefix(text: str | None) -> str | None:
    """A LIKE pattern matching values that start with ``text`` (lower-cased, escaped)."""
    if not text or not text.strip():
        return None
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def phone_digits(text: str | None) -> str | None:
    """The digits of what looks like a phone number (``"(555) 010-0100"`` -> ``"5550100100"``),
    or None when ``text`` is not one."""
    if not text or not _PHONE.fullmatch(text.strip()):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    return digits if len(digits) >= _MIN_PHONE_DIGITS else None


def match_text(
    w: Where,
    text: str | None,
    *,
    vector: str,
    reference: str,
    debtor: str | None = None,
) -> None:
    """Add to ``w``: the words of ``text`` prefix-match the tsvector column ``vector``, or
    ``text`` starts the reference column ``reference`` (case-insensitively); with ``debtor``
    (the debtors table's alias), or starts one of its e-mail addresses, or a phone number's
    digits end one of its numbers' (any of its contact details). Nothing if empty.

    References are matched apart from the words because the text parser splits them oddly
    (``CRM-99`` becomes ``crm`` and ``-99``); e-mail addresses and phone numbers likewise
    (each has an index of its own).
    """
    tsquery, prefix = prefix_tsquery(text), like_prefix(text)
    alternatives = []
    if tsquery is not None:
        alternatives.append(f"{vector} @@ to_tsquery('simple', {w.param(tsquery)})")
    if prefix is not None:
        alternatives.append(f"lower({reference}) LIKE {w.param(prefix)}")
    if debtor is not None and prefix is not None and "@" in prefix:
        alternatives.append(
            f"EXISTS (SELECT 1 FROM debtor_contacts c WHERE c.debtor_id = {debtor}.id "
            f"AND c.kind = 'email' AND lower(c.value) LIKE {w.param(prefix)})"
        )
    digits = phone_digits(text)
    if debtor is not None and digits is not None:
        ending = w.param(digits[::-1] + "%")
        phone = "reverse(regexp_replace(c.value, '\\D', '', 'g'))"
        alternatives.append(
            f"EXISTS (SELECT 1 FROM debtor_contacts c WHERE c.debtor_id = {debtor}.id "
            f"AND c.kind = 'phone' AND {phone} LIKE {ending})"
        )
    if alternatives:
        w.add("(" + " OR ".join(alternatives) + ")")
