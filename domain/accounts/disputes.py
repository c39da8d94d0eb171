"""A dispute on an account: the debtor says the debt is not (all) theirs to pay.

While a dispute is open the account's status is ``disputed``, which pauses every contact
(``domain/compliance/rules.py``) until a person resolves it. Opening one is an audit row and
an ``account.updated`` event for everyone who watches the account; opening it again while it
is open changes nothing and answers with the dispute already open.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from domain.accounts import queries
from domain.accounts.audience import account_audience
from domain.accounts.service import AccountService
from domain.errors import Conflict
from domain.outbox import events
from domain.service import Service

# An account with nothing left to collect has nothing to dispute.
SETTLED = ("paid", "closed", "settled")


class OpenDispute(msgspec.Struct, kw_only=True):
    reason: str
    details: str
    opened_at: dt.datetime


def _open_dispute(row: asyncpg.Record) -> OpenDispute:
    return OpenDispute(
        reason=row["dispute_reason"] or "other",
        details=row["dispute_details"] or "",
        opened_at=row["disputed_at"],
    )


class DisputeService(Service):
    async def current(self, account_id: int) -> OpenDispute | None:
        """The account's open dispute, if it has one."""
        row = await queries.dispute(self.conn, account_id)
        return _open_dispute(row) if row is not None else None

    async def open(
        self, account_id: int, reason: str, details: str, *, source: str
    ) -> tuple[OpenDispute, bool]:
        """Open a dispute (or find the one open): what it is, and whether it was opened now."""
        accounts = self.using(AccountService)
        before = await accounts.get(account_id, for_update=True)
        if before.status == "disputed":
            row = await queries.dispute(self.conn, account_id)
            if row is not None:
                return _open_dispute(row), False
        elif before.status in SETTLED:
            raise Conflict(
                f"this account is {before.status}: there is nothing left to dispute",
                field="reason",
            )
        dispute = OpenDispute(reason=reason, details=details.strip(), opened_at=self.clock())
        await queries.update(
            self.conn,
            account_id,
            {
                "status": "disputed",
                "disputed_at": dispute.opened_at,
                "dispute_reason": dispute.reason,
                "dispute_details": dispute.details,
            },
        )
        after = await accounts.get_unrestricted(account_id)
        told = {**msgspec.to_builtins(dispute), "source": source}
        await self.changes.record(
            action="account.dispute",
            entity_type="account",
            entity_id=account_id,
            before={"status": before.status},
            after={"status": after.status, "dispute": told},
            event_type=events.ACCOUNT_UPDATED,
            channels=account_audience(account_id, after.owner_id),
            data={**msgspec.to_builtins(after), "changed": ["status"], "dispute": told},
        )
        return dispute, True
