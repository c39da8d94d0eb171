"""Turning what someone typed into a search box into a safe prefix query."""

from __future__ import annotations

import re

from domain.sql import Where

_WORD = re.compile(r"\w+", re.UNICODE)


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


def match_text(w: Where, text: str | None, *, vector: str, reference: str) -> None:
    """Add to ``w``: the words of ``text`` prefix-match the tsvector column ``vector``, or
    ``text`` starts the reference column ``reference`` (case-insensitively). Nothing if empty.

    References are matched apart from the words because the text parser splits them oddly
    (``CRM-99`` becomes ``crm`` and ``-99``).
    """
    tsquery, prefix = prefix_tsquery(text), like_prefix(text)
    alternatives = []
    if tsquery is not None:
        alternatives.append(f"{vector} @@ to_tsquery('simple', {w.param(tsquery)})")
    if prefix is not None:
        alternatives.append(f"lower({reference}) LIKE {w.param(prefix)}")
    if alternatives:
        w.add("(" + " OR ".join(alternatives) + ")")
