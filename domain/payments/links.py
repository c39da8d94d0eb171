"""Payment links: a signed token naming one account's payment page, expiring and revocable.

The token carries the tenant and the link's id, signed with the server's secret; the row
holds the expiry and the revocation, so a link can be withdrawn at any time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import msgspec

from domain.accounts.audience import account_audience
from domain.accounts.service import AccountService
from domain.actor import Actor, system_actor
from domain.channel_access import announce_access_change
from domain.clock import Clock, utcnow
from domain.db import Connection, Database
from domain.errors import NotFound, RecoupError
from domain.outbox import events
from domain.payments import queries
from domain.payments.agency import agency_of, whom_to_call
from domain.payments.schemas import PaymentLink
from domain.service import Service
from domain.signing import InvalidToken, sign, verify

PURPOSE = "recoup.payment-link"


class LinkGone(RecoupError):
    status = 410
    slug = "link-gone"
    title = "This payment link no longer works"


def link_token(secret: str, tenant_id: int, link_id: int) -> str:
    return sign(secret, PURPOSE, [tenant_id, link_id])


def _to_link(row: asyncpg.Record, secret: str, base_url: str) -> PaymentLink:
    token = link_token(secret, row["tenant_id"], row["id"])
    return PaymentLink(
        id=row["id"],
        account_id=row["account_id"],
        url=f"{base_url}/pay/{token}",
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        created_at=row["created_at"],
    )


class PaymentLinkService(Service):
    def __init__(
        self,
        conn: Connection,
        actor: Actor,
        clock: Clock = utcnow,
        *,
        secret: str,
        base_url: str,
    ) -> None:
        super().__init__(conn, actor, clock)
        self.secret = secret
        self.base_url = base_url

    async def create(self, account_id: int, hours: int) -> PaymentLink:
        account = await self.using(AccountService).get(account_id)
        row = await queries.insert_link(
            self.conn,
            self.actor.tenant_id,
            account_id,
            created_by=self.actor.id if self.actor.is_user else None,
            expires_at=self.clock() + dt.timedelta(hours=hours),
        )
        link = _to_link(row, self.secret, self.base_url)
        after = {k: v for k, v in msgspec.to_builtins(link).items() if k != "url"}
        await self.changes.record(
            action="payment_link.create",
            entity_type="payment_link",
            entity_id=link.id,
            before=None,
            after=after,
            event_type=events.PAYMENT_LINK_CREATED,
            channels=account_audience(account_id, account.owner_id),
            data=after,
        )
        return link

    async def revoke(self, link_id: int) -> PaymentLink:
        """Withdraw a link on an account the caller may see; any other link is not found,
        as if it did not exist, so that its id tells nothing."""
        found = await queries.link(self.conn, link_id)
        if found is None:
            raise NotFound(f"payment link {link_id} not found")
        try:
            account = await self.using(AccountService).get(found["account_id"])
        except NotFound:
            raise NotFound(f"payment link {link_id} not found") from None
        row = await queries.revoke_link(self.conn, link_id, self.clock())
        link = _to_link(row, self.secret, self.base_url)
        after = {k: v for k, v in msgspec.to_builtins(link).items() if k != "url"}
        await self.changes.record(
            action="payment_link.revoke",
            entity_type="payment_link",
            entity_id=link_id,
            before=None,
            after=after,
            event_type=events.PAYMENT_LINK_REVOKED,
            channels=account_audience(link.account_id, account.owner_id),
            data=after,
        )
        await announce_access_change(self.changes, links=[link_id])
        return link


async def open_link(db: Database, secret: str, token: str, clock: Clock = utcnow) -> Actor:
    """The debtor behind a link: an actor that may act on that one account only."""
    payload: Any = verify(secret, PURPOSE, token)
    if not (
        isinstance(payload, list) and len(payload) == 2 and all(isinstance(x, int) for x in payload)
    ):
        raise InvalidToken("this link is not valid")
    tenant_id, link_id = payload
    now = clock()
    async with db.tenant(tenant_id) as conn:
        row = await queries.link(conn, link_id)
        if row is None:
            raise InvalidToken("this link is not valid")
        gone = None
        if row["revoked_at"] is not None:
            gone = "this payment link was withdrawn"
        elif row["expires_at"] <= now:
            gone = "this payment link has expired"
        if gone is not None:
            # The signature is good, so the tenant is known: the debtor learns whom to call.
            tenant = await Service(conn, system_actor(tenant_id)).tenant()
            raise LinkGone(f"{gone}. {whom_to_call(agency_of(tenant))}")
        debtor = Actor(tenant_id=tenant_id, type="debtor", id=link_id, account_id=row["account_id"])
        # Only the first opening writes: every later request of the page reads and goes on.
        if row["opened_at"] is None and await queries.mark_link_opened(conn, link_id, now):
            await _announce_opened(conn, debtor, row, now)
    return debtor


async def _announce_opened(
    conn: Connection, debtor: Actor, row: asyncpg.Record, at: dt.datetime
) -> None:
    """The collector on the phone sees the debtor open the link they were sent."""
    service = Service(conn, debtor, lambda: at)
    account = await service.using(AccountService).get(row["account_id"])
    data = {"id": row["id"], "account_id": account.id, "opened_at": at.isoformat()}
    await service.changes.record(
        action="payment_link.open",
        entity_type="payment_link",
        entity_id=row["id"],
        before=None,
        after=data,
        event_type=events.PAYMENT_LINK_OPENED,
        channels=account_audience(account.id, account.owner_id),
        data=data,
    )
