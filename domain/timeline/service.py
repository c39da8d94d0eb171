"""The account timeline: calls and notes, messages, payment links sent and opened, payments,
promises and how they ended, tasks and how they closed, status changes; newest first, in
pages whose cursor names its tenant and account (a cursor of another account's timeline is
refused, not read as a position in this one)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
from babel.dates import format_date
from babel.numbers import format_currency

from domain.accounts.service import AccountService
from domain.errors import InvalidInput
from domain.money import in_currency
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.service import Service
from domain.timeline import queries
from domain.timeline.schemas import TimelineEntry

_NOT_THIS = "cursor belongs to another timeline"


def _words(code: str | None) -> str:
    return (code or "").replace("_", " ")


def _money(details: dict[str, Any]) -> str:
    return format_currency(Decimal(details["amount"]), details["currency"], locale="en_US")


def summary(kind: str, d: dict[str, Any]) -> str:
    """One line a collector reads at a glance."""
    if kind == "interaction":
        if d["channel"] == "note":
            return "Note"
        line = f"{d['channel'].capitalize()} {d['direction']}"
        return f"{line} — {_words(d['disposition'])}" if d["disposition"] else line
    if kind == "message":
        channel = "SMS" if d["channel"] == "sms" else "E-mail"
        return f"{channel} to {d['to']} — {d['status']}"
    if kind == "payment_link_sent":
        # Made (and copied, or sent: a message of its own says so); not sent by itself.
        return "Payment link made" + (" (opened)" if d["opened_at"] else "")
    if kind == "payment_link_opened":
        return "Payment link opened"
    if kind == "payment":
        return f"Payment {_money(d)} by {_words(d['method'])} — {d['status']}"
    if kind == "promise":
        plan = f" ({d['instalment']}/{d['instalments']})" if d["instalments"] > 1 else ""
        due = format_date(dt.date.fromisoformat(d["due_date"]), "medium", locale="en_US")
        return f"Promise {_money(d)} by {due}{plan} — {d['status']}"
    if kind == "task_created":
        return f"{_words(d['type']).capitalize()} task created" + (
            f": {d['title']}" if d["title"] else ""
        )
    if kind == "task_closed":
        outcome = f" — {_words(d['outcome'])}" if d["outcome"] else ""
        return f"{_words(d['type']).capitalize()} task {d['status']}{outcome}"
    return f"Status {_words(d['from'])} → {_words(d['to'])}"


def to_entry(row: asyncpg.Record) -> TimelineEntry:
    details = dict(row["details"])
    if "amount" in details:
        # Held to the currency's digits, as every amount the API gives.
        details["amount"] = str(in_currency(Decimal(details["amount"]), details["currency"]))
    return TimelineEntry(
        kind=row["kind"],
        id=row["id"],
        at=row["at"],
        who=row["who"],
        summary=summary(row["kind"], details),
        details=details,
    )


# What an API key needs to see each kind of entry (the route itself needs accounts:read).
KIND_SCOPES = {
    "interaction": "interactions:read",
    "message": "interactions:read",
    "payment": "payments:read",
    "payment_link_sent": "payments:read",
    "payment_link_opened": "payments:read",
    "promise": "promises:read",
    "task_created": "tasks:read",
    "task_closed": "tasks:read",
}


class TimelineService(Service):
    def _kinds(self) -> list[str]:
        """The kinds the caller may see: every kind for a person (whose role the account's
        own check covers), for an API key those its scopes reach."""
        if self.actor.type != "api_key":
            return list(queries.KINDS)
        return [
            kind
            for kind in queries.KINDS
            if kind not in KIND_SCOPES or self.actor.has_scope(KIND_SCOPES[kind])
        ]

    async def page(
        self, account_id: int, *, cursor: str | None = None, limit: int = 50
    ) -> Page[TimelineEntry]:
        check_limit(limit)
        await self.using(AccountService).get(account_id)  # 404 unless the caller may see it
        tenant_id = self.actor.tenant_id
        before = queries.START
        if cursor:
            tenant, account, at, rank, entry_id = decode_cursor(
                cursor, tuple[int, int, dt.datetime, int, int]
            )
            if (tenant, account) != (tenant_id, account_id) or not 0 <= rank < len(queries.KINDS):
                raise InvalidInput(_NOT_THIS, field="cursor")
            if at.tzinfo is None:
                raise InvalidInput(_NOT_THIS, field="cursor")
            before = (at, rank, entry_id)
        rows = await queries.entries(
            self.conn, tenant_id, account_id, before, limit + 1, self._kinds()
        )
        items = [to_entry(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(tenant_id, account_id, last["at"], last["rank"], last["id"])
        return Page(items=items, next_cursor=next_cursor)
