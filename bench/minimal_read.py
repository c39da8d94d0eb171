"""The yardstick for a one-account read: the least a Litestar route can do for it.

Checks the bearer token (signature verified once per token, as Recoup does), opens one
transaction as the row-level-security role with the tenant set (BEGIN and the tenant in
one round trip), runs one SELECT and answers msgspec JSON. No guards, no dependency
injection, no middleware, no session check, no tenant settings: what
``bench/http_api.py`` compares Recoup's own read to.

    DATABASE_URL=... SECRET_KEY=... uvicorn bench.minimal_read:app --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, get

from domain.auth.tokens import AccessClaims, decode_access_token
from domain.db import APP_ROLE, role_url

SECRET = os.environ.get("SECRET_KEY", "recoup-development-secret-do-not-use-in-production")
ACCOUNT = """SELECT a.id, a.external_ref, a.debtor_id,
  trim(d.first_name || ' ' || d.last_name) AS debtor_name, a.creditor, a.currency,
  a.principal, a.interest, a.fees, a.due_date, a.status, a.owner_id, a.custom, a.version,
  a.created_at, a.updated_at
FROM accounts a JOIN debtors d ON d.id = a.debtor_id WHERE a.id = $1"""

encode = msgspec.json.Encoder(decimal_format="string").encode
verified: dict[str, AccessClaims] = {}
pool: asyncpg.Pool | None = None


@get("/api/v1/accounts/{account_id:int}")
async def one_account(request: Request[Any, Any, Any], account_id: int) -> Response[bytes]:
    token = request.headers.get("authorization", "").partition(" ")[2]
    claims = verified.get(token)
    if claims is None:
        claims = verified[token] = decode_access_token(SECRET, token)
    assert pool is not None
    async with pool.acquire() as conn:
        await conn.execute(f"BEGIN; SELECT set_config('app.tenant_id', '{int(claims.tid)}', true)")
        row = await conn.fetchrow(ACCOUNT, account_id)
        await conn.execute("COMMIT")
    if row is None:
        return Response(b'{"detail":"not found"}', status_code=404, media_type="application/json")
    return Response(encode(dict(row)), media_type="application/json")


@asynccontextmanager
async def lifespan(_: Litestar) -> AsyncIterator[None]:
    global pool
    dsn = role_url(os.environ["DATABASE_URL"], APP_ROLE)
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10, reset=_no_reset)
    try:
        yield
    finally:
        await pool.close()


async def _no_reset(conn: asyncpg.Connection) -> None:
    """As Recoup's pool does: only an unfinished transaction needs undoing."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


app = Litestar(route_handlers=[one_account], lifespan=[lifespan], debug=False)
