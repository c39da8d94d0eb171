"""A debtor's contact details as the API reads and writes them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from domain.debtors.schemas import UNSET, Country, Line, Unset

Kind = Literal["phone", "email", "address"]
# mobile, home, work and other for numbers and e-mail addresses; home, work and mailing for
# postal addresses.
ContactType = Literal["mobile", "home", "work", "other", "mailing"]
TYPES: dict[str, tuple[str, ...]] = {
    "phone": ("mobile", "home", "work", "other"),
    "email": ("mobile", "home", "work", "other"),
    "address": ("home", "work", "mailing"),
}
# The consents each kind may hold.
CONSENTS: dict[str, tuple[str, ...]] = {
    "phone": ("sms", "call"),
    "email": ("email",),
    "address": (),
}
ADDRESS_FIELDS = ("address_line1", "address_line2", "city", "region", "postal_code", "country")

Value = Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
How = Annotated[str, msgspec.Meta(max_length=200)]
City = Annotated[str, msgspec.Meta(max_length=100)]
Postal = Annotated[str, msgspec.Meta(max_length=20)]


class Consent(msgspec.Struct, kw_only=True):
    """Consent given: when it was recorded and how the debtor gave it."""

    at: dt.datetime
    how: str


class Contact(msgspec.Struct, kw_only=True):
    id: int
    debtor_id: int
    kind: str
    type: str
    value: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    preferred: bool
    sms_consent: Consent | None
    call_consent: Consent | None
    email_consent: Consent | None
    created_at: dt.datetime
    updated_at: dt.datetime


class _Create(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, tag_field="kind"):
    preferred: bool = False
    # How consent was given (``"said yes on a call"``); needed with each consent given.
    consent_how: How | None = None


class PhoneCreate(_Create, tag="phone"):
    type: Literal["mobile", "home", "work", "other"]
    # As typed: parsed in the debtor's country, kept in E.164.
    value: Value
    sms_consent: bool = False
    call_consent: bool = False


class EmailCreate(_Create, tag="email"):
    type: Literal["mobile", "home", "work", "other"]
    value: Value
    email_consent: bool = False


class AddressCreate(_Create, tag="address"):
    type: Literal["home", "work", "mailing"]
    address_line1: Annotated[str, msgspec.Meta(max_length=200, pattern=r"\S")]
    address_line2: Line | None = None
    city: City | None = None
    region: City | None = None
    postal_code: Postal | None = None
    country: Country | None = None


ContactCreate = PhoneCreate | EmailCreate | AddressCreate


class ContactUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: ContactType | Unset = UNSET
    value: Value | Unset = UNSET
    address_line1: Line | Unset | None = UNSET
    address_line2: Line | Unset | None = UNSET
    city: City | Unset | None = UNSET
    region: City | Unset | None = UNSET
    postal_code: Postal | Unset | None = UNSET
    country: Country | Unset | None = UNSET
    preferred: bool | Unset = UNSET
    sms_consent: bool | Unset = UNSET
    call_consent: bool | Unset = UNSET
    email_consent: bool | Unset = UNSET
    consent_how: How | Unset | None = UNSET
