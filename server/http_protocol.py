"""Uvicorn's httptools protocol, answering a request it cannot parse as the API answers
everything: an RFC 9457 problem (``application/problem+json``), not a line of text/plain.

Such a request never reaches the application: a header holding characters HTTP does not
allow (a control character in an Idempotency-Key, say), a broken request line. Everything
else is uvicorn's own.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from server.problems import PROBLEM_JSON, problem_bytes

UNREADABLE = (
    "the request is not valid HTTP/1.1: its request line, a header, or the framing of its "
    "body cannot be read (a control character in a header's value, say)"
)


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        url = getattr(self, "url", b"") or b""
        path = url.split(b"?", 1)[0].decode("ascii", "replace")
        body = problem_bytes(400, UNREADABLE, path if path.isprintable() else "")
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()
