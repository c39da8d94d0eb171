"""Checks shared by several areas: what PostgreSQL can hold (bigints, text without NUL,
JSON of modest depth), time zones, e-mail addresses, phone numbers."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zoneinfo
from functools import lru_cache
from typing import Annotated, Any

import msgspec
import phonenumbers

from domain.errors import InvalidInput

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Every integer a client sends goes into a bigint column or parameter; msgspec reads any size.
Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
Id = Int64

# Deep enough for any body Recoup takes; shallow enough to decode, walk and store safely.
MAX_JSON_DEPTH = 32
# The days a date may name. The driver writes the first and last day Python knows
# (0001-01-01, 9999-12-31) as PostgreSQL's -infinity and infinity, which no date arithmetic
# takes (an account due "infinity" broke its tenant's exports and aging report); no debt,
# payment or period of this business lies outside these.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


def check_day(day: dt.date, *, field: str) -> dt.date:
    """``day``, or a 422 naming ``field`` when it lies outside ``FIRST_DAY``..``LAST_DAY``."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            f"{field} must be a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}",
            field=field,
        )
    return day


def json_path(path: str, key: str | int) -> str:
    """``path`` one step further in: ``custom.tags`` and 1 make ``custom.tags[1]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def check_json(value: Any, *, field: str = "", max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse decoded JSON that PostgreSQL cannot store: a NUL character in any string or key,
    or nesting deeper than ``max_depth`` objects and arrays. The error names the place, as in
    ``debtor.first_name`` or ``custom.tags[1]`` (``field`` is the path of ``value`` itself)."""
    stack: list[tuple[Any, str, int]] = [(value, field, 1)]
    while stack:
        item, path, depth = stack.pop()
        where = path or "body"
        if isinstance(item, str) and "\x00" in item:
            raise InvalidInput(f"{where} must not contain NUL characters", field=where)
        if not isinstance(item, (dict, list)):
            continue
        if depth > max_depth:
            raise InvalidInput(f"{where} nests deeper than {max_depth} levels", field=where)
        if isinstance(item, list):
            stack.extend((v, json_path(path, n), depth + 1) for n, v in enumerate(item))
            continue
        if any(isinstance(key, str) and "\x00" in key for key in item):
            raise InvalidInput(f"the keys of {where} must not contain NUL characters", field=where)
        stack.extend((v, json_path(path, k), depth + 1) for k, v in item.items())


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{3,30}$")


# Files of the zone directory that are not zones (the machine's own "localtime", the
# "posixrules" default) and IANA's placeholder "Factory".
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
# The zones PostgreSQL knows (its own zone data, which may be older than Python's): set once
# a process has reached the database. A zone it does not know fails every query that uses it.
_database_zones: frozenset[str] | None = None


def know_database_zones(names: frozenset[str]) -> None:
    global _database_zones
    _database_zones = names
    _zones.cache_clear()


def database_zones_known() -> bool:
    return _database_zones is not None


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    zones = zoneinfo.available_timezones() - _NOT_ZONES
    return frozenset(zones if _database_zones is None else zones & _database_zones)


def name_text(value: str, *, field: str = "name") -> str:
    """A name as it is kept: without surrounding spaces, and never blank."""
    name = value.strip()
    if not name:
        raise InvalidInput(f"{field} cannot be blank", field=field)
    return name


def check_time_zone(name: str, *, field: str = "time_zone") -> str:
    if name not in _zones():
        newer = zoneinfo.available_timezones() - _NOT_ZONES
        if _database_zones is not None and name in newer:
            raise InvalidInput(
                f"{name!r} is too new for this server's database (its zone data is older); "
                "choose a zone with the same offsets",
                field=field,
            )
        raise InvalidInput(
            f"{name!r} is not an IANA time zone (such as America/Chicago)", field=field
        )
    return name


def check_email(value: str, *, field: str = "email") -> str:
    value = value.strip()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidInput(f"{value!r} is not an e-mail address", field=field)
    # Invisible characters (zero-width spaces, direction marks, controls, separators) would
    # make an address that looks like another's.
    if any(unicodedata.category(c)[0] in "CZ" for c in value):
        raise InvalidInput(
            f"{value!r} is not an e-mail address: it holds an invisible character", field=field
        )
    return value


def check_phone(value: str, *, field: str = "phone") -> str:
    value = value.strip()
    if not _PHONE.match(value):
        raise InvalidInput(
            f"{value!r} is not a phone number (digits, optionally with a leading +)", field=field
        )
    return value


def phone_e164(value: str, region: str | None, *, field: str = "value") -> str:
    """A phone number as typed (``(212) 555-0123``, with ``region`` the country it is dialled
    from when it has no ``+``) in E.164 (``+12125550123``); refused unless it is a real one."""
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        where = f" in {region}" if region and not value.strip().startswith("+") else ""
        raise InvalidInput(f"{value!r} is not a valid phone number{where}", field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_MAX_CUSTOM_KEYS = 100
_MAX_CUSTOM_BYTES = 16 * 1024
_MAX_CUSTOM_DEPTH = 8
_CUSTOM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_custom(custom: dict[str, Any], *, field: str = "custom") -> dict[str, Any]:
    """Custom fields: a flat-named JSON object of modest size and depth."""
    check_json(custom, field=field, max_depth=_MAX_CUSTOM_DEPTH)
    if len(custom) > _MAX_CUSTOM_KEYS:
        raise InvalidInput(f"{field} may hold at most {_MAX_CUSTOM_KEYS} fields", field=field)
    for key in custom:
        if not _CUSTOM_KEY.match(key):
            raise InvalidInput(
                f"{field} key {key!r} must start with a letter and hold only letters, digits "
                "and underscores (at most 63)",
                field=f"{field}.{key}",
            )
    if len(msgspec.json.encode(custom)) > _MAX_CUSTOM_BYTES:
        raise InvalidInput(f"{field} is larger than {_MAX_CUSTOM_BYTES} bytes", field=field)
    return custom
