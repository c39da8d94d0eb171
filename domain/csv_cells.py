"""Cells a spreadsheet will not run as formulas (CSV injection, OWASP): one home for the
rule, in Python for files written here and in SQL for files PostgreSQL writes (exports).

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with an apostrophe, which a spreadsheet shows as the text it is. Only text cells
are guarded: a number column's ``-12.50`` is a number, not a formula.
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` as a text cell a spreadsheet will not run as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


_SQL_STARTS = ", ".join(
    "E'\\t'" if c == "\t" else "E'\\r'" if c == "\r" else f"'{c}'" for c in FORMULA_START
)


def safe_cell_sql(expression: str) -> str:
    """SQL for ``safe_cell(expression)`` (a text expression; NULL stays NULL)."""
    return (
        f"CASE WHEN left({expression}, 1) IN ({_SQL_STARTS}) "
        f"THEN '''' || {expression} ELSE {expression} END"
    )
