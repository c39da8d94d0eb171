"""A payment link a collector sends the debtor by text or e-mail, through the same messaging
as workflows: the contact rules decide, the message is queued in the caller's transaction
and sent by a job once it commits (the relay hands its ``message.queued`` event over), and
the send is logged as an interaction on the account.

An opt-out, a cease or a dispute refuses it at once (409, nothing made); outside the
debtor's hours it is made and waits for the window to open.
"""

from __future__ import annotations

from domain.accounts.audience import account_audience
from domain.accounts.service import AccountService
from domain.actor import Actor
from domain.clock import Clock, utcnow
from domain.compliance import service as compliance
from domain.db import Connection
from domain.errors import InvalidInput
from domain.outbox import events
from domain.payments.links import PaymentLinkService
from domain.service import Service
from domain.workflows import queries
from domain.workflows.links import Links
from domain.workflows.rendering import render_message
from domain.workflows.schemas import PaymentLinkSend, PaymentLinkSent

# The words of the message; the opt-out link is added at the end as to every message.
SMS = {
    "subject": "",
    "body": "{{ tenant.name }}: you can pay your account {{ account.external_ref }} "
    "(balance {{ account.balance }}) here: {{ payment_link }}",
}
EMAIL = {
    "subject": "Your payment link for account {{ account.external_ref }}",
    "body": "Hello {{ debtor.first_name }},\n"
    "\n"
    "As agreed, here is a secure link to pay your account {{ account.external_ref }} "
    "(balance {{ account.balance }}) or to choose a date to pay:\n"
    "\n"
    "{{ payment_link }}\n"
    "\n"
    "{{ tenant.name }}\n",
}


class PaymentLinkMessenger(Service):
    def __init__(
        self, conn: Connection, actor: Actor, clock: Clock = utcnow, *, links: Links
    ) -> None:
        super().__init__(conn, actor, clock)
        self.links = links

    async def send(self, account_id: int, data: PaymentLinkSend) -> PaymentLinkSent:
        """Make a link to the account's payment page and queue it to the debtor."""
        account = await self.using(AccountService).get(account_id)
        subject = (await queries.subjects(self.conn, [account_id]))[account_id]
        channel = data.channel
        address = subject["email"] if channel == "email" else subject["phone"]
        if not address:
            what = "e-mail address" if channel == "email" else "phone number"
            raise InvalidInput(f"the debtor has no {what}", field="channel")
        tenant = await self.tenant()
        now = self.clock()
        decision = await compliance.decision(
            self.conn, account_id, channel, now, tenant.settings.contact
        )
        if not decision.allowed and decision.opens_at is None:
            raise compliance.refusal(channel, decision)
        maker = PaymentLinkService(
            self.conn,
            self.actor,
            self.clock,
            secret=self.links.secret,
            base_url=self.links.base_url,
        )
        link = await maker.create(account_id, data.expires_in_hours)
        words = EMAIL if channel == "email" else SMS
        event = {"id": "", "type": "payment_link.send", "data": {}, "amount_minor": None}
        subject_line, body = await render_message(
            self, words, channel, event, subject, self.links, make_link=False, payment_link=link.url
        )
        send_at = decision.opens_at if not decision.allowed else now
        reason = "; ".join(r.message for r in decision.refusals) or None
        message_id = await queries.insert_message(
            self.conn,
            self.actor.tenant_id,
            {
                "account_id": account_id,
                "debtor_id": subject["debtor_id"],
                "run_id": None,
                "position": None,
                "channel": channel,
                "to_address": address,
                "subject": subject_line,
                "body": body,
            },
            now,
            send_at,
        )
        sent = PaymentLinkSent(
            outcome="sending" if decision.allowed else "waiting",
            message_id=message_id,
            channel=channel,
            to=address,
            send_at=send_at or now,
            reason=reason,
            link=link,
        )
        shown = {
            "id": message_id,
            "account_id": account_id,
            "channel": channel,
            "outcome": sent.outcome,
            "send_at": sent.send_at.isoformat(),
            "payment_link_id": link.id,
        }
        await self.changes.record(
            action="payment_link.send",
            entity_type="message",
            entity_id=message_id,
            before=None,
            after={**shown, "to": address},
            event_type=events.MESSAGE_QUEUED,
            channels=account_audience(account_id, account.owner_id),
            data=shown,
        )
        return sent
