from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

Channel = Literal["call", "email", "sms", "letter", "note"]
Direction = Literal["outbound", "inbound"]
Disposition = Literal[
    "right_party_contact",
    "no_answer",
    "left_message",
    "wrong_number",
    "promise",
    "dispute",
    "refusal",
    "callback_requested",
]


class Interaction(msgspec.Struct, kw_only=True):
    id: int
    account_id: int
    debtor_id: int
    user_id: int | None
    channel: Channel
    direction: Direction
    disposition: Disposition | None
    notes: str
    occurred_at: dt.datetime
    created_at: dt.datetime


class InteractionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    channel: Channel
    direction: Direction = "outbound"
    disposition: Disposition | None = None
    notes: Annotated[str, msgspec.Meta(max_length=10_000)] = ""
    occurred_at: dt.datetime | None = None
