from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from domain.db import Connection


async def find_login(conn: Connection, email: str) -> asyncpg.Record | None:
    """The one cross-tenant question signing in needs answered: whose e-mail is this?"""
    return await conn.fetchrow("SELECT user_id, tenant_id FROM auth_find_login($1)", email)


async def find_refresh_token(conn: Connection, token_hash: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT token_id, tenant_id FROM auth_find_refresh_token($1)", token_hash
    )


async def find_api_key(conn: Connection, prefix: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT key_id, tenant_id FROM auth_find_api_key($1)", prefix)


async def login_user(conn: Connection, user_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, tenant_id, role, active, password_hash, session_version FROM users "
        "WHERE id = $1",
        user_id,
    )


async def insert_refresh_token(
    conn: Connection,
    *,
    tenant_id: int,
    user_id: int,
    family_id: uuid.UUID,
    token_hash: str,
    created_at: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    await conn.execute(
        """INSERT INTO refresh_tokens
          (tenant_id, user_id, family_id, token_hash, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6)""",
        tenant_id,
        user_id,
        family_id,
        token_hash,
        created_at,
        expires_at,
    )


async def use_refresh_token(
    conn: Connection, token_id: int, now: dt.datetime, *, issued_after: dt.datetime
) -> asyncpg.Record | None:
    """Mark a live token used, atomically: of two racing refreshes only one gets the row.

    Live: neither used nor revoked, its sign-in not over (``expires_at``, the same for
    every token of a sign-in) and issued after ``issued_after`` (the inactivity limit)."""
    return await conn.fetchrow(
        """UPDATE refresh_tokens t SET used_at = $2
        FROM users u
        WHERE t.id = $1 AND u.id = t.user_id
          AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $2
          AND t.created_at > $3
        RETURNING t.user_id, t.family_id, t.expires_at, u.role, u.active, u.session_version""",
        token_id,
        now,
        issued_after,
    )


async def refresh_token_state(conn: Connection, token_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT user_id, family_id, used_at, revoked_at, expires_at
        FROM refresh_tokens WHERE id = $1""",
        token_id,
    )


async def revoke_family(conn: Connection, family_id: uuid.UUID, now: dt.datetime) -> int:
    status = await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        family_id,
        now,
    )
    return int(status.split()[-1])


async def revoke_user_tokens(conn: Connection, user_id: int, now: dt.datetime) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
        now,
    )


async def prune_refresh_tokens(conn: Connection, before: dt.datetime) -> int:
    status = await conn.execute("DELETE FROM refresh_tokens WHERE expires_at < $1", before)
    return int(status.split()[-1])


API_KEY_COLUMNS = "id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_at"


async def api_key_for_auth(conn: Connection, key_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, key_hash, scopes, revoked_at FROM api_keys WHERE id = $1", key_id
    )


async def touch_api_key(conn: Connection, key_id: int, now: dt.datetime) -> None:
    """Record use at most once a minute per key, so that busy keys do not write on every call."""
    await conn.execute(
        """UPDATE api_keys SET last_used_at = $2
        WHERE id = $1
          AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '60 seconds')""",
        key_id,
        now,
    )


async def insert_api_key(
    conn: Connection,
    *,
    tenant_id: int,
    name: str,
    prefix: str,
    key_hash: str,
    scopes: list[str],
    created_by: int | None,
) -> asyncpg.Record:
    return await conn.fetchrow(
        f"""INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes, created_by)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING {API_KEY_COLUMNS}""",
        tenant_id,
        name,
        prefix,
        key_hash,
        scopes,
        created_by,
    )


async def get_api_key(conn: Connection, key_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = $1", key_id)


async def list_api_keys(conn: Connection) -> list[asyncpg.Record]:
    return await conn.fetch(f"SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY id DESC")


async def revoke_api_key(conn: Connection, key_id: int, now: dt.datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL "
        f"RETURNING {API_KEY_COLUMNS}",
        key_id,
        now,
    )


async def touch_login(conn: Connection, user_id: int, at: dt.datetime) -> None:
    await conn.execute("UPDATE users SET last_login_at = $2 WHERE id = $1", user_id, at)


# Whether an identity still stands (an open socket asks; requests check in db.tenant).


async def session_state(
    conn: Connection, user_id: int, sign_in: uuid.UUID, now: dt.datetime
) -> asyncpg.Record | None:
    """The user's standing, whether the sign-in was revoked and whether its lifetime is
    over (a sign-in without refresh tokens, such as a test's, is neither)."""
    return await conn.fetchrow(
        """SELECT u.active, u.role, u.session_version,
          EXISTS (SELECT 1 FROM refresh_tokens t
                  WHERE t.family_id = $2 AND t.revoked_at IS NOT NULL) AS sign_in_revoked,
          coalesce((SELECT max(t.expires_at) <= $3 FROM refresh_tokens t
                    WHERE t.family_id = $2), false) AS sign_in_over
        FROM users u WHERE u.id = $1""",
        user_id,
        sign_in,
        now,
    )


async def api_key_revoked(conn: Connection, key_id: int) -> bool:
    """True when the key is revoked or gone."""
    return bool(
        await conn.fetchval(
            "SELECT coalesce((SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1), true)",
            key_id,
        )
    )


async def end_sessions(conn: Connection, user_id: int, now: dt.datetime) -> None:
    """Every access token of the user stops working, and every sign-in is revoked."""
    await conn.execute(
        "UPDATE users SET session_version = session_version + 1 WHERE id = $1", user_id
    )
    await revoke_user_tokens(conn, user_id, now)
