"""Interactions: every contact attempt, conversation and note on an account."""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from domain.accounts.audience import account_audience
from domain.accounts.service import AccountService
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.compliance import service as compliance
from domain.db import Connection
from domain.debtors.service import DebtorService
from domain.errors import InvalidInput
from domain.interactions import queries
from domain.interactions.schemas import Interaction, InteractionCreate
from domain.outbox import events
from domain.pagination import Page, check_limit, decode_cursor, page
from domain.service import Service

# Replies that opt a debtor out of text messages, as carriers and the CTIA define them.
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT OUT", "REVOKE"}
)
# A little room for clocks that run ahead of ours.
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def to_interaction(row: asyncpg.Record) -> Interaction:
    return Interaction(**dict(row))


class InteractionService(Service):
    def __init__(self, conn: Connection, actor: Actor, clock: Clock = utcnow) -> None:
        super().__init__(conn, actor, clock)
        self.accounts = self.using(AccountService)

    async def log(self, account_id: int, data: InteractionCreate) -> Interaction:
        account = await self.accounts.get(account_id)
        now = self.clock()
        occurred_at = data.occurred_at or now
        if occurred_at.tzinfo is None:
            raise InvalidInput("occurred_at needs a time zone offset", field="occurred_at")
        if occurred_at > now + _FUTURE_TOLERANCE:
            raise InvalidInput("occurred_at is in the future", field="occurred_at")
        if data.channel == "note" and data.disposition is not None:
            raise InvalidInput("a note has no disposition", field="disposition")
        if data.direction == "outbound" and data.channel != "note":
            tenant = await self.tenant()
            await compliance.require_allowed(
                self.conn, account.id, data.channel, occurred_at, tenant.settings.contact
            )
        row = await queries.insert(
            self.conn,
            tenant_id=self.actor.tenant_id,
            account_id=account.id,
            debtor_id=account.debtor_id,
            user_id=self.actor.id if self.actor.is_user else None,
            channel=data.channel,
            direction=data.direction,
            disposition=data.disposition,
            notes=data.notes,
            occurred_at=occurred_at,
        )
        interaction = to_interaction(row)
        await self.changes.record(
            action="interaction.log",
            entity_type="interaction",
            entity_id=interaction.id,
            before=None,
            after=msgspec.to_builtins(interaction),
            event_type=events.INTERACTION_LOGGED,
            channels=account_audience(account.id, account.owner_id),
        )
        if (
            data.channel == "sms"
            and data.direction == "inbound"
            and data.notes.strip().upper() in STOP_WORDS
        ):
            # A debtor texting STOP has opted out, as of this message.
            await self.using(DebtorService).opt_out(account.debtor_id, "sms")
        return interaction

    async def list(
        self, account_id: int, *, cursor: str | None = None, limit: int = 50
    ) -> Page[Interaction]:
        check_limit(limit)
        await self.accounts.get(account_id)  # 404 unless the viewer may see the account
        before = (
            decode_cursor(cursor, tuple[dt.datetime, int], tenant_id=self.actor.tenant_id)
            if cursor
            else None
        )
        rows = await queries.for_account(self.conn, account_id, before=before, limit=limit + 1)
        return page(
            [to_interaction(r) for r in rows],
            limit,
            lambda i: (i.occurred_at, i.id),
            tenant_id=self.actor.tenant_id,
        )
