"""What the log redacts from the addresses it writes: credentials in query parameters and
in the paths of debtors' links, and nothing else."""

from __future__ import annotations

import io
import json
import logging

import pytest

from server.observability import configure_logging, redact, secret_parameter


@pytest.mark.parametrize(
    "name",
    [
        "ticket",
        "TICKET",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "accessToken",
        "client_secret",
        "password",
        "new_password",
        "signature",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "auth",
        "authorization",
        "session_id",
        "sessionid",
        "apikey",
        "api_key",
        "api-key",
        "key",
        "private.key",
        "sig",
        "code",
        "otp",
        "pin",
        "pwd",
        "checkout",
        "nonce",
        "jwt",
    ],
)
def test_token_like_parameter_names_are_secret(name: str) -> None:
    assert secret_parameter(name)


@pytest.mark.parametrize(
    "name",
    [
        "since",
        "cursor",
        "limit",
        "status",
        "q",
        "sort",
        "page",
        "design",
        "monkey",
        "keyword",
        "tick",
    ],
)
def test_other_parameter_names_are_not(name: str) -> None:
    assert not secret_parameter(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '127.0.0.1:5 - "WebSocket /ws?ticket=abc.DEF-123" [accepted]',
            '127.0.0.1:5 - "WebSocket /ws?ticket=[redacted]" [accepted]',
        ),
        (
            "/ws?since=12-0&ticket=abc&limit=5",
            "/ws?since=12-0&ticket=[redacted]&limit=5",
        ),
        (
            "GET /api?access_token=x1&cursor=c2&api_key=k3#frag",
            "GET /api?access_token=[redacted]&cursor=c2&api_key=[redacted]#frag",
        ),
        ("/x?Token=abc def", "/x?Token=[redacted] def"),
        ("/x?ticket=", "/x?ticket="),
        ("/pay/tok3n.sig/summary?x=1", "/pay/[redacted]/summary?x=1"),
        ("/optout/abc", "/optout/[redacted]"),
        ("/sandbox/checkout/abc?signature=s", "/sandbox/checkout/[redacted]?signature=[redacted]"),
        ("/pay/{token:str}", "/pay/{token:str}"),
        ("nothing to see here", "nothing to see here"),
        ("a=b and key=c", "a=b and key=c"),
    ],
)
def test_addresses_lose_their_credentials_and_keep_the_rest(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("as_json", [True, False])
def test_uvicorns_socket_line_is_written_redacted(
    as_json: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line uvicorn writes for every socket, in both the JSON and the readable log."""
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("INFO", json=as_json)
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" %s',
            "127.0.0.1:50000",
            "/ws?ticket=s3cr3t-t1ck3t&since=4-2&access_token=t0k3n",
            "[accepted]",
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    written = out.getvalue()
    assert "s3cr3t-t1ck3t" not in written
    assert "t0k3n" not in written
    assert "/ws?ticket=[redacted]&since=4-2&access_token=[redacted]" in written
    if as_json:
        assert json.loads(written.splitlines()[-1])["logger"] == "uvicorn.error"


@pytest.mark.parametrize(("level", "said"), [("INFO", False), ("DEBUG", True)])
def test_taskiqs_line_per_job_is_kept_for_debug(
    level: str, said: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """taskiq's INFO line for every job sent and run would bury the log; its other lines
    (started, stopping) and its warnings stay."""
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    try:
        configure_logging(level, json=True)
        configure_logging(level, json=True)  # configured twice, filtered once
        logging.getLogger("taskiq.receiver.receiver").info("Executing task %s with ID: %s", "a", 1)
        logging.getLogger("taskiq.cli.scheduler.run").info("Sending task %s with id %s.", "b", 2)
        logging.getLogger("taskiq.receiver.receiver").info("Listening started.")
        logging.getLogger("taskiq.cli.scheduler.run").info("Startup completed.")
        logging.getLogger("taskiq.receiver.receiver").warning("Executing task %s failed", "c")
    finally:
        root.handlers[:] = handlers
        root.setLevel(root_level)
        configure_logging_filters_reset()
    written = out.getvalue()
    assert ("Executing task a with ID: 1" in written) is said
    assert ("Sending task b with id 2." in written) is said
    for line in ("Listening started.", "Startup completed.", "Executing task c failed"):
        assert line in written


def configure_logging_filters_reset() -> None:
    for name in ("taskiq.receiver.receiver", "taskiq.cli.scheduler.run"):
        logging.getLogger(name).filters.clear()
