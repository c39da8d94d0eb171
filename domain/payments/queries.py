from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg

from domain.db import Connection
from domain.sql import placeholders

COLUMNS = """id, account_id, amount, currency, status, method, source, provider, provider_ref,
  reference, applied_fees, applied_interest, applied_principal, applied_credit, failure_reason,
  received_at, failed_at, refunded_at, created_by, created_at"""


async def lock_account(conn: Connection, account_id: int) -> asyncpg.Record | None:
    """The account's balances under a row lock: payments on one account go one at a time."""
    return await conn.fetchrow(
        """SELECT id, currency, principal, interest, fees, credit, status, owner_id
        FROM accounts WHERE id = $1 FOR UPDATE""",
        account_id,
    )


async def apply_to_account(
    conn: Connection,
    account_id: int,
    *,
    fees: Decimal,
    interest: Decimal,
    principal: Decimal,
    credit: Decimal,
    status: str,
) -> None:
    """Add the deltas (negative when paying) and set the status, in one statement."""
    await conn.execute(
        """UPDATE accounts SET fees = fees + $2, interest = interest + $3,
          principal = principal + $4, credit = credit + $5, status = $6,
          version = version + 1, updated_at = now()
        WHERE id = $1""",
        account_id,
        fees,
        interest,
        principal,
        credit,
        status,
    )


async def insert(conn: Connection, tenant_id: int, values: dict[str, Any]) -> asyncpg.Record:
    """A new payment of ``values`` by column (quoted: a name must be the column's exactly)."""
    columns = ["tenant_id", *values]
    quoted = ", ".join(f'"{column}"' for column in columns)
    return await conn.fetchrow(
        f"INSERT INTO payments ({quoted}) VALUES ({placeholders(len(columns))}) "
        f"RETURNING {COLUMNS}",
        tenant_id,
        *values.values(),
    )


async def get(
    conn: Connection, payment_id: int, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT {COLUMNS} FROM payments WHERE id = $1{lock}", payment_id)


async def get_many(conn: Connection, payment_ids: list[int]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM payments WHERE id = ANY($1) ORDER BY id", payment_ids
    )


async def for_account(
    conn: Connection, account_id: int, *, before_id: int | None, limit: int
) -> list[asyncpg.Record]:
    if before_id is None:
        return await conn.fetch(
            f"SELECT {COLUMNS} FROM payments WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
            account_id,
            limit,
        )
    return await conn.fetch(
        f"""SELECT {COLUMNS} FROM payments WHERE account_id = $1 AND id < $2
        ORDER BY id DESC LIMIT $3""",
        account_id,
        before_id,
        limit,
    )


async def settle(
    conn: Connection,
    payment_id: int,
    *,
    status: str,
    at: dt.datetime,
    fees: Decimal = Decimal(0),
    interest: Decimal = Decimal(0),
    principal: Decimal = Decimal(0),
    credit: Decimal = Decimal(0),
    failure_reason: str | None = None,
) -> asyncpg.Record:
    """Move a payment to ``status`` and record its allocation and the time of the change."""
    column = {"succeeded": "received_at", "failed": "failed_at"}.get(status, "refunded_at")
    return await conn.fetchrow(
        f"""UPDATE payments SET status = $2, applied_fees = $3, applied_interest = $4,
          applied_principal = $5, applied_credit = $6, failure_reason = $7,
          "{column}" = coalesce("{column}", $8), updated_at = now()
        WHERE id = $1 RETURNING {COLUMNS}""",
        payment_id,
        status,
        fees,
        interest,
        principal,
        credit,
        failure_reason,
        at,
    )


async def find_provider_payment(conn: Connection, provider: str, ref: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT payment_id, tenant_id FROM payments_find_provider_payment($1, $2)", provider, ref
    )


async def record_provider_event(
    conn: Connection,
    *,
    tenant_id: int,
    provider: str,
    event_id: str,
    event_type: str,
    payment_id: int | None,
    payload: Any,
) -> bool:
    """Remember a webhook event; False when it was seen before (a redelivery)."""
    row = await conn.fetchrow(
        """INSERT INTO provider_events (tenant_id, provider, event_id, type, payment_id, payload)
        VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (provider, event_id) DO NOTHING
        RETURNING id""",
        tenant_id,
        provider,
        event_id,
        event_type,
        payment_id,
        payload,
    )
    return row is not None


async def checkout(
    conn: Connection, account_id: int, provider: str, provider_ref: str
) -> asyncpg.Record | None:
    """The payment a provider's checkout made on an account."""
    return await conn.fetchrow(
        """SELECT id, amount, currency, status, failure_reason, method, received_at FROM payments
        WHERE account_id = $1 AND provider = $2 AND provider_ref = $3""",
        account_id,
        provider,
        provider_ref,
    )


async def checkouts_under_way(
    conn: Connection, account_id: int, lifetime: dt.timedelta
) -> tuple[Decimal, dt.datetime | None]:
    """What the account's checkouts started within ``lifetime`` and not yet ended add up to,
    and when the newest of them started."""
    row = await conn.fetchrow(
        """SELECT coalesce(sum(amount), 0) AS amount, max(created_at) AS newest FROM payments
        WHERE account_id = $1 AND status = 'pending' AND provider IS NOT NULL
          AND created_at > now() - $2::interval""",
        account_id,
        lifetime,
    )
    return row["amount"], row["newest"]


async def claim_key(
    conn: Connection, tenant_id: int, caller: str, key: str, request_hash: str
) -> bool:
    """Take a caller's Idempotency-Key as in flight; False when it is already held or done."""
    claimed = await conn.fetchval(
        """INSERT INTO idempotency_keys (tenant_id, caller, key, request_hash)
        VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, caller, key) DO NOTHING RETURNING id""",
        tenant_id,
        caller,
        key,
        request_hash,
    )
    return claimed is not None


async def lock_key(conn: Connection, caller: str, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT request_hash, status, response_status, response_body, created_at
        FROM idempotency_keys WHERE caller = $1 AND key = $2 FOR UPDATE""",
        caller,
        key,
    )


async def retake_key(conn: Connection, caller: str, key: str, at: dt.datetime) -> None:
    """Take over an abandoned claim: it counts as made now."""
    await conn.execute(
        "UPDATE idempotency_keys SET created_at = $3 WHERE caller = $1 AND key = $2",
        caller,
        key,
        at,
    )


async def complete_key(
    conn: Connection, caller: str, key: str, status: int, body: Any, at: dt.datetime
) -> None:
    await conn.execute(
        """UPDATE idempotency_keys SET status = 'completed', response_status = $3,
          response_body = $4, completed_at = $5
        WHERE caller = $1 AND key = $2""",
        caller,
        key,
        status,
        body,
        at,
    )


async def release_key(conn: Connection, caller: str, key: str) -> None:
    await conn.execute(
        "DELETE FROM idempotency_keys WHERE caller = $1 AND key = $2 AND status = 'in_flight'",
        caller,
        key,
    )


async def prune_keys(conn: Connection, before: dt.datetime) -> int:
    status = await conn.execute("DELETE FROM idempotency_keys WHERE created_at < $1", before)
    return int(status.split()[-1])


# Payment links.

LINK_COLUMNS = "id, tenant_id, account_id, expires_at, revoked_at, opened_at, created_at"


async def insert_link(
    conn: Connection,
    tenant_id: int,
    account_id: int,
    *,
    created_by: int | None,
    expires_at: dt.datetime,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO payment_links (tenant_id, account_id, created_by, expires_at)
        VALUES ($1, $2, $3, $4) RETURNING {LINK_COLUMNS}""",
        tenant_id,
        account_id,
        created_by,
        expires_at,
    )


async def revoke_link(conn: Connection, link_id: int, at: dt.datetime) -> asyncpg.Record:
    """Withdraw a link (the first withdrawal's time stays)."""
    return await conn.fetchrow(
        f"""UPDATE payment_links SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1
        RETURNING {LINK_COLUMNS}""",
        link_id,
        at,
    )


async def link(conn: Connection, link_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {LINK_COLUMNS} FROM payment_links WHERE id = $1", link_id)


async def mark_link_opened(conn: Connection, link_id: int, at: dt.datetime) -> bool:
    """The first time the debtor opens the link (later opens change nothing): whether this
    was it."""
    status = await conn.execute(
        "UPDATE payment_links SET opened_at = $2 WHERE id = $1 AND opened_at IS NULL",
        link_id,
        at,
    )
    return status == "UPDATE 1"
