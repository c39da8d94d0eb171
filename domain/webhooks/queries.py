from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from domain.db import Connection

ENDPOINT = (
    "id, url, description, event_types, enabled, disabled_reason, previous_secret_until, "
    "failing_since, created_at, updated_at"
)
DELIVERY = (
    "id, endpoint_id, event_id, webhook_id, event_type, status, attempts, next_attempt_at, "
    "last_status, last_latency_ms, last_response, last_error, occurred_at, created_at"
)


# An endpoint as listed and read: with its dead letters (deliveries given up on) and its
# latest failed attempt, each found through a partial index of the endpoint's deliveries.
_ENDPOINT_WITH_FIGURES = f"""SELECT {", ".join(f"e.{c.strip()}" for c in ENDPOINT.split(","))},
  (SELECT count(*) FROM webhook_deliveries d
    WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id
      AND d.status IN ('failed', 'dead')) AS dead_letters,
  (SELECT jsonb_build_object('at', d.updated_at, 'status', d.last_status,
      'error', d.last_error)
    FROM webhook_deliveries d
    WHERE d.tenant_id = e.tenant_id AND d.endpoint_id = e.id
      AND d.status <> 'succeeded' AND d.attempts > 0
    ORDER BY d.updated_at DESC LIMIT 1) AS last_failure
FROM webhook_endpoints e"""


async def list_endpoints(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"{_ENDPOINT_WITH_FIGURES} ORDER BY e.id")


async def get_endpoint(conn: Connection, endpoint_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_ENDPOINT_WITH_FIGURES} WHERE e.id = $1", endpoint_id)


async def count_endpoints(conn: Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM webhook_endpoints")


async def insert_endpoint(
    conn: Connection,
    *,
    tenant_id: int,
    url: str,
    description: str,
    event_types: list[str],
    enabled: bool,
    secret_enc: str,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO webhook_endpoints
          (tenant_id, url, description, event_types, enabled, secret_enc)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ENDPOINT}""",
        tenant_id,
        url,
        description,
        event_types,
        enabled,
        secret_enc,
    )


async def update_endpoint(
    conn: Connection,
    endpoint_id: int,
    *,
    url: str,
    description: str,
    event_types: list[str],
    enabled: bool,
    at: dt.datetime,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4,
          enabled = $5, updated_at = $6,
          disabled_reason = CASE WHEN $5 THEN NULL ELSE coalesce(disabled_reason, 'by hand') END,
          failing_since = CASE WHEN $5 AND NOT enabled THEN NULL ELSE failing_since END
        WHERE id = $1 RETURNING {ENDPOINT}""",
        endpoint_id,
        url,
        description,
        event_types,
        enabled,
        at,
    )


async def rotate_secret(
    conn: Connection, endpoint_id: int, secret_enc: str, until: dt.datetime, at: dt.datetime
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""UPDATE webhook_endpoints SET previous_secret_enc = secret_enc,
          previous_secret_until = $3, secret_enc = $2, updated_at = $4
        WHERE id = $1 RETURNING {ENDPOINT}""",
        endpoint_id,
        secret_enc,
        until,
        at,
    )


async def delete_endpoint(conn: Connection, endpoint_id: int) -> None:
    await conn.execute("DELETE FROM webhook_endpoints WHERE id = $1", endpoint_id)


# A delivery for each relayed event (outbox ids in $1) and each enabled endpoint of its
# tenant that takes its type; the tenants that got any. A test event goes to the one
# endpoint it names, whatever types that one takes. The relay runs it inside its own
# statement that marks the batch published (``domain/outbox/queries.py``).
STAGE = """INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, webhook_id,
  event_type, account_id, payload, occurred_at, next_attempt_at)
SELECT o.tenant_id, e.id, o.event_id, 'msg_' || replace(o.event_id::text, '-', ''),
  o.type,
  -- The account whose events go out in order: the event's own account_id, else
  -- the account whose channel it goes to (a payment's, a task's); 0 for none.
  CASE WHEN o.data ->> 'account_id' ~ '^[0-9]{1,18}$'
    THEN (o.data ->> 'account_id')::bigint
    ELSE coalesce((SELECT substring(c.name FROM 9)::bigint
      FROM unnest(o.channels) AS c (name) WHERE c.name ~ '^account:[0-9]{1,18}$'
      LIMIT 1), 0) END,
  jsonb_build_object('type', o.type, 'timestamp', o.occurred_at,
    'data', o.data)::text,
  o.occurred_at, o.occurred_at
FROM outbox o
JOIN webhook_endpoints e ON e.tenant_id = o.tenant_id AND e.enabled
  AND CASE WHEN o.type = 'webhook.test' THEN o.data ->> 'endpoint_id' = e.id::text
    ELSE cardinality(e.event_types) = 0 OR o.type = ANY (e.event_types) END
WHERE o.id = ANY($1::bigint[])
  -- Not the debtor page's own view of a change (its channels all pay:...): the
  -- change goes out once, as staff and integrators see it.
  AND (cardinality(o.channels) = 0 OR EXISTS (
    SELECT 1 FROM unnest(o.channels) AS c (name) WHERE c.name NOT LIKE 'pay:%'))
ORDER BY o.id, e.id
ON CONFLICT (endpoint_id, event_id) DO NOTHING
RETURNING tenant_id"""


async def stage(conn: Connection, outbox_ids: list[int]) -> list[int]:
    """``STAGE`` on its own (in the caller's transaction, so none is lost)."""
    rows = await conn.fetch(
        f"WITH staged AS ({STAGE}) SELECT DISTINCT tenant_id FROM staged ORDER BY 1",
        outbox_ids,
    )
    return [r["tenant_id"] for r in rows]


async def due_tenants(conn: Connection, now: dt.datetime) -> list[int]:
    """Tenants with a delivery due (a retry, or one whose kick was lost)."""
    rows = await conn.fetch(
        """SELECT DISTINCT d.tenant_id FROM webhook_deliveries d
        JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.enabled
        WHERE d.status = 'pending' AND d.next_attempt_at <= $1
          AND (d.locked_until IS NULL OR d.locked_until <= $1)""",
        now,
    )
    return [r["tenant_id"] for r in rows]


async def due_endpoints(conn: Connection, now: dt.datetime) -> list[int]:
    """The tenant's enabled endpoints with a delivery due and not leased (each endpoint's
    queue asked in turn, from ``webhook_deliveries_claim_idx``)."""
    rows = await conn.fetch(
        """SELECT e.id FROM webhook_endpoints e
        WHERE e.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
          AND e.enabled AND EXISTS (
            SELECT 1 FROM webhook_deliveries d
            WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= $1
              AND (d.locked_until IS NULL OR d.locked_until <= $1))
        ORDER BY e.id""",
        now,
    )
    return [r["id"] for r in rows]


# What an attempt a dead worker began and never finished is recorded as.
INTERRUPTED = (
    "no answer recorded: the worker sending it stopped during the request (the receiver may "
    "have it; it is sent again with the same webhook-id)"
)


async def claim(
    conn: Connection,
    endpoint_id: int,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    token: uuid.UUID,
) -> list[asyncpg.Record]:
    """The endpoint's due deliveries that are first in line for their account (an earlier
    one still pending holds the later back), leased under ``token`` so that no other worker
    sends them; a worker that dies leaves them to the retry job once the lease is over. An
    attempt such a worker had begun (``sending_since``) is recorded as interrupted and
    counted, so that the delivery's attempts match its attempt rows."""
    return await conn.fetch(
        """WITH picked AS (
          SELECT c.id FROM webhook_deliveries c
          WHERE c.endpoint_id = $1 AND c.status = 'pending' AND c.next_attempt_at <= $2
            AND (c.locked_until IS NULL OR c.locked_until <= $2)
            AND NOT EXISTS (
              SELECT 1 FROM webhook_deliveries p
              WHERE p.endpoint_id = c.endpoint_id AND p.account_id = c.account_id
                AND p.status = 'pending' AND p.id < c.id)
          ORDER BY c.id LIMIT $4 FOR UPDATE SKIP LOCKED),
        interrupted AS (
          INSERT INTO webhook_attempts (tenant_id, delivery_id, attempted_at, error)
          SELECT d.tenant_id, d.id, d.sending_since, $6 FROM webhook_deliveries d
          WHERE d.id IN (SELECT id FROM picked) AND d.sending_since IS NOT NULL)
        UPDATE webhook_deliveries d SET locked_until = $2 + $3::interval, lease = $5,
          sending_since = $2,
          attempts = d.attempts + (d.sending_since IS NOT NULL)::int,
          last_status = CASE WHEN d.sending_since IS NULL THEN d.last_status END,
          last_latency_ms = CASE WHEN d.sending_since IS NULL THEN d.last_latency_ms END,
          last_response = CASE WHEN d.sending_since IS NULL THEN d.last_response END,
          last_error = CASE WHEN d.sending_since IS NULL THEN d.last_error ELSE $6 END
        WHERE d.id IN (SELECT id FROM picked)
        RETURNING d.id, d.tenant_id, d.endpoint_id, d.webhook_id, d.payload, d.attempts,
          d.account_id""",
        endpoint_id,
        now,
        lease,
        limit,
        token,
        INTERRUPTED,
    )


async def renew(conn: Connection, ids: list[int], token: uuid.UUID, until: dt.datetime) -> int:
    """Hold the deliveries still leased under ``token`` until ``until``; how many."""
    result = await conn.execute(
        "UPDATE webhook_deliveries SET locked_until = $3 WHERE id = ANY($1::bigint[]) "
        "AND lease = $2",
        ids,
        token,
        until,
    )
    return int(result.split()[-1])


async def endpoint_for_delivery(conn: Connection, endpoint_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, url, enabled, secret_enc, previous_secret_enc, previous_secret_until,
          failing_since FROM webhook_endpoints WHERE id = $1""",
        endpoint_id,
    )


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one request for a delivery came to, and the delivery's state after it."""

    delivery_id: int
    status: int | None
    latency_ms: int
    response: str | None
    error: str | None
    outcome: str
    next_attempt_at: dt.datetime


async def record_attempts(
    conn: Connection, at: dt.datetime, token: uuid.UUID, attempts: list[Attempt]
) -> list[int]:
    """A batch's attempts, one statement: each delivery's new state and its attempt row, for
    the deliveries still leased under ``token``; their ids (one missing: this worker lost its
    lease and another took the delivery over, whose outcome is not overwritten)."""
    rows = await conn.fetch(
        """WITH o AS (
          SELECT * FROM unnest($3::bigint[], $4::int[], $5::int[], $6::text[], $7::text[],
            $8::text[], $9::timestamptz[])
            AS o (id, status, latency_ms, response, error, outcome, next_attempt_at)),
        d AS (
          UPDATE webhook_deliveries w SET status = o.outcome, attempts = w.attempts + 1,
            next_attempt_at = o.next_attempt_at, locked_until = NULL, lease = NULL,
            sending_since = NULL, last_status = o.status, last_latency_ms = o.latency_ms,
            last_response = o.response, last_error = o.error, updated_at = $1
          FROM o WHERE w.id = o.id AND w.lease = $2
          RETURNING w.tenant_id, w.id, o.status, o.latency_ms, o.response, o.error),
        a AS (
          INSERT INTO webhook_attempts (tenant_id, delivery_id, attempted_at, status,
            latency_ms, response, error)
          SELECT tenant_id, id, $1, status, latency_ms, response, error FROM d ORDER BY id)
        SELECT id FROM d ORDER BY id""",
        at,
        token,
        [a.delivery_id for a in attempts],
        [a.status for a in attempts],
        [a.latency_ms for a in attempts],
        [a.response for a in attempts],
        [a.error for a in attempts],
        [a.outcome for a in attempts],
        [a.next_attempt_at for a in attempts],
    )
    return [r["id"] for r in rows]


async def endpoint_outcome(
    conn: Connection, endpoint_id: int, *, ok: bool, disable: str | None, at: dt.datetime
) -> asyncpg.Record | None:
    """Mark the endpoint failing since its first failure (cleared by a success), or
    disable it; the row when it was disabled now."""
    return await conn.fetchrow(
        f"""UPDATE webhook_endpoints SET
          failing_since = CASE WHEN $2 THEN NULL ELSE coalesce(failing_since, $4) END,
          enabled = enabled AND $3::text IS NULL,
          disabled_reason = coalesce($3, disabled_reason),
          updated_at = CASE WHEN $3::text IS NULL THEN updated_at ELSE $4 END
        WHERE id = $1
        RETURNING {ENDPOINT}, $3::text IS NOT NULL AS disabled_now""",
        endpoint_id,
        ok,
        disable,
        at,
    )


async def deliveries(
    conn: Connection, endpoint_id: int, *, status: str | None, before: int | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {DELIVERY} FROM webhook_deliveries
        WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
          AND endpoint_id = $1 AND ($2::text IS NULL OR status = $2)
          AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4""",
        endpoint_id,
        status,
        before,
        limit,
    )


async def get_delivery(conn: Connection, delivery_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {DELIVERY} FROM webhook_deliveries WHERE id = $1", delivery_id
    )


async def attempts(
    conn: Connection, delivery_id: int, *, after: int | None, limit: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, attempted_at, status, latency_ms, response, error FROM webhook_attempts
        WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
          AND delivery_id = $1 AND ($2::bigint IS NULL OR id > $2)
        ORDER BY id LIMIT $3""",
        delivery_id,
        after,
        limit,
    )


async def replay(
    conn: Connection,
    endpoint_id: int,
    *,
    delivery_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    at: dt.datetime,
) -> list[int]:
    """Put deliveries back in line (their attempts count from zero again, their
    ``webhook-id`` unchanged): one, or every failed or dead one made in [since, until)."""
    rows = await conn.fetch(
        """UPDATE webhook_deliveries SET status = 'pending', attempts = 0,
          next_attempt_at = $5, locked_until = NULL, updated_at = $5
        WHERE tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint
          AND endpoint_id = $1
          AND (CASE WHEN $2::bigint IS NOT NULL THEN id = $2 AND status <> 'pending'
            ELSE status IN ('failed', 'dead') AND created_at >= $3 AND created_at < $4 END)
        RETURNING id""",
        endpoint_id,
        delivery_id,
        since,
        until,
        at,
    )
    return [r["id"] for r in rows]
