"""Custom field definitions as the API reads and writes them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final, Literal

import msgspec

Entity = Literal["debtor", "account"]
FieldType = Literal[
    "string",
    "number",
    "boolean",
    "date",
    "email",
    "phone",
    "url",
    "json",
    "select",
    "multi_select",
    "computed",
]
FIELD_TYPES: Final = FieldType.__args__  # type: ignore[attr-defined]
CHOICE_TYPES: Final = ("select", "multi_select")

# A custom field as imports, filters, exports and task rules name it: ``custom.<key>`` of
# the account, ``debtor.custom.<key>`` of its debtor.
CUSTOM_PATH: Final = re.compile(r"^(debtor\.)?custom\.([A-Za-z_][A-Za-z0-9_]{0,62})$")


def custom_path(name: str) -> tuple[str, str] | None:
    """``(entity, key)`` of a name such as ``debtor.custom.score``; None for any other."""
    found = CUSTOM_PATH.match(name)
    if found is None:
        return None
    return ("debtor" if found[1] else "account", found[2])


Key = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Option = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Options = Annotated[list[Option], msgspec.Meta(max_length=200)]
Expression = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Position = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class CustomField(msgspec.Struct, kw_only=True):
    """One key of the ``custom`` object of a tenant's debtors or accounts."""

    id: int
    entity: Entity
    key: str
    label: str
    type: FieldType
    options: list[str]
    expression: str | None
    position: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomFieldCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    entity: Entity
    key: Key
    label: Label
    type: FieldType
    options: Options = []
    expression: Expression | None = None
    position: Position = 0


class CustomFieldUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The key and the entity stay (the stored values are found by them)."""

    label: Label | Unset = UNSET
    type: FieldType | Unset = UNSET
    options: Options | Unset = UNSET
    expression: Expression | Unset | None = UNSET
    position: Position | Unset = UNSET
