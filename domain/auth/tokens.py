"""Access tokens (JWT, HS256, short-lived), opaque refresh tokens and API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

import jwt
import msgspec

from domain.actor import ROLES, Role, Session
from domain.errors import Unauthenticated

ISSUER = "recoup"
ACCESS_TYPE = "access"
REFRESH_PREFIX = "rt_"
API_KEY_PREFIX = "rcp_"
_ALGORITHM = "HS256"
# Processes on different machines disagree a little about the time.
_LEEWAY_SECONDS = 5


class AccessClaims(msgspec.Struct, frozen=True):
    sub: str
    tid: int
    role: Role
    jti: str
    exp: int
    iat: int
    typ: str
    iss: str
    # The sign-in (refresh-token family) and the user's session version it was issued
    # under: a revoked sign-in or a newer version ends the token at once.
    sid: uuid.UUID
    ver: int

    @property
    def user_id(self) -> int:
        return int(self.sub)

    def session(self) -> Session:
        return Session(sign_in=self.sid, version=self.ver, expires_at=self.exp)


def issue_access_token(
    secret: str,
    *,
    user_id: int,
    tenant_id: int,
    role: Role,
    ttl: int,
    now: dt.datetime,
    sign_in: uuid.UUID,
    version: int,
) -> tuple[str, AccessClaims]:
    issued = int(now.timestamp())
    claims = AccessClaims(
        sub=str(user_id),
        tid=tenant_id,
        role=role,
        jti=uuid.uuid4().hex,
        exp=issued + ttl,
        iat=issued,
        typ=ACCESS_TYPE,
        iss=ISSUER,
        sid=sign_in,
        ver=version,
    )
    return jwt.encode(msgspec.to_builtins(claims), secret, algorithm=_ALGORITHM), claims


def decode_access_token(secret: str, token: str) -> AccessClaims:
    """Verify signature, expiry, issuer and type; raise Unauthenticated otherwise."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=ISSUER,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "jti", "typ", "tid", "iss", "sid", "ver"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("access token expired; refresh it") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("access token is not valid") from None
    # pyjwt does not look at our "typ": a refresh or other token must never pass as access.
    if payload.get("typ") != ACCESS_TYPE or payload.get("role") not in ROLES:
        raise Unauthenticated("access token is not valid")
    try:
        return msgspec.convert(payload, AccessClaims)
    except msgspec.ValidationError:
        raise Unauthenticated("access token is not valid") from None


def digest(secret_value: str) -> str:
    """SHA-256 hex of a high-entropy secret (refresh tokens, API keys)."""
    return hashlib.sha256(secret_value.encode()).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """A fresh key and its visible prefix (``rcp_<8 chars>``)."""
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


def api_key_prefix(key: str) -> str | None:
    """The visible prefix of something shaped like an API key, else None."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, rest = key.partition("_")[2].partition("_")
    if not sep or len(prefix) != 8 or not rest:
        return None
    return API_KEY_PREFIX + prefix
