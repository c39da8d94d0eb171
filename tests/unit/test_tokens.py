import datetime as dt
import uuid

import jwt
import pytest

from domain.auth.tokens import (
    api_key_prefix,
    decode_access_token,
    issue_access_token,
    new_api_key,
)
from domain.errors import Unauthenticated

SECRET = "unit-test-secret-" + "y" * 32
NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
SIGN_IN = uuid.UUID("6f1c1a52-3c4e-4f57-9a43-0d1d6c0f2b11")


def test_access_token_round_trip() -> None:
    token, claims = issue_access_token(
        SECRET,
        user_id=3,
        tenant_id=9,
        role="collector",
        ttl=900,
        now=dt.datetime.now(dt.UTC),
        sign_in=SIGN_IN,
        version=4,
    )
    decoded = decode_access_token(SECRET, token)
    assert decoded == claims
    assert (decoded.user_id, decoded.tid, decoded.role) == (3, 9, "collector")
    assert (decoded.sid, decoded.ver) == (SIGN_IN, 4)


def test_expired_token_says_so() -> None:
    token, _ = issue_access_token(
        SECRET,
        user_id=3,
        tenant_id=9,
        role="admin",
        ttl=60,
        now=NOW,
        sign_in=SIGN_IN,
        version=1,
    )
    with pytest.raises(Unauthenticated, match="expired"):
        decode_access_token(SECRET, token)


@pytest.mark.parametrize(
    "change",
    [
        {"typ": "refresh"},
        {"role": "root"},
        {"iss": "someone"},
        {"sid": "not-a-uuid"},
        {"ver": "1"},
    ],
)
def test_tokens_that_are_not_our_access_tokens_are_refused(change: dict) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "sub": "1",
        "tid": 1,
        "role": "admin",
        "jti": "j",
        "iat": now,
        "exp": now + 60,
        "typ": "access",
        "iss": "recoup",
        "sid": str(SIGN_IN),
        "ver": 1,
        **change,
    }
    with pytest.raises(Unauthenticated):
        decode_access_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))


def test_missing_claim_is_refused() -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    token = jwt.encode({"sub": "1", "exp": now + 60, "iat": now}, SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        decode_access_token(SECRET, token)


def test_api_key_shape() -> None:
    key, prefix = new_api_key()
    assert api_key_prefix(key) == prefix
    assert prefix.startswith("rcp_")
    assert len(prefix) == len("rcp_") + 8
    for bad in ("rcp_", "rcp_short_x", "rt_abc", "rcp_12345678_", "bearer"):
        assert api_key_prefix(bad) is None
