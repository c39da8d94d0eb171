"""Small builders for the dynamic parts of statements (column names come from code, never input)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def assignments(columns: Iterable[str], start: int = 2) -> str:
    """``a = $2, b = $3`` for an UPDATE whose first parameter is the row id."""
    return ", ".join(f"{column} = ${i}" for i, column in enumerate(columns, start=start))


def placeholders(count: int, start: int = 1) -> str:
    return ", ".join(f"${i}" for i in range(start, start + count))


class Where:
    """A WHERE clause built from only the filters given, so each query plans on its own indexes."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def param(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, condition: str) -> None:
        self.conditions.append(condition)

    def copy(self) -> Where:
        """The same clause, to add to without changing this one."""
        other = Where()
        other.conditions = list(self.conditions)
        other.args = list(self.args)
        return other

    def sql(self) -> str:
        return " AND ".join(self.conditions) or "true"
