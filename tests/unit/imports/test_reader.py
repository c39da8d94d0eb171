"""The CSV reader: what it accepts (a BOM, a declared Latin-1) and the clear refusal of what
it cannot read (another encoding, a binary file, an unclosed quote, a huge field, no rows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.imports.reader import MAX_FIELD_BYTES, FileRefused, check_file, read_rows

HEADER = b"Account,Debtor,Name\r\n"


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    return path


def test_a_utf8_byte_order_mark_is_stripped_from_the_first_column(tmp_path: Path) -> None:
    path = _file(tmp_path, b"\xef\xbb\xbf" + HEADER + "A-1,D-1,Zoë\r\n".encode())
    assert list(read_rows(path)) == [(1, ["Account", "Debtor", "Name"]), (2, ["A-1", "D-1", "Zoë"])]


def test_latin1_bytes_in_a_utf8_file_are_refused_with_their_offset_and_line(
    tmp_path: Path,
) -> None:
    path = _file(tmp_path, HEADER + "A-1,D-1,Zoë\r\n".encode("latin-1"))
    with pytest.raises(FileRefused) as refused:
        check_file(path)
    offset = len(HEADER) + len(b"A-1,D-1,Zo")
    assert refused.value.detail == (
        f"the file is not valid utf-8: byte 0xeb at byte offset {offset} (line 2); "
        "choose the file's encoding in the mapping (utf-8, latin-1, cp1252)"
    )
    assert refused.value.field == "file"


def test_a_file_declared_latin1_is_read_as_latin1(tmp_path: Path) -> None:
    path = _file(tmp_path, HEADER + "A-1,D-1,Zoë\r\n".encode("latin-1"))
    assert list(read_rows(path, encoding="latin-1"))[1] == (2, ["A-1", "D-1", "Zoë"])


def test_an_unknown_encoding_is_refused_naming_the_encoding(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as refused:
        list(read_rows(_file(tmp_path, HEADER), encoding="ebcdic"))
    assert refused.value.field == "encoding"


def test_utf16_is_refused_by_its_byte_order_mark(tmp_path: Path) -> None:
    path = _file(tmp_path, "Account,Debtor\r\n".encode("utf-16"))
    with pytest.raises(FileRefused, match="UTF-16"):
        check_file(path)


def test_a_binary_file_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)))
    with pytest.raises(FileRefused, match=r"not text: a NUL byte at byte offset 5 \(line 1\)"):
        check_file(path)


def test_an_unclosed_quote_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = _file(tmp_path, HEADER + b'A-1,D-1,Ann\r\nA-2,"D-2,Bob\r\nA-3,D-3,Cy\r\n')
    with pytest.raises(FileRefused) as refused:
        check_file(path)
    assert (
        refused.value.detail == "the file is not valid CSV at row 3: a quote that is never closed"
    )


def test_a_field_at_the_limit_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    at_limit = HEADER + b"A-1,D-1," + b"x" * MAX_FIELD_BYTES + b"\r\n"
    assert check_file(_file(tmp_path, at_limit)) == (["Account", "Debtor", "Name"], 1)
    over = HEADER + b"A-1,D-1," + b"x" * (MAX_FIELD_BYTES + 1) + b"\r\n"
    with pytest.raises(FileRefused) as refused:
        check_file(_file(tmp_path, over))
    assert refused.value.detail == "the file is not valid CSV at row 2: a field longer than 64 KiB"


def test_a_ten_megabyte_field_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, HEADER + b'A-1,D-1,"' + b"y" * 10_000_000 + b'"\r\n')
    with pytest.raises(FileRefused, match="a field longer than 64 KiB"):
        check_file(path)


def test_a_header_only_file_and_an_empty_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="a header but no rows"):
        check_file(_file(tmp_path, HEADER + b"\r\n"))
    with pytest.raises(FileRefused, match="the file is empty"):
        check_file(_file(tmp_path, b""))


def test_quoted_newlines_stay_in_their_field_and_rows_count_records(tmp_path: Path) -> None:
    path = _file(tmp_path, HEADER + b'A-1,D-1,"two\r\nlines"\r\nA-2,D-2,Bo\r\n')
    assert list(read_rows(path))[1:] == [
        (2, ["A-1", "D-1", "two\r\nlines"]),
        (3, ["A-2", "D-2", "Bo"]),
    ]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2_000))
def test_any_bytes_are_read_or_refused_clearly(tmp_path: Path, data: bytes) -> None:
    path = _file(tmp_path, data)
    refused: FileRefused | None = None
    try:
        header, rows = check_file(path)
    except FileRefused as exc:
        refused = exc
    if refused is not None:
        assert refused.detail
        assert refused.field == "file"
    else:
        assert rows >= 1
        assert isinstance(header, list)
