"""The wire protocol of ``/ws``: JSON text frames, decoded and encoded with msgspec.

Client frames::

    {"op": "subscribe", "channel": "account:42", "since": "<pos>"}
    {"op": "unsubscribe", "channel": "account:42"}
    {"op": "ping"}

Server frames::

    {"op": "subscribed", "channel": "account:42", "pos": "<pos>", "recovered": true}
    {"op": "event", "channel": "account:42", "pos": "<pos>", "id": "...", "type": "...", "data": {}}
    {"op": "unsubscribed", "channel": "account:42"}
    {"op": "error", "channel": "account:42", "code": "forbidden", "message": "..."}
    {"op": "pong"}

An event frame is built once per channel (by the relay) and its bytes go unchanged to
every socket: ``head + pos + tail``, where only ``pos`` is known after the event has been
appended to the channel's history.
"""

from __future__ import annotations

import re
import struct
from typing import Any, Final, Literal

import msgspec

# Close codes sent by the server (documented in docs/realtime.md).
CLOSE_RESUME: Final = 4000  # reconnect and resume with `since` (server going away, resync)
CLOSE_UNAUTHORIZED: Final = 4001  # no valid ticket or API key
CLOSE_SIGNED_OUT: Final = 4003  # the identity behind the socket is gone: sign in again
CLOSE_TOO_SLOW: Final = 4008  # this socket fell behind its send bound; reconnect and resume
CLOSE_TOO_MANY: Final = 4029  # this identity holds as many sockets as it may; close one first
CLOSE_TOO_BIG: Final = 1009  # a client frame over the size limit
CLOSE_TRY_LATER: Final = 1013  # the server cannot take sockets right now; back off and retry

NO_POSITION: Final = "0-0"


class Subscribe(msgspec.Struct, tag_field="op", tag="subscribe", forbid_unknown_fields=True):
    channel: str
    since: str | None = None


class Unsubscribe(msgspec.Struct, tag_field="op", tag="unsubscribe", forbid_unknown_fields=True):
    channel: str


class Ping(msgspec.Struct, tag_field="op", tag="ping", forbid_unknown_fields=True):
    pass


ClientFrame = Subscribe | Unsubscribe | Ping
_client_decoder = msgspec.json.Decoder(ClientFrame)


class FrameError(ValueError):
    """A client frame that is not one of ours; ``code`` says how."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def decode_client_frame(data: str | bytes) -> ClientFrame:
    try:
        return _client_decoder.decode(data)
    except RecursionError:
        raise FrameError("bad_frame", "frames are JSON objects, not nested this deep") from None
    except msgspec.DecodeError as exc:
        text = str(exc)
        if "Invalid value" in text and "`$.op`" in text:
            raise FrameError("unknown_op", "op must be subscribe, unsubscribe or ping") from None
        if "missing required field `op`" in text:
            raise FrameError("bad_frame", "a frame needs an op") from None
        if "JSON is malformed" in text or "truncated" in text:
            raise FrameError("bad_frame", "frames are JSON objects") from None
        raise FrameError("bad_frame", text) from None


class Subscribed(msgspec.Struct, tag_field="op", tag="subscribed"):
    channel: str
    pos: str
    recovered: bool


class Unsubscribed(msgspec.Struct, tag_field="op", tag="unsubscribed"):
    channel: str


class Error(msgspec.Struct, tag_field="op", tag="error", omit_defaults=True):
    code: str
    message: str
    channel: str | None = None


class Pong(msgspec.Struct, tag_field="op", tag="pong"):
    pass


_encoder = msgspec.json.Encoder(decimal_format="string")
PONG: Final = _encoder.encode(Pong())


def encode(frame: Subscribed | Unsubscribed | Error | Pong) -> bytes:
    return _encoder.encode(frame)


def event_head(channel: str) -> bytes:
    """Everything of an event frame before its position (the same for every event of a channel)."""
    return b'{"op":"event","channel":' + _encoder.encode(channel) + b',"pos":"'


def event_tail(event_id: str, event_type: str, data_json: bytes) -> bytes:
    """Everything of an event frame after its position (the same for every channel);
    ``data_json`` is the event's data, already JSON."""
    return (
        b'","id":'
        + _encoder.encode(event_id)
        + b',"type":'
        + _encoder.encode(event_type)
        + b',"data":'
        + data_json
        + b"}"
    )


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value)


# Redis stream ids: two unsigned 64-bit numbers in ASCII digits (``isdigit`` and ``int``
# would also take other scripts' digits, and numbers Redis cannot hold).
_POS = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_UINT64_MAX: Final = 2**64 - 1


def parse_pos(pos: str) -> tuple[int, int]:
    """Positions are opaque to clients; here they are Redis stream ids, ``ms-seq``."""
    match = _POS.fullmatch(pos)
    if match is None or max(int(match[1]), int(match[2])) > _UINT64_MAX:
        raise FrameError("bad_since", f"{pos[:50]!r} is not a position this server gave out")
    return int(match[1]), int(match[2])


def ws_text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455 5.2), as a server sends it.

    Server frames carry no mask, so the same bytes can be written to every socket.
    """
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


ErrorCode = Literal[
    "bad_frame",
    "unknown_op",
    "bad_channel",
    "bad_since",
    "forbidden",
    "too_many_subscriptions",
    "unavailable",
    "internal",
]
