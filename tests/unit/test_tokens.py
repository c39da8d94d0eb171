import datetime as dt
import hashlib
import re
import uuid

import jwt
import pytest

from domain.actor import Session
from domain.auth.tokens import (
    api_key_prefix,
    decode_access_token,
    digest,
    issue_access_token,
    new_api_key,
    new_refresh_token,
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


def forged(key: str = SECRET, **change: object) -> str:
    """An access token signed with ``key``, issued now, with ``change`` applied."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "sub": "7",
        "tid": 2,
        "role": "supervisor",
        "jti": "j",
        "iat": now,
        "exp": now + 60,
        "typ": "access",
        "iss": "recoup",
        "sid": str(SIGN_IN),
        "ver": 3,
        **change,
    }
    return jwt.encode(claims, key, algorithm="HS256")


def test_an_access_token_carries_who_where_and_which_sign_in() -> None:
    token, claims = issue_access_token(
        SECRET,
        user_id=12,
        tenant_id=5,
        role="readonly",
        ttl=300,
        now=NOW,
        sign_in=SIGN_IN,
        version=2,
    )
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert payload == {
        "sub": "12",
        "tid": 5,
        "role": "readonly",
        "jti": claims.jti,
        "exp": int(NOW.timestamp()) + 300,
        "iat": int(NOW.timestamp()),
        "typ": "access",
        "iss": "recoup",
        "sid": str(SIGN_IN),
        "ver": 2,
    }
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert len(claims.jti) == 32
    assert claims.user_id == 12
    assert claims.session() == Session(
        sign_in=SIGN_IN, version=2, expires_at=int(NOW.timestamp()) + 300
    )


def test_five_seconds_of_clock_difference_are_forgiven_and_ten_are_not() -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    assert decode_access_token(SECRET, forged(exp=now - 2)).ver == 3
    with pytest.raises(Unauthenticated) as expired:
        decode_access_token(SECRET, forged(exp=now - 10))
    assert str(expired.value) == "access token expired; refresh it"


@pytest.mark.parametrize(
    "change",
    [
        {"typ": "refresh"},
        {"role": "owner"},
        {"iss": "someone else"},
        {"sub": None},
        {"ver": "1"},
    ],
)
def test_what_is_not_our_access_token_is_refused_with_one_message(change: dict) -> None:
    for token in (forged(**change), forged(key="another-secret-" * 4), "not.a.token"):
        with pytest.raises(Unauthenticated) as refused:
            decode_access_token(SECRET, token)
        assert str(refused.value) == "access token is not valid"


def test_a_token_signed_with_another_algorithm_is_refused() -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = jwt.decode(forged(), SECRET, algorithms=["HS256"])
    other = jwt.encode({**claims, "exp": now + 60}, SECRET, algorithm="HS384")
    with pytest.raises(Unauthenticated) as refused:
        decode_access_token(SECRET, other)
    assert str(refused.value) == "access token is not valid"


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "jti", "typ", "tid", "iss", "sid", "ver"])
def test_each_claim_is_required(missing: str) -> None:
    claims = jwt.decode(forged(), SECRET, algorithms=["HS256"])
    del claims[missing]
    with pytest.raises(Unauthenticated) as refused:
        decode_access_token(SECRET, jwt.encode(claims, SECRET, algorithm="HS256"))
    assert str(refused.value) == "access token is not valid"


def test_secrets_are_kept_as_their_sha256() -> None:
    assert digest("rt_abc") == hashlib.sha256(b"rt_abc").hexdigest()
    assert digest("é") == hashlib.sha256("é".encode()).hexdigest()


def test_a_refresh_token_is_rt_and_256_random_bits() -> None:
    tokens = {new_refresh_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert re.fullmatch(r"rt_[A-Za-z0-9_-]{43}", token), token


def test_an_api_key_is_its_prefix_and_256_random_bits() -> None:
    key, prefix = new_api_key()
    assert re.fullmatch(r"rcp_[0-9a-f]{8}", prefix), prefix
    assert re.fullmatch(re.escape(prefix) + r"_[A-Za-z0-9_-]{43}", key), key


@pytest.mark.parametrize(
    ("key", "prefix"),
    [
        ("rcp_0a1b2c3d_s3cr3t", "rcp_0a1b2c3d"),
        ("rcp_0a1b2c3d_s3_cr_3t", "rcp_0a1b2c3d"),
        ("rcp_0a1b2c3_s3cr3t", None),  # seven characters
        ("rcp_0a1b2c3d4_s3cr3t", None),  # nine
        ("rcp_0a1b2c3d", None),  # no secret
        ("rcp_0a1b2c3d_", None),
        ("xrcp_0a1b2c3d_s3cr3t", None),
        ("rt_0a1b2c3d_s3cr3t", None),
    ],
)
def test_the_prefix_of_a_key_is_found_only_in_a_key_of_our_shape(
    key: str, prefix: str | None
) -> None:
    assert api_key_prefix(key) == prefix
