"""Checks shared by several areas: time zones, e-mail addresses, phone numbers."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Any

import msgspec

from domain.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-.]{3,30}$")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(name: str, *, field: str = "time_zone") -> str:
    if name not in _zones():
        raise InvalidInput(
            f"{name!r} is not an IANA time zone (such as America/Chicago)", field=field
        )
    return name


def check_email(value: str, *, field: str = "email") -> str:
    value = value.strip()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidInput(f"{value!r} is not an e-mail address", field=field)
    return value


def check_phone(value: str, *, field: str = "phone") -> str:
    value = value.strip()
    if not _PHONE.match(value):
        raise InvalidInput(
            f"{value!r} is not a phone number (digits, optionally with a leading +)", field=field
        )
    return value


_MAX_CUSTOM_KEYS = 100
_MAX_CUSTOM_BYTES = 16 * 1024
_CUSTOM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_custom(custom: dict[str, Any], *, field: str = "custom") -> dict[str, Any]:
    """Custom fields: a flat-named JSON object of modest size."""
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
