"""The screens count a currency's decimals as the server does: where the browser's (CLDR's
display digits) differ, the client carries ISO 4217's, the same list as ``domain.money``."""

from __future__ import annotations

import re
from pathlib import Path

from domain.money import _ISO_MINOR_UNITS

DOM_JS = Path(__file__).resolve().parents[2] / "frontend" / "js" / "dom.js"


def test_the_client_overrides_the_same_currencies_with_the_same_digits() -> None:
    text = DOM_JS.read_text(encoding="utf-8")
    block = re.search(r"const ISO_MINOR_UNITS = \{(.*?)\};", text, re.S)
    assert block is not None
    pairs = dict(re.findall(r"([A-Z]{3}): (\d)", block[1]))
    assert {k: int(v) for k, v in pairs.items()} == _ISO_MINOR_UNITS
