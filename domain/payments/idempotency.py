"""Idempotency keys: the same key and request gets the first response again; the same key
with another request is refused; a request still in flight with that key is refused too.

The key is claimed in a short transaction of its own (so that concurrent requests see it
at once), and the response is stored in the transaction of the change itself, so the two
commit together. A request that fails lets go of its key; one whose process died is
taken over after a while.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from domain.clock import utcnow
from domain.db import Connection, Database
from domain.errors import Conflict, InvalidInput

# A claim older than this belongs to a request that died; it may be taken over.
ABANDONED_AFTER = dt.timedelta(seconds=60)
# Keys are kept at least this long.
RETENTION = dt.timedelta(hours=48)


class KeyInFlight(Conflict):
    slug = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still being handled"


class KeyReused(InvalidInput):
    slug = "idempotency-key-reused"
    title = "This Idempotency-Key was used for another request"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any


def request_hash(*parts: Any) -> str:
    """A fingerprint of the request: what it asks for, in a canonical encoding."""
    return hashlib.sha256(
        msgspec.json.encode(msgspec.to_builtins(parts), order="sorted")
    ).hexdigest()


class Idempotency:
    def __init__(
        self,
        db: Database,
        tenant_id: int,
        key: str,
        fingerprint: str,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        if not key or len(key) > 200 or not key.isprintable():
            raise InvalidInput(
                "Idempotency-Key must be 1 to 200 printable characters", field="Idempotency-Key"
            )
        self.db = db
        self.tenant_id = tenant_id
        self.key = key
        self.fingerprint = fingerprint
        self.clock = clock

    async def claim(self) -> StoredResponse | None:
        """None: go ahead. A stored response: send it again. Raises when refused."""
        async with self.db.tenant(self.tenant_id) as conn:
            claimed = await conn.fetchval(
                """INSERT INTO idempotency_keys (tenant_id, key, request_hash)
                VALUES ($1, $2, $3) ON CONFLICT (tenant_id, key) DO NOTHING RETURNING id""",
                self.tenant_id,
                self.key,
                self.fingerprint,
            )
            if claimed:
                return None
            row = await conn.fetchrow(
                """SELECT request_hash, status, response_status, response_body, created_at
                FROM idempotency_keys WHERE key = $1 FOR UPDATE""",
                self.key,
            )
            if row is None:  # released in between: try once more
                return await self.claim()
            if row["request_hash"] != self.fingerprint:
                raise KeyReused(
                    "this Idempotency-Key was already used with a different request",
                    field="Idempotency-Key",
                )
            if row["status"] == "completed":
                return StoredResponse(row["response_status"], row["response_body"])
            if row["created_at"] < self.clock() - ABANDONED_AFTER:
                await conn.execute(
                    "UPDATE idempotency_keys SET created_at = $2 WHERE key = $1",
                    self.key,
                    self.clock(),
                )
                return None
        raise KeyInFlight(
            "a request with this Idempotency-Key is still in progress; retry in a moment",
            field="Idempotency-Key",
        )

    async def complete(self, conn: Connection, status: int, body: Any) -> None:
        """Store the response, in the transaction of the change it describes."""
        await conn.execute(
            """UPDATE idempotency_keys SET status = 'completed', response_status = $2,
              response_body = $3, completed_at = $4
            WHERE key = $1""",
            self.key,
            status,
            body,
            self.clock(),
        )

    async def release(self) -> None:
        """The request failed: let the key be used again."""
        async with self.db.tenant(self.tenant_id) as conn:
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE key = $1 AND status = 'in_flight'", self.key
            )


async def prune(conn: Connection, now: dt.datetime) -> int:
    status = await conn.execute(
        "DELETE FROM idempotency_keys WHERE created_at < $1", now - RETENTION
    )
    return int(status.split()[-1])
