"""Workflow conditions: CEL expressions over ``account``, ``debtor``, ``event`` and ``tenant``.

CEL is evaluated by ``common-expression-language`` (the Rust implementation behind a Python
binding): it reports a syntax error's line and column, and a compiled program evaluated
against a prepared context runs in a few microseconds, where ``cel-python`` (pure Python)
takes about a millisecond. Money reaches CEL exactly, as integer minor units
(``account.balance_minor >= 50000`` is 500.00 in a two-digit currency), never as a float.

A program is compiled once per expression (and so per workflow version) and cached. Saving a
workflow checks each condition: its syntax, then an evaluation against a sample of every
variable, which finds unknown variables and fields and operations on the wrong types
(``account.status > 3``), pointing at the line and column.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import cel

from domain.errors import InvalidInput

VARIABLES = ("account", "debtor", "event", "tenant")
# What running someone's expression may raise: the engine turns CEL's errors into Python
# exceptions of many kinds (KeyError, IndexError, OverflowError, RuntimeError, ...). Each
# is the expression's fault, said to whoever wrote it, never a server error.
EVALUATION_ERRORS: tuple[type[Exception], ...] = (Exception,)
# Maps whose keys vary by row: a missing key there is not a mistake in the expression.
_OPEN_MAPS = ("custom", "data")


class ConditionError(InvalidInput):
    """A condition that cannot be compiled or evaluated, with where in it the fault is."""

    def __init__(self, detail: str, *, field: str, line: int, column: int) -> None:
        super().__init__(detail, field=field, line=line, column=column)
        self.line = line
        self.column = column


@lru_cache(maxsize=4096)
def compiled(source: str) -> cel.Program:
    """The program of an expression, compiled on first use (raises ``ValueError``)."""
    return cel.compile(source)


def minor_units(amount: Decimal | str | None, digits: int) -> int | None:
    """An amount as an integer count of its currency's minor units, exactly."""
    if amount is None:
        return None
    return int(Decimal(amount).scaleb(digits).to_integral_value())


def context(variables: Mapping[str, Any]) -> cel.Context:
    """A context to evaluate any number of conditions against (built once per account)."""
    ctx = cel.Context()
    ctx.update(dict(variables))
    return ctx


def holds(source: str, ctx: cel.Context) -> bool:
    """Whether the condition is true; an expression that errors or is not a boolean at
    run time raises ``ValueError`` with CEL's message."""
    try:
        result = compiled(source).execute(ctx)
    except EVALUATION_ERRORS as exc:
        raise ValueError(_runtime_message(exc)) from exc
    if not isinstance(result, bool):
        raise ValueError(f"the condition gives {_type_name(result)}, not true or false")
    return result


class Batch:
    """Many conditions evaluated together against one context per subject: the distinct
    expressions as one CEL list, so that an event meets every workflow of its trigger in a
    single evaluation, and a context that holds only the variables they use. Each
    expression's truth is what ``holds`` would give it (an error, or a result that is not
    true or false, as the ``ValueError`` it would raise)."""

    def __init__(self, sources: list[str]) -> None:
        self.sources = tuple(dict.fromkeys(sources))
        self.program = _as_list(self.sources)
        if self.program is not None:
            self.uses = frozenset(self.program.variables()) & frozenset(VARIABLES)
        else:
            self.uses = frozenset(VARIABLES)

    def context(self, variables: Mapping[str, Any]) -> cel.Context:
        return context({name: variables[name] for name in self.uses})

    def truth(self, ctx: cel.Context) -> dict[str, bool | ValueError]:
        if self.program is not None and self.sources:
            try:
                results = self.program.execute(ctx)
            except EVALUATION_ERRORS:
                pass  # one of them fails: each on its own finds which, with its message
            else:
                return {
                    source: result if isinstance(result, bool) else _truth(source, ctx)
                    for source, result in zip(self.sources, results, strict=True)
                }
        return {source: _truth(source, ctx) for source in self.sources}


def all_hold(group: Sequence[str], truth: Mapping[str, bool | ValueError]) -> bool:
    """Whether every condition of ``group`` holds, taken in order as ``all`` would: the
    first that cannot be evaluated raises its ``ValueError``, unless one before is false."""
    for source in group:
        found = truth[source]
        if isinstance(found, ValueError):
            raise found
        if not found:
            return False
    return True


def _truth(source: str, ctx: cel.Context) -> bool | ValueError:
    try:
        return holds(source, ctx)
    except ValueError as exc:
        return exc


@lru_cache(maxsize=1024)
def _as_list(sources: tuple[str, ...]) -> cel.Program | None:
    # Each on lines of its own, so that a comment at the end of one ends there.
    try:
        return cel.compile("[\n" + ",\n".join(f"({s}\n)" for s in sources) + "\n]")
    except ValueError:
        return None


_SYNTAX = re.compile(r"<input>:(\d+):(\d+): (.*)")


# CEL's comprehensions (``list.map(x, ...)`` and the like) loop over a list; one within
# another multiplies, and a few nested over short lists run for minutes on the server that
# checks or evaluates them. An expression may hold one.
_COMPREHENSION = re.compile(r"\.\s*(all|exists_one|exists|map|filter)\s*\(")
_LOOP_VARIABLE = re.compile(r"\.\s*(?:all|exists_one|exists|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


# Elements written out in list literals: a comprehension over one, building another in its
# body, multiplies the two (CEL has no repetition operator; literals are the only way to
# make a long list out of nothing).
MAX_LIST_ELEMENTS = 200


def code_only(source: str) -> str:
    """``source`` with its comments and the insides of its string literals blanked (same
    length, same lines): what is left is the expression's own syntax, which a comment
    between ``.`` and ``map`` cannot hide."""
    out = list(source)
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if source.startswith("//", i):
            end = source.find("\n", i)
            end = n if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
            continue
        if char in "\"'":
            raw = i > 0 and source[i - 1] in "rR"
            quote = source[i : i + 3] if source.startswith(char * 3, i) else char
            j = i + len(quote)
            while j < n and not source.startswith(quote, j):
                j += 2 if source[j] == "\\" and not raw else 1
            end = min(j, n)
            out[i + len(quote) : end] = " " * max(0, end - i - len(quote))
            i = end + len(quote)
            continue
        i += 1
    return "".join(out)


def _list_elements(code: str) -> int:
    """Elements written out in ``code``'s list literals (its commas inside brackets, and
    each non-empty bracket's first element)."""
    count, stack, empty = 0, [], True
    for char in code:
        if char in "([{":
            stack.append(char)
            if char == "[":
                empty = True
        elif char in ")]}":
            if stack and stack.pop() == "[" and not empty:
                count += 1
            empty = False
        elif stack and stack[-1] == "[":
            if char == ",":
                count += 1
            elif not char.isspace():
                empty = False
    return count


def loop_variables(source: str) -> frozenset[str]:
    """The names a comprehension binds (``x`` in ``list.exists(x, x > 1)``): CEL lists
    them among the expression's variables, but they are not the caller's to provide."""
    return frozenset(_LOOP_VARIABLE.findall(code_only(source)))


def costly(source: str) -> str | None:
    """Why ``source`` would cost too much to evaluate (None when it would not)."""
    code = code_only(source)
    found = _COMPREHENSION.findall(code)
    if len(found) > 1:
        return (
            f"at most one of all, exists, exists_one, map and filter in an expression "
            f"(this one has {len(found)})"
        )
    elements = _list_elements(code)
    if elements > MAX_LIST_ELEMENTS:
        return (
            f"at most {MAX_LIST_ELEMENTS} elements written out in lists "
            f"(this expression has {elements})"
        )
    return None


def check(source: str, *, field: str, sample: Mapping[str, Any]) -> None:
    """Refuse (422) a condition with a syntax error, an unknown name or a type error,
    naming the line and column; ``sample`` holds a value of every variable's fields."""
    if "\x00" in source:
        raise ConditionError("a condition cannot contain NUL", field=field, line=1, column=1)
    too_much = costly(source)
    if too_much:
        raise ConditionError(f"{field}: {too_much}", field=field, line=1, column=1)
    try:
        program = compiled(source)
    except ValueError as exc:
        found = _SYNTAX.search(str(exc))
        if found is None:
            raise ConditionError(f"{field}: {exc}", field=field, line=1, column=1) from exc
        line, column, message = int(found[1]), int(found[2]), found[3].strip()
        raise ConditionError(
            f"{field}: {message} at line {line}, column {column}",
            field=field,
            line=line,
            column=column,
        ) from exc
    _check_names(program, source, field)
    ctx = context(sample)
    # `a && b` is false whenever a is, whatever b does: each top-level clause is also tried
    # alone, so that a fault in one the sample never reaches is found as well.
    clauses = _clauses(source)
    parts = [(0, source)] + (clauses if len(clauses) > 1 else [])
    for offset, part in parts:
        try:
            result = compiled(part).execute(ctx)
        except KeyError as exc:
            name = str(exc.args[0]) if exc.args else ""
            if _in_open_map(part, name):
                continue
            line, column = _position(source, rf"\.\s*({re.escape(name)})\b", offset)
            raise ConditionError(
                f"{field}: there is no field '{name}' at line {line}, column {column}",
                field=field,
                line=line,
                column=column,
            ) from exc
        except EVALUATION_ERRORS as exc:
            line, column = _failing_clause(source, ctx) if offset == 0 else _start(source, offset)
            raise ConditionError(
                f"{field}: {_runtime_message(exc)} (at line {line}, column {column})",
                field=field,
                line=line,
                column=column,
            ) from exc
        if offset == 0 and not isinstance(result, bool):
            raise ConditionError(
                f"{field}: the condition gives {_type_name(result)}, not true or false",
                field=field,
                line=1,
                column=1,
            )


def _check_names(program: cel.Program, source: str, field: str) -> None:
    bound = loop_variables(source)
    for name in program.variables():
        if name in bound and name not in VARIABLES:
            continue
        if name not in VARIABLES:
            line, column = _position(source, rf"(?<![\w.])({re.escape(name)})\b")
            raise ConditionError(
                f"{field}: unknown name '{name}' at line {line}, column {column} "
                f"(conditions can use {', '.join(VARIABLES)})",
                field=field,
                line=line,
                column=column,
            )


def _in_open_map(source: str, name: str) -> bool:
    """Whether ``name`` is only read as a key of a map whose keys vary by row."""
    return any(
        re.search(rf"\b{key}\s*\.\s*{re.escape(name)}\b", source) for key in _OPEN_MAPS
    ) or any(
        re.search(rf"\b{key}\s*\[\s*[\"']{re.escape(name)}[\"']", source) for key in _OPEN_MAPS
    )


def _position(source: str, pattern: str, start: int = 0) -> tuple[int, int]:
    """Line and column (from 1) of the first group of ``pattern`` in ``source``."""
    found = re.search(pattern, source[start:])
    offset = start + (found.start(1) if found else 0)
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _failing_clause(source: str, ctx: cel.Context) -> tuple[int, int]:
    """Where the first top-level clause (between ``&&`` and ``||``) that fails on its own
    starts; the whole expression's start when no single clause fails alone."""
    for offset, clause in _clauses(source):
        try:
            cel.compile(clause).execute(ctx)
        except KeyError as exc:
            if not _in_open_map(clause, str(exc.args[0]) if exc.args else ""):
                return _start(source, offset)
        except Exception:
            return _start(source, offset)
    return 1, 1


def _start(source: str, offset: int) -> tuple[int, int]:
    """Line and column of the first character at or after ``offset`` that is not a space."""
    return _position(source, r"(\S)", offset)


def _clauses(source: str) -> list[tuple[int, str]]:
    clauses: list[tuple[int, str]] = []
    depth, start, quote, i = 0, 0, "", 0
    while i < len(source):
        char = source[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and source[i : i + 2] in ("&&", "||"):
            clauses.append((start, source[start:i]))
            start = i + 2
            i += 1
        i += 1
    clauses.append((start, source[start:]))
    return clauses


def _runtime_message(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"there is no field {exc.args[0]!r}" if exc.args else "a field is missing"
    message = str(exc).split(". ")[0].strip()
    return message or type(exc).__name__


def _type_name(value: Any) -> str:
    names = {int: "a number", float: "a number", str: "text", list: "a list", dict: "a map"}
    if value is None:
        return "null"
    if isinstance(value, dt.datetime):
        return "a timestamp"
    return names.get(type(value), type(value).__name__)
