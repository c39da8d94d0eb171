"""msgspec's refusals of a request's values, said as people would say them.

msgspec writes "Expected `str` of length >= 1 - at `$.email`"; the problem document already
names the field (``email``), so its message says only what is wrong: "must not be empty".
A message with no words here is passed on as msgspec wrote it.
"""

from __future__ import annotations

import re

# The schemas' patterns as people would describe them (msgspec says "Expected `str` matching
# regex '^[A-Z]{3}$'").
PATTERN_WORDS = {
    r"^[A-Za-z_][A-Za-z0-9_]{0,62}$": (
        "letters, digits and _ only, starting with a letter or _, at most 63 characters"
    ),
    r"^[A-Z]{3}$": "a currency's three capital letters, such as USD",
    r"^[A-Z]{2}$": "a country's two capital letters, such as US",
    r"^\S(.*\S)?$": "text that neither starts nor ends with a space",
    r"^[^\s].*$": "text that does not start with a space",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": "a time of day as HH:MM, such as 08:30",
    r"^(\+?[0-9][0-9 ()./-]{3,30})?$": "a phone number: digits, optionally with a leading +",
    r"^(https://[!#-&(-;=?-~]+)?$": "an https:// address",
    r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$": "an event type such as payment.received",
    r"^[a-z][a-z0-9_.]{0,59}$": "lowercase letters, digits, _ and dots, starting with a letter",
}

# msgspec's names of JSON kinds, in words.
KINDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
    "date": "a date as YYYY-MM-DD",
    "datetime": "a date and time, such as 2026-12-03T09:30:00Z",
    "time": "a time of day",
    "decimal": "a decimal string, such as 12.50",
    "uuid": "a UUID",
    "bytes": "base64 text",
}
# What was sent instead: a number is "a number" there, whatever the field wanted.
_GOT = {**KINDS, "int": "a number", "float": "a number with a fraction"}
_BOUND_WORDS = {">=": "at least", "<=": "at most", ">": "more than", "<": "less than"}

_PLACE = re.compile(r" - at `\$[^`]*`$")
_PATTERN = re.compile(r"Expected `str` matching regex '(.*)'")
_MISSING = re.compile(r"Object missing required field `[^`]+`")
_UNKNOWN = re.compile(r"Object contains unknown field `[^`]+`")
_LENGTH = re.compile(r"Expected `(str|array|object)` of length (>=|<=) (\d+)")
_NUMBER = re.compile(r"Expected `(?:int|float)` (>=|<=|>|<) (-?[0-9.e+]+)")
_KIND = re.compile(r"Expected `([^`]+)`, got `([^`]+)`")
_INVALID = re.compile(r"Invalid RFC3339 encoded (date|datetime|time)")
_ENUM = re.compile(r"Invalid enum value (.+)")


def in_words(message: str) -> str:
    """``message`` (msgspec's, or Litestar's, about one field) said in words."""
    if message.startswith("Unsupported type: <class 'list'>"):
        return "sent more than once: send it once"  # a form's part repeated (two files)
    bare = _PLACE.sub("", message)
    said = _said(bare)
    return message if said is None else said


def _said(bare: str) -> str | None:
    if found := _PATTERN.fullmatch(bare):
        words = PATTERN_WORDS.get(found[1].replace("\\\\", "\\"))  # msgspec doubles each \
        return f"must be {words}" if words else None
    if _MISSING.fullmatch(bare):
        return "is required"
    if _UNKNOWN.fullmatch(bare):
        return "is not a field this request takes"
    if found := _LENGTH.fullmatch(bare):
        kind, op, n = found[1], found[2], int(found[3])
        if kind == "str":
            return (
                "must not be empty"
                if (op, n) == (">=", 1)
                else (f"must be {_BOUND_WORDS[op]} {n} character{'s' * (n != 1)}")
            )
        if kind == "array":
            return (
                "must list at least one"
                if (op, n) == (">=", 1)
                else (f"must list {_BOUND_WORDS[op]} {n}")
            )
        return f"must have {_BOUND_WORDS[op]} {n} key{'s' * (n != 1)}"
    if found := _NUMBER.fullmatch(bare):
        return f"must be {_BOUND_WORDS[found[1]]} {found[2]}"
    if found := _KIND.fullmatch(bare):
        wanted = [KINDS.get(k.strip(), k.strip()) for k in found[1].split("|")]
        got = _GOT.get(found[2], found[2])
        return f"must be {' or '.join(wanted)}, not {got}"
    if found := _INVALID.fullmatch(bare):
        return f"must be {KINDS[found[1]]}"
    if found := _ENUM.fullmatch(bare):
        value = found[1] if len(found[1]) <= 40 else found[1][:39] + "…"
        return f"is not one of the values this field takes ({value})"
    return None
