"""The wire protocol's parsers: positions as Redis gives them out, frames as JSON objects."""

from __future__ import annotations

import pytest

from channels.protocol import FrameError, decode_client_frame, parse_pos

UINT64_MAX = 2**64 - 1


@pytest.mark.parametrize(
    ("pos", "parsed"),
    [
        ("0-0", (0, 0)),
        ("1700000000000-3", (1700000000000, 3)),
        (f"{UINT64_MAX}-{UINT64_MAX}", (UINT64_MAX, UINT64_MAX)),
    ],
)
def test_positions_redis_gives_out_parse(pos: str, parsed: tuple[int, int]) -> None:
    assert parse_pos(pos) == parsed


@pytest.mark.parametrize(
    "pos",
    [
        "\u0661\u0662\u0663-0",
        "1-\u00b2",
        "\uff11-0",  # a fullwidth one
        f"{UINT64_MAX + 1}-0",
        f"0-{UINT64_MAX + 1}",
        "9" * 5000 + "-0",
        "-1-0",
        "1--1",
        " 1-0",
        "1-0 ",
        "1_0-0",
        "1",
        "",
        "1-",
        "-",
    ],
)
def test_anything_else_is_a_bad_since(pos: str) -> None:
    with pytest.raises(FrameError) as refused:
        parse_pos(pos)
    assert refused.value.code == "bad_since"


@pytest.mark.parametrize(
    "frame",
    [
        '{"channel":' + "[" * 20_000 + "]" * 20_000 + ',"op":"subscribe"}',
        "[" * 100_000,
        '{"op":"subscribe","channel":"wallboard","since":' + "{" * 5000 + "}",
    ],
)
def test_a_deeply_nested_frame_is_a_bad_frame(frame: str) -> None:
    with pytest.raises(FrameError) as refused:
        decode_client_frame(frame)
    assert refused.value.code == "bad_frame"
