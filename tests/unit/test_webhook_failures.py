"""Why a delivery failed, as the endpoint's page says it."""

from __future__ import annotations

import errno

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from domain.webhooks.delivery import described

KEY = ConnectionKey("hooks.example", 443, True, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (
            aiohttp.ClientConnectorError(KEY, OSError(errno.ECONNREFUSED, "Connect call failed")),
            "could not connect to hooks.example:443: connection refused",
        ),
        (
            aiohttp.ClientConnectorError(KEY, OSError(errno.EHOSTUNREACH, "x")),
            "could not connect to hooks.example:443: no route to host",
        ),
        (
            aiohttp.ServerDisconnectedError(),
            "the receiver closed the connection without answering",
        ),
        (UnicodeError("label too long"), "the URL's host name cannot be written in ASCII"),
        (
            OSError(errno.ENETUNREACH, "Network is unreachable"),
            "the network failed: network is unreachable",
        ),
        (ValueError(), "the request failed (ValueError)"),
    ],
)
def test_a_failure_is_said_in_words(exc: BaseException, said: str) -> None:
    assert described(exc) == said
