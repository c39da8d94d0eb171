"""Standard Webhooks: each endpoint's signing secret, kept encrypted, and the signature
of each request.

A secret is ``whsec_`` and the base64 of 32 random bytes; the receiver signs
``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 under those bytes and finds
``v1,<base64 digest>`` among the space-separated signatures of ``webhook-signature``.

The database holds each secret as a Fernet token (AES-128-CBC with HMAC-SHA256, from the
``cryptography`` package) under a key derived from the server's secret key: a reader of the
database alone can neither read a secret nor sign with it, and the worker, which must sign,
can decrypt it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "whsec_"
_PURPOSE = b"recoup webhook signing secrets"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Encrypts and decrypts endpoint secrets under a key derived from the server's (one key
    per ``purpose``: a secret sealed for one use cannot be opened as another's)."""

    def __init__(self, server_secret: str, purpose: bytes = _PURPOSE) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            server_secret.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("the secret was sealed under another server key") from None


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(secrets_: list[str], webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one signature per secret in force (two while a
    rotation's old secret still signs)."""
    return " ".join(signature(s, webhook_id, timestamp, body) for s in secrets_)
