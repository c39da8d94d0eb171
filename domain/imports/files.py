"""Where import files are kept: one file per import under the imports folder, per tenant."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import BinaryIO

from domain.errors import InvalidInput

_CHUNK = 1 << 20


def store(source: BinaryIO, folder: Path, tenant_id: int) -> tuple[Path, int, str]:
    """Copy ``source`` into ``folder`` in chunks (never whole in memory); returns the new
    file's path, size and SHA-256. An empty file is refused and not kept."""
    target_dir = folder / str(int(tenant_id))
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{uuid.uuid4().hex}.csv"
    digest = hashlib.sha256()
    size = 0
    with target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    if size == 0:
        target.unlink()
        raise InvalidInput("the file is empty", field="file")
    return target, size, digest.hexdigest()
