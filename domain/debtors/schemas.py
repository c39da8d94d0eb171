from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

Unset = msgspec.UnsetType
UNSET = msgspec.UNSET

Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\s].*$")]
NamePart = Annotated[str, msgspec.Meta(max_length=100)]
Line = Annotated[str, msgspec.Meta(max_length=200)]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
Custom = dict[str, Any]
CUSTOM_EDIT = (
    "custom field values to change, merged into the stored ones (RFC 7396, one level): a key "
    "sent is set, a key sent as null is removed, a key not sent is kept"
)


class Debtor(msgspec.Struct, kw_only=True):
    id: int
    external_ref: str | None
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    time_zone: str
    do_not_contact: bool
    opt_out_call: bool
    opt_out_sms: bool
    opt_out_email: bool
    cease_requested_at: dt.datetime | None
    custom: Custom
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class DebtorCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    external_ref: Ref | None = None
    first_name: NamePart = ""
    last_name: NamePart = ""
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    address_line1: Line | None = None
    address_line2: Line | None = None
    city: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    region: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    country: Country | None = None
    time_zone: str = "UTC"
    do_not_contact: bool = False
    opt_out_call: bool = False
    opt_out_sms: bool = False
    opt_out_email: bool = False
    custom: Custom = {}


class DebtorUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    external_ref: Ref | Unset | None = UNSET
    first_name: NamePart | Unset = UNSET
    last_name: NamePart | Unset = UNSET
    email: Annotated[str, msgspec.Meta(max_length=254)] | Unset | None = UNSET
    phone: Annotated[str, msgspec.Meta(max_length=32)] | Unset | None = UNSET
    address_line1: Line | Unset | None = UNSET
    address_line2: Line | Unset | None = UNSET
    city: Annotated[str, msgspec.Meta(max_length=100)] | Unset | None = UNSET
    region: Annotated[str, msgspec.Meta(max_length=100)] | Unset | None = UNSET
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] | Unset | None = UNSET
    country: Country | Unset | None = UNSET
    time_zone: str | Unset = UNSET
    do_not_contact: bool | Unset = UNSET
    opt_out_call: bool | Unset = UNSET
    opt_out_sms: bool | Unset = UNSET
    opt_out_email: bool | Unset = UNSET
    cease_requested: bool | Unset = UNSET
    custom: Annotated[
        Custom | Unset,
        msgspec.Meta(description=CUSTOM_EDIT),
    ] = UNSET
