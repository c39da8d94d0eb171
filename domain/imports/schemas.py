"""What an import looks like from outside: its file, status and counts."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from domain.imports.mapping import Kind, Mapping

Status = Literal["pending", "running", "done", "failed"]


class Import(msgspec.Struct, kw_only=True):
    id: int
    kind: Kind
    file_name: str
    size_bytes: int
    checksum: str
    status: Status
    mapping_id: int | None
    mapping: Mapping
    rows_read: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    error: str | None
    created_by: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime


class Rejection(msgspec.Struct, frozen=True):
    row: int
    column: str
    reason: str
