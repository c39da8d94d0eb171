"""Reading a CSV file as a stream of rows, with errors that name where the file is wrong.

The file is read line by line in bytes and decoded here, so a byte that is not of the
declared encoding is reported with its offset and row; a UTF-8 byte order mark is
stripped; NUL bytes (a binary file) and other encodings' marks are refused. Python's
``csv`` does the quoting, strictly, with its field limit set to ``MAX_FIELD_BYTES``.
Memory stays flat: one line, one row at a time.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from pathlib import Path

from domain.errors import InvalidInput

# A field longer than this is a broken file (an unbalanced quote swallowing the rest, or
# not a placement file at all); shorter ones that exceed their column's limit are row errors.
MAX_FIELD_BYTES = 64 * 1024
MAX_COLUMNS = 200
ENCODINGS = ("utf-8", "latin-1", "cp1252")

_UTF8_BOM = codecs.BOM_UTF8
_OTHER_BOMS = {
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
    codecs.BOM_UTF32_LE: "UTF-32",
}


class FileRefused(InvalidInput):
    """The file cannot be read as CSV at all: nothing of it is imported."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


def _lines(path: Path, encoding: str) -> Iterator[str]:
    """Decoded lines, ending with their newline (what ``csv`` needs for quoted newlines)."""
    codec = codecs.lookup(encoding).name
    offset = 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            if number == 1:
                for bom, name in _OTHER_BOMS.items():
                    if raw.startswith(bom):
                        raise FileRefused(
                            f"the file is {name} (it starts with a {name} byte order mark); "
                            "save it as UTF-8 and upload it again"
                        )
                if raw.startswith(_UTF8_BOM):
                    raw = raw[len(_UTF8_BOM) :]
                    offset += len(_UTF8_BOM)
            nul = raw.find(b"\x00")
            if nul >= 0:
                raise FileRefused(
                    f"the file is not text: a NUL byte at byte offset {offset + nul} "
                    f"(line {number})"
                )
            try:
                yield raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise FileRefused(
                    f"the file is not valid {encoding}: byte 0x{raw[exc.start]:02x} at byte "
                    f"offset {offset + exc.start} (line {number}); choose the file's encoding "
                    f"in the mapping ({', '.join(ENCODINGS)})"
                ) from None
            offset += len(raw)


def _configure_csv() -> None:
    # Process-wide, and the same value everywhere Recoup reads CSV.
    if csv.field_size_limit() != MAX_FIELD_BYTES:
        csv.field_size_limit(MAX_FIELD_BYTES)


def read_rows(
    path: Path, *, encoding: str = "utf-8", delimiter: str = ","
) -> Iterator[tuple[int, list[str]]]:
    """``(row number, fields)`` for each data row; the header is row 1, and the first item
    yielded is ``(1, header)``. Row numbers count records, not lines (a quoted field may span
    several lines). Raises ``FileRefused`` for what makes the file unreadable."""
    if encoding not in ENCODINGS:
        raise InvalidInput(
            f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}", field="encoding"
        )
    _configure_csv()
    reader = csv.reader(_lines(path, encoding), delimiter=delimiter, strict=True)
    number = 0
    try:
        for fields in reader:
            number += 1
            if number == 1:
                if len(fields) > MAX_COLUMNS:
                    raise FileRefused(
                        f"the header has {len(fields)} columns (at most {MAX_COLUMNS})"
                    )
            elif not fields or fields == [""]:
                continue  # a blank line, most often the last
            yield number, fields
    except csv.Error as exc:
        message = str(exc)
        if "field larger than field limit" in message:
            reason = f"a field longer than {MAX_FIELD_BYTES // 1024} KiB"
        elif "unexpected end of data" in message or "EOF" in message:
            reason = "a quote that is never closed"
        elif "new-line character seen in unquoted field" in message:
            reason = (
                "a line ends in a lone carriage return (as old Mac files do): save the file "
                "with CRLF or LF line endings"
            )
        else:
            reason = message
        raise FileRefused(f"the file is not valid CSV at row {number + 1}: {reason}") from None
    if number == 0:
        raise FileRefused("the file is empty")


def check_file(
    path: Path, *, encoding: str = "utf-8", delimiter: str = ","
) -> tuple[list[str], int]:
    """Read the whole file once without keeping it: its header and how many data rows it
    has. Every error that would make the file unreadable is found here, before anything
    is written."""
    header: list[str] = []
    rows = 0
    for number, fields in read_rows(path, encoding=encoding, delimiter=delimiter):
        if number == 1:
            header = [h.strip() for h in fields]
        else:
            rows += 1
    if rows == 0:
        raise FileRefused("the file has a header but no rows")
    return header, rows


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
