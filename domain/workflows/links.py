"""What makes links in messages: the public address and the signing secret."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Links:
    """What the engine needs to make links: the public address and the signing secret."""

    base_url: str
    secret: str
