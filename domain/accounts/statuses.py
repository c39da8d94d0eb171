"""Account status changes made from the desk, and what the law attaches to each.

- ``disputed``: the debtor disputes the debt. Collection pauses (every channel, letters too)
  until a supervisor resolves it back to ``active``. The reason is one of the dispute reasons
  the debtor's page offers; it is the same dispute (``domain/accounts/disputes.py``).
- ``cease``: the debtor asked that contact cease. It is the debtor's request, so it stops
  contact (letters aside) about every account of theirs; the account's status stays.
- ``bankrupt``: the debtor filed for bankruptcy; the stay stops all contact, letters too.
- ``deceased``: the debtor died; no contact with them by any channel.
- ``settled``: an agreed settlement ends the collection.
- ``active``: a supervisor resolves an open dispute.

Collectors hear a dispute or a cease request on the phone and must honour it at once, so they
may record those two on the accounts they work; every other change, resolving a dispute
included, is a supervisor's or an admin's (API keys with ``accounts:write`` may make any).
Each change is one audit row and one ``account.updated`` event for the account's watchers.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from domain.accounts import queries
from domain.accounts.audience import balance_audience
from domain.accounts.disputes import DisputeService
from domain.accounts.schemas import Account
from domain.accounts.service import AccountService
from domain.custom_fields.service import CustomFieldService
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.outbox import events
from domain.service import Service

StatusChangeKind = Literal["disputed", "cease", "bankrupt", "deceased", "settled", "active"]
DISPUTE_REASONS = ("not_mine", "already_paid", "wrong_amount", "identity_theft", "other")

OPEN = frozenset({"active", "promised", "promise_broken"})
# The statuses each change may start from; any other answers 409 and changes nothing.
TRANSITIONS: dict[str, frozenset[str]] = {
    "disputed": OPEN,
    "cease": OPEN | {"disputed", "bankrupt"},
    "bankrupt": OPEN | {"disputed"},
    "deceased": OPEN | {"disputed", "bankrupt"},
    "settled": OPEN,
    "active": frozenset({"disputed"}),
}
# Statuses a person set with a reason (or a settlement agreed): only a status change moves an
# account out of them, never an edit or a workflow's ``set_status``.
DESK_HELD = frozenset({"disputed", "bankrupt", "deceased", "settled"})
# What a collector may record; the rest is for managers.
COLLECTOR_CHANGES = frozenset({"disputed", "cease"})


class StatusChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: StatusChangeKind
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    details: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class StatusChangeResult(msgspec.Struct, kw_only=True):
    account: Account
    change: StatusChangeKind
    reason: str
    details: str
    changed_at: dt.datetime
    stops_contact: bool


STOPS_CONTACT = frozenset({"disputed", "cease", "bankrupt", "deceased"})


class AccountStatusService(Service):
    async def change(self, account_id: int, data: StatusChange) -> StatusChangeResult:
        accounts = self.using(AccountService)
        before = await accounts.get(account_id, for_update=True)
        if self.actor.role == "collector" and data.status not in COLLECTOR_CHANGES:
            raise Forbidden(f"only a supervisor or an admin may mark an account {data.status}")
        if before.status not in TRANSITIONS[data.status]:
            raise Conflict(
                f"an account that is {before.status} cannot be marked {data.status}",
                field="status",
            )
        details = data.details.strip()
        now = self.clock()
        if data.status == "disputed":
            if data.reason not in DISPUTE_REASONS:
                raise InvalidInput(
                    f"a dispute's reason is one of {', '.join(DISPUTE_REASONS)}", field="reason"
                )
            await self.using(DisputeService).open(account_id, data.reason, details, source="desk")
        elif data.status == "cease":
            ceased = await self.conn.fetchval(
                "UPDATE debtors SET cease_requested_at = $2, updated_at = now() "
                "WHERE id = $1 AND cease_requested_at IS NULL RETURNING id",
                before.debtor_id,
                now,
            )
            if ceased is None:
                raise Conflict("the debtor already asked that contact cease", field="status")
            await self._record(before, before, data, details, now)
        else:
            changes: dict[str, object] = {"status": data.status}
            if data.status == "active":
                changes |= {"disputed_at": None, "dispute_reason": None, "dispute_details": None}
            await queries.update(self.conn, account_id, changes)
            await accounts.using(CustomFieldService).recompute_ids("account", [account_id])
            after = await accounts.get_unrestricted(account_id)
            await self._record(before, after, data, details, now)
        after = await accounts.get_unrestricted(account_id)
        return StatusChangeResult(
            account=after,
            change=data.status,
            reason=data.reason,
            details=details,
            changed_at=now,
            stops_contact=data.status in STOPS_CONTACT,
        )

    async def _record(
        self, before: Account, after: Account, data: StatusChange, details: str, now: dt.datetime
    ) -> None:
        told = {"change": data.status, "reason": data.reason, "details": details, "at": now}
        await self.changes.record(
            action=f"account.status.{data.status}",
            entity_type="account",
            entity_id=after.id,
            before={"status": before.status},
            after={"status": after.status, "status_change": told},
            event_type=events.ACCOUNT_UPDATED,
            channels=await balance_audience(self.conn, after.id, after.owner_id),
            data={
                **msgspec.to_builtins(after),
                "changed": ["status"],
                "status_change": msgspec.to_builtins(told),
            },
        )
