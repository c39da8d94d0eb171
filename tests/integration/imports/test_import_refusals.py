"""A file that cannot be read fails its import with the reason, and nothing of it is written,
however far into the file the fault is."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from domain.db import Database
from domain.errors import InvalidInput
from domain.imports import runner
from domain.imports.mapping import check_header, check_mapping
from domain.imports.reader import FileRefused, check_file
from domain.imports.rows import RowChecker
from tests.factories import SeededTenant
from tests.integration.imports.files import MAPPING, good_row, write_rows
from tests.integration.imports.test_import_run import counts, start


def _good_rows(n: int) -> list[list[str]]:
    return [good_row(i) for i in range(n)]


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        ("Zoë,".encode("latin-1"), "not valid utf-8: byte 0xeb at byte offset"),
        (b'"unclosed,D-1\r\n', "a quote that is never closed"),
        (b'"' + b"z" * 11_000_000 + b'"\r\n', "a field longer than 64 KiB"),
        (b"\x00\x01\x02binary", "the file is not text: a NUL byte"),
    ],
    ids=["latin-1", "unbalanced-quote", "huge-field", "binary"],
)
async def test_a_fault_deep_in_the_file_writes_nothing(
    db: Database, tenant: SeededTenant, tmp_path: Path, tail: bytes, reason: str
) -> None:
    path = write_rows(tmp_path / "f.csv", _good_rows(4_000))
    with path.open("ab") as f:
        f.write(tail)
    import_id = await start(db, tenant, path)
    done = await runner.run_import(db, tenant.id, import_id, batch_rows=1_000)
    assert done.status == "failed"
    assert done.error is not None
    assert reason in done.error
    assert (done.rows_read, done.rows_created) == (0, 0)
    assert set((await counts(db, tenant)).values()) == {0}


async def test_a_header_only_file_fails_and_a_missing_column_is_named(
    db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    empty = write_rows(tmp_path / "empty.csv", [])
    done = await runner.run_import(db, tenant.id, await start(db, tenant, empty))
    assert (done.status, done.error) == ("failed", "the file has a header but no rows")
    header = ["Account", "Debtor", "First", "Last", "Email", "Currency", "Amount", "Fees", "Due"]
    renamed = write_rows(tmp_path / "renamed.csv", _good_rows(3), header=header)
    done = await runner.run_import(db, tenant.id, await start(db, tenant, renamed))
    assert done.status == "failed"
    assert done.error is not None
    assert done.error.startswith("the header has no column 'Balance'")
    assert (await counts(db, tenant))["accounts"] == 0


async def test_a_bom_and_a_declared_latin1_file_import(
    db: Database, tenant: SeededTenant, tmp_path: Path
) -> None:
    rows = [["A-1", "D-1", "Zoë", "Ødegård", "", "EUR", "10.00", "0", ""]]
    bom = write_rows(tmp_path / "bom.csv", rows, encoding="utf-8-sig")
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")
    done = await runner.run_import(db, tenant.id, await start(db, tenant, bom))
    assert (done.status, done.rows_created) == ("done", 1)
    rows[0][0] = "A-2"
    latin = write_rows(tmp_path / "latin.csv", rows, encoding="latin-1")
    latin1 = msgspec.structs.replace(MAPPING, encoding="latin-1")
    done = await runner.run_import(db, tenant.id, await start(db, tenant, latin, latin1))
    assert (done.status, done.rows_created) == ("done", 1)
    async with db.tenant(tenant.id) as conn:
        names = await conn.fetch(
            """SELECT DISTINCT d.first_name, d.last_name FROM accounts a
            JOIN debtors d ON d.id = a.debtor_id WHERE a.external_ref IN ('A-1', 'A-2')"""
        )
    assert [tuple(n) for n in names] == [("Zoë", "Ødegård")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"columns": {**MAPPING.columns, "shoe_size": "Shoe"}}, "mapping.columns.shoe_size"),
        (
            {"columns": {k: v for k, v in MAPPING.columns.items() if k != "principal"}},
            "mapping.columns.principal",
        ),
        (
            {"columns": {k: v for k, v in MAPPING.columns.items() if k != "currency"}},
            "mapping.columns.currency",
        ),
        ({"default_currency": "XYZ"}, "mapping.default_currency"),
        ({"columns": {**MAPPING.columns, "last_name": "First"}}, "mapping.columns.last_name"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_naming_the_field(change: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_mapping(msgspec.structs.replace(MAPPING, **change))
    assert refused.value.field == field


def test_a_default_currency_stands_in_for_a_currency_column() -> None:
    columns = {k: v for k, v in MAPPING.columns.items() if k != "currency"}
    check_mapping(msgspec.structs.replace(MAPPING, columns=columns, default_currency="GBP"))


def test_a_blank_currency_cell_is_the_mappings_default_and_without_one_is_required() -> None:
    header = list(MAPPING.columns.values())
    positions = {field: n for n, field in enumerate(MAPPING.columns)}
    row = dict(zip(MAPPING.columns, good_row(1), strict=True))
    blank = [row[f] if f != "currency" else "" for f in MAPPING.columns]
    with_default = msgspec.structs.replace(MAPPING, default_currency="GBP")
    record = RowChecker(with_default, positions, header).check(2, blank)
    assert not isinstance(record, list), record
    assert "GBP" in record
    refused = RowChecker(MAPPING, positions, header).check(2, blank)
    assert isinstance(refused, list)
    assert [(e.column, e.reason) for e in refused] == [("Currency", "is required")]


@pytest.mark.parametrize(
    ("date_format", "cell", "stored", "reason"),
    [
        ("%Y%m%d", "20261101", "2026-11-01", None),
        ("%Y%m%d", "2026111", None, "is not a date written as 20260131 (%Y%m%d)"),
        ("%Y%m%d", "202611", None, "is not a date written as 20260131 (%Y%m%d)"),
        ("%Y%m%d", "2026 111", None, "is not a date written as 20260131 (%Y%m%d)"),
        ("%d/%m/%Y", "1/2/2026", "2026-02-01", None),
        ("%d/%m/%Y", "31/12/9999", None, "outside the days a date may name"),
        ("%d/%m/%Y", "01/01/0001", None, "outside the days a date may name"),
        ("%d/%m/%Y", "31/12/2999", "2999-12-31", None),
        ("%Y-%m-%d", "1899-12-31", None, "(1900-01-01 to 2999-12-31)"),
        ("%Y-%m-%d", "1900-01-01", "1900-01-01", None),
    ],
)
def test_a_due_date_is_read_in_exactly_its_format_within_the_days_a_date_may_name(
    date_format: str, cell: str, stored: str | None, reason: str | None
) -> None:
    """A format without separators takes exactly its digits (``2026111`` is no date), and a
    date outside 1900 to 2999 is refused: 0001-01-01 and 9999-12-31 would be stored as minus
    and plus infinity, which broke the tenant's exports and aging report."""
    mapping = msgspec.structs.replace(MAPPING, date_format=date_format)
    header = list(MAPPING.columns.values())
    positions = {field: n for n, field in enumerate(MAPPING.columns)}
    row = dict(zip(MAPPING.columns, good_row(1), strict=True))
    cells = [row[f] if f != "due_date" else cell for f in MAPPING.columns]
    checked = RowChecker(mapping, positions, header).check(2, cells)
    if stored is None:
        assert isinstance(checked, list), checked
        [(column, said)] = [(e.column, e.reason) for e in checked]
        assert column == "Due", column
        assert reason is not None
        assert reason in said, said
    else:
        assert not isinstance(checked, list), checked
        assert stored in {str(v) for v in checked}


def test_a_mapped_column_named_twice_in_the_header_is_refused() -> None:
    header = list(MAPPING.columns.values())
    header.append(header[0])
    with pytest.raises(FileRefused, match=f"the header names {header[0]!r} more than once"):
        check_header(MAPPING, header)
    check_header(MAPPING, [*list(MAPPING.columns.values()), "", "", "Unused", "Unused"])


def test_lone_carriage_returns_are_said_in_words(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(",".join(MAPPING.columns.values()).encode() + b"\r" + b"a,b\rc,d\r")
    with pytest.raises(FileRefused, match="a line ends in a lone carriage return"):
        check_file(path)
