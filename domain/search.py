"""Turning what someone typed into a search box into a safe prefix query."""

from __future__ import annotations

import re

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
