"""Contact compliance against the database: the flags and history of one account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from domain.accounts.service import AccountService
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.compliance import queries
from domain.compliance.rules import (
    CHANNELS,
    CONVERSATION_DISPOSITIONS,
    Channel,
    Decision,
    Flags,
    History,
    decide,
)
from domain.db import Connection
from domain.errors import NotFound, RecoupError
from domain.tenancy.schemas import ContactRules

# Far enough back for a 7-day frequency window and a quiet period of up to 30 days.
_LOOKBACK = dt.timedelta(days=31)
CONVERSATIONS = sorted(CONVERSATION_DISPOSITIONS)


class ContactNotAllowed(RecoupError):
    status = 409
    slug = "contact-not-allowed"
    title = "Contact not allowed now"


class ChannelStatus(msgspec.Struct, kw_only=True):
    channel: str
    allowed: bool
    reasons: list[dict[str, str]]
    opens_at: dt.datetime | None


class ContactStatus(msgspec.Struct, kw_only=True):
    account_id: int
    time_zone: str
    debtor_local_time: dt.datetime
    channels: list[ChannelStatus]
    # The tenant's contact hours on the debtor's clock, and the channels they bind, so a
    # screen can say "debtor local 20:41 — calls close at 21:00".
    window_start: str
    window_end: str
    window_channels: list[str]


async def load(conn: Connection, account_id: int, at: dt.datetime) -> tuple[str, Flags, History]:
    states = await queries.contact_states(conn, [account_id], *state_window(at))
    if not states:
        raise NotFound(f"account {account_id} not found")
    return states[0]["time_zone"], _flags(states[0]), _history(states[0])


def _flags(state: Mapping[str, Any]) -> Flags:
    return Flags(
        do_not_contact=state["do_not_contact"],
        cease_requested=state["cease_requested"],
        dispute_open=state["account_status"] == "disputed",
        bankrupt=state["account_status"] == "bankrupt",
        deceased=state["account_status"] == "deceased",
        opt_out_call=state["opt_out_call"],
        opt_out_sms=state["opt_out_sms"],
        opt_out_email=state["opt_out_email"],
    )


async def decisions(
    conn: Connection,
    account_ids: list[int],
    channel: Channel,
    at: dt.datetime,
    rules: ContactRules,
) -> dict[int, Decision]:
    """``decision`` for many accounts in one statement (a worklist, a batch of candidates)."""
    if not account_ids:
        return {}
    states = await queries.contact_states(conn, account_ids, *state_window(at))
    return {s["state_account_id"]: decide_state(s, channel, at, rules) for s in states}


def state_window(at: dt.datetime) -> tuple[dt.datetime, dt.datetime, list[str]]:
    """The parameters ``queries.state_of`` takes for a decision at ``at``: since, until and
    the dispositions that make a call a conversation."""
    return at - _LOOKBACK, at, CONVERSATIONS


def _history(state: Mapping[str, Any]) -> History:
    return History(
        call_attempts=tuple(state["attempts"]), conversations=tuple(state["conversations"])
    )


def decide_state(
    state: Mapping[str, Any], channel: Channel, at: dt.datetime, rules: ContactRules
) -> Decision:
    """Decide from a row of ``queries.state_of`` (however it was fetched)."""
    return decide(channel, at, state["time_zone"], rules, _flags(state), _history(state))


async def decision(
    conn: Connection, account_id: int, channel: Channel, at: dt.datetime, rules: ContactRules
) -> Decision:
    time_zone, flags, history = await load(conn, account_id, at)
    return decide(channel, at, time_zone, rules, flags, history)


async def require_allowed(
    conn: Connection, account_id: int, channel: Channel, at: dt.datetime, rules: ContactRules
) -> None:
    """Refuse (409) an outbound contact that breaks a rule, naming it and when contact opens."""
    time_zone, flags, history = await load(conn, account_id, at)
    found = decide(channel, at, time_zone, rules, flags, history)
    if found.allowed:
        return
    raise refusal(channel, found, time_zone)


def debtor_time(moment: dt.datetime, time_zone: str) -> str:
    """A moment as the debtor's clock shows it, the zone named: "Mon 7 Dec 2026 08:00
    debtor time (America/New_York)"."""
    local = moment.astimezone(ZoneInfo(time_zone))
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} debtor time ({time_zone})"


def refusal(channel: Channel, found: Decision, time_zone: str = "UTC") -> ContactNotAllowed:
    """The 409 for a contact ``found`` refuses: the first rule in words, all of them, and
    when contact opens again in the debtor's time (none while a block such as an opt-out
    stands); ``next_allowed_at`` carries the same moment for programs."""
    first = found.refusals[0]
    when = (
        f"; next allowed {debtor_time(found.opens_at, time_zone)}"
        if found.opens_at
        else "; it stays closed until the block is lifted"
    )
    return ContactNotAllowed(
        f"{channel} not allowed: {first.message}{when}",
        field="channel",
        rule=first.rule,
        rules=[r.rule for r in found.refusals],
        next_allowed_at=found.opens_at.isoformat() if found.opens_at else None,
    )


async def status(
    conn: Connection, account_id: int, at: dt.datetime, rules: ContactRules
) -> ContactStatus:
    time_zone, flags, history = await load(conn, account_id, at)
    channels = []
    for channel in CHANNELS:
        found = decide(channel, at, time_zone, rules, flags, history)
        channels.append(
            ChannelStatus(
                channel=channel,
                allowed=found.allowed,
                reasons=[{"rule": r.rule, "message": r.message} for r in found.refusals],
                opens_at=found.opens_at,
            )
        )
    return ContactStatus(
        account_id=account_id,
        time_zone=time_zone,
        debtor_local_time=at.astimezone(ZoneInfo(time_zone)),
        channels=channels,
        window_start=rules.window_start,
        window_end=rules.window_end,
        window_channels=list(rules.window_channels),
    )


async def account_status(
    conn: Connection,
    actor: Actor,
    account_id: int,
    clock: Clock = utcnow,
) -> ContactStatus:
    """``status`` of an account the actor may see (404 otherwise), under its tenant's rules."""
    accounts = AccountService(conn, actor, clock)
    account = await accounts.get(account_id)
    tenant = await accounts.tenant()
    return await status(conn, account.id, clock(), tenant.settings.contact)
