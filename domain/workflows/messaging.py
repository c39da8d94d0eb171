"""Sending the messages workflows queue: e-mail over SMTP, texts through an SMS provider.

A message is queued in the transaction that decided it and sent by a job after that commits
(at least once: a worker that dies mid-send leaves it queued). Each send checks the debtor's
contact rules again at that moment, goes out, and is logged as an interaction on the
account; then the run that sent it goes on. A transient failure (the server unreachable, a
4xx reply) tries again with a growing delay; a permanent one (a 5xx reply, an address
refused), or the last try, fails the message and stops its run with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from domain.actor import system_actor
from domain.clock import Clock, utcnow
from domain.compliance import service as compliance
from domain.compliance.service import ContactNotAllowed
from domain.db import Database
from domain.interactions.schemas import InteractionCreate
from domain.interactions.service import InteractionService
from domain.service import Service
from domain.workflows import queries

MAX_ATTEMPTS = 8
FIRST_RETRY = dt.timedelta(seconds=30)
LAST_RETRY = dt.timedelta(hours=1)


class SendError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class Transport(Protocol):
    name: str

    async def send(self, message: Any) -> None: ...


class Mailbox:
    """Development e-mail: the message row is the mailbox the admin screen shows."""

    name = "mailbox"

    async def send(self, message: Any) -> None:
        return None


class DevSms:
    """Development texts: stored, never sent (the mailbox shows them too)."""

    name = "dev-sms"

    async def send(self, message: Any) -> None:
        return None


def message_id(message: int, sender: str) -> str:
    """The e-mail's Message-ID: the same on every try of one message (sending is at least
    once: a worker or database that fails after the mail server took it sends it again), so
    that mail systems and readers can tell a second copy for what it is, as a webhook
    receiver does by its ``webhook-id``."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "recoup.invalid"
    return f"<recoup-{int(message)}@{domain}>"


class Smtp:
    """E-mail over SMTP (aiosmtplib) to ``smtp://user:password@host:port``."""

    name = "smtp"

    def __init__(self, url: str, sender: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL looks like smtp://user:password@host:port")
        options = parse_qs(parts.query)
        self.hostname = parts.hostname
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.use_tls = parts.scheme == "smtps"
        self.start_tls = options.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self.sender = sender
        self.timeout = timeout

    async def send(self, message: Any) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message["to_address"]
        email["Subject"] = message["subject"]
        email["Message-ID"] = message_id(message["id"], self.sender)
        email.set_content(message["body"])
        try:
            await aiosmtplib.send(
                email,
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            said = "; ".join(f"{r.code} {r.message}" for r in exc.recipients) or str(exc)
            raise SendError(f"the address was refused: {said}", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SendError(
                f"the mail server said {exc.code} {exc.message}", permanent=exc.code >= 500
            ) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendError(
                f"the mail server could not be reached: {exc}", permanent=False
            ) from exc


@dataclass(frozen=True, slots=True)
class Transports:
    email: Transport
    sms: Transport

    @classmethod
    def from_settings(cls, settings: Any) -> Transports:
        email: Transport = (
            Smtp(settings.smtp_url, settings.smtp_from) if settings.smtp_url else Mailbox()
        )
        return cls(email=email, sms=DevSms())


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait before try ``attempts + 1``: 30 s, doubling, at most an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LAST_RETRY)


class Sender(Service):
    def __init__(self, conn: Any, actor: Any, clock: Clock = utcnow, *, transports: Transports):
        super().__init__(conn, actor, clock)
        self.transports = transports

    async def send(self, message_id: int) -> str | None:
        """Send one due message; its new status, or None when it is not due (any more)."""
        now = self.clock()
        message = await queries.claim_message(self.conn, message_id, now)
        if message is None:
            return None
        tenant = await self.tenant()
        decision = await compliance.decision(
            self.conn, message["account_id"], message["channel"], now, tenant.settings.contact
        )
        if not decision.allowed:
            reason = "; ".join(r.message for r in decision.refusals)
            if decision.opens_at is not None:
                await self._settle(message, "queued", "", reason, decision.opens_at, None)
                return "queued"
            await self._settle(message, "skipped", "", reason, None, None)
            await self._run_goes_on(message, "skipped", {"reason": reason})
            return "skipped"
        transport = self.transports.email if message["channel"] == "email" else self.transports.sms
        try:
            await transport.send(dict(message))
        except SendError as exc:
            attempts = message["attempts"] + 1
            if exc.permanent or attempts >= MAX_ATTEMPTS:
                await self._settle(message, "failed", transport.name, exc.reason, None, None)
                if message["run_id"] is not None:
                    error = f"step {message['position'] + 1} ({message['channel']}): {exc.reason}"
                    await queries.finish_waiting_step(
                        self.conn,
                        message["run_id"],
                        message["position"],
                        "failed",
                        {},
                        exc.reason,
                        now,
                    )
                    workflow_id = await queries.fail_run(self.conn, message["run_id"], error, now)
                    if workflow_id is not None:
                        await queries.note_error(self.conn, workflow_id, error, now)
                return "failed"
            await self._settle(
                message, "queued", transport.name, exc.reason, now + retry_delay(attempts), None
            )
            return "queued"
        interaction = await self.using(InteractionService).log(
            message["account_id"],
            InteractionCreate(
                channel=message["channel"],
                notes=(message["subject"] or message["body"])[:500],
                occurred_at=now,
            ),
        )
        await self._settle(message, "sent", transport.name, None, None, interaction.id)
        await self._run_goes_on(message, "done", {"interaction_id": interaction.id})
        return "sent"

    async def _settle(
        self,
        message: Any,
        status: str,
        transport: str,
        error: str | None,
        next_attempt_at: dt.datetime | None,
        interaction_id: int | None,
    ) -> None:
        await queries.settle_message(
            self.conn,
            message["id"],
            status=status,
            transport=transport,
            error=error,
            next_attempt_at=next_attempt_at,
            interaction_id=interaction_id,
            at=self.clock(),
        )

    async def _run_goes_on(self, message: Any, outcome: str, detail: dict[str, Any]) -> None:
        if message["run_id"] is None:
            return
        now = self.clock()
        await queries.finish_waiting_step(
            self.conn, message["run_id"], message["position"], outcome, detail, None, now
        )
        await queries.wake_run(self.conn, message["run_id"], now)


async def send_due(
    db: Database, transports: Transports, clock: Clock = utcnow, limit: int = 200
) -> dict[str, int]:
    """Send every due message (each in its tenant's transaction); figures by outcome."""
    figures: dict[str, int] = {}
    async with db.system() as conn:
        due = await queries.due_messages(conn, clock(), limit)
    for row in due:
        tenant_id = row["tenant_id"]
        try:
            async with db.tenant(tenant_id) as conn:
                status = await Sender(
                    conn, system_actor(tenant_id), clock, transports=transports
                ).send(row["id"])
        except ContactNotAllowed:
            # The rules changed between the check and the log (another send just now).
            status = "queued"
        if status is not None:
            figures[status] = figures.get(status, 0) + 1
    return figures
