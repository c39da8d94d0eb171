"""The stored values a changed definition would refuse are counted in SQL
(``queries.SATISFIES``); the count agrees with the Python checks of every write
(``values.check_value``): a value fits a type when the write would store it as it is."""

from __future__ import annotations

from typing import Any

import pytest

from domain.custom_fields import queries
from domain.custom_fields.schemas import CustomField
from domain.custom_fields.values import check_value
from domain.errors import InvalidInput
from tests.factories import SeededTenant

OPTIONS = ["a", "b"]
VALUES: list[Any] = [
    "x",
    "a",
    "a" * 1001,
    "",
    1,
    1.5,
    10**15 - 1,
    10**15,
    -(10**15),
    -999999999999999.9,
    1e300,
    True,
    False,
    "1",
    "true",
    "2026-02-28",
    "2026-02-30",
    "2026-1-1",
    "ann@example.com",
    "ann@example",
    "a" * 60 + "@" + "b" * 200 + ".com",
    "+442079460958",
    "020 7946 0958",
    "https://example.com/a?b=1",
    "HTTPS://EXAMPLE.COM",
    "ftp://example.com",
    "https://exa mple.com",
    "https://",
    "https://example.com/" + "a" * 2000,
    ["a"],
    ["a", "b"],
    ["a", "a"],
    ["c"],
    [1],
    {"a": 1},
]


def _fits(kind: str, value: Any) -> bool:
    field = CustomField(
        id=0,
        entity="account",
        key="k",
        label="K",
        type=kind,  # type: ignore[arg-type]
        options=OPTIONS,
        expression=None,
        position=0,
        created_at=None,  # type: ignore[arg-type]
        updated_at=None,  # type: ignore[arg-type]
    )
    try:
        return check_value(field, value, path="custom.k") == value
    except InvalidInput:
        return False


@pytest.mark.parametrize("kind", [k for k in queries.SATISFIES if k != "computed"])
async def test_the_sql_count_agrees_with_the_checks_of_every_write(
    tenant: SeededTenant, kind: str
) -> None:
    async with tenant.db.tenant(tenant.id) as conn:
        base = await conn.fetchrow("SELECT * FROM accounts WHERE tenant_id = $1", tenant.id)
        for n, value in enumerate([*VALUES, None]):
            await conn.execute(
                """INSERT INTO accounts (tenant_id, debtor_id, external_ref, currency,
                  principal, custom) VALUES ($1, $2, $3, 'USD', 1, $4)""",
                tenant.id,
                base["debtor_id"],
                f"SQL-{n}",
                {"k": value},
            )
        counted = await queries.count_unfit(conn, tenant.id, "account", "k", kind, OPTIONS)
    unfit = [v for v in VALUES if not _fits(kind, v)]
    assert counted == len(unfit), (kind, unfit)
