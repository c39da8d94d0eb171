import datetime as dt

import pytest

from domain.accounts.service import days_past_due
from domain.db import role_url
from domain.errors import InvalidInput
from domain.pagination import decode_cursor, encode_cursor
from domain.search import like_prefix, prefix_tsquery
from domain.tenancy.schemas import DEFAULT_BUCKETS, Bucket
from domain.tenancy.service import check_buckets


def test_default_buckets_cover_every_day_once() -> None:
    buckets = check_buckets(DEFAULT_BUCKETS)
    for days in range(0, 1000):
        assert sum(b.contains(days) for b in buckets) == 1


@pytest.mark.parametrize(
    "buckets",
    [
        [Bucket("a", 1, None)],
        [Bucket("a", 0, 10), Bucket("b", 12, None)],
        [Bucket("a", 0, 10), Bucket("b", 5, None)],
        [Bucket("a", 0, 10), Bucket("b", 11, 20)],
        [Bucket("a", 0, 10), Bucket("a", 11, None)],
        [],
    ],
)
def test_bad_buckets_are_refused(buckets: list[Bucket]) -> None:
    with pytest.raises(InvalidInput):
        check_buckets(buckets)


def test_days_past_due() -> None:
    today = dt.date(2026, 3, 10)
    assert days_past_due(None, today) == 0
    assert days_past_due(dt.date(2026, 3, 11), today) == 0
    assert days_past_due(dt.date(2026, 3, 10), today) == 0
    assert days_past_due(dt.date(2026, 2, 8), today) == 30


def test_search_text_cannot_inject_tsquery_or_like_syntax() -> None:
    assert prefix_tsquery("Ann  O'Brien") == "ann:* & o:* & brien:*"
    assert prefix_tsquery("!&|():*") is None
    assert prefix_tsquery("") is None
    assert like_prefix("50%_off\\") == "50\\%\\_off\\\\%"


def test_cursors_round_trip_and_reject_tampering() -> None:
    assert decode_cursor(encode_cursor(42), tuple[int]) == (42,)
    with pytest.raises(InvalidInput):
        decode_cursor("bm90IGpzb24", tuple[int])
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor("x"), tuple[int])


def test_role_url_swaps_the_user_and_drops_the_password() -> None:
    assert role_url("postgresql://owner:pw@db:5432/recoup", "recoup_app") == (
        "postgresql://recoup_app@db:5432/recoup"
    )
    assert role_url("postgresql://postgres:@/recoup?host=/tmp/pg", "recoup_app") == (
        "postgresql://recoup_app@/recoup?host=/tmp/pg"
    )


def test_a_tenants_cursor_serves_that_tenant_only() -> None:
    cursor = encode_cursor(42, tenant_id=7)
    assert decode_cursor(cursor, tuple[int], tenant_id=7) == (42,)
    for other in (8, 0, -7):
        with pytest.raises(InvalidInput) as caught:
            decode_cursor(cursor, tuple[int], tenant_id=other)
        assert caught.value.field == "cursor"
    with pytest.raises(InvalidInput):  # one given out without a tenant
        decode_cursor(encode_cursor(42), tuple[int], tenant_id=7)
    with pytest.raises(InvalidInput):  # a tenant past int64
        decode_cursor(encode_cursor(42, tenant_id=2**63), tuple[int], tenant_id=7)
