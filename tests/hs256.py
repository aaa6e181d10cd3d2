"""HS256 JWTs written and read by hand (hmac, base64, json): an oracle independent of PyJWT and of our code.

The payload may be given as JSON text, so a test can send what a JSON encoder never writes
(``1e400``) or what PyJWT's reader accepts but JSON forbids (``Infinity``, ``NaN``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

HEADER = '{"alg":"HS256","typ":"JWT"}'


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(key: bytes | str) -> bytes:
    return key.encode("utf-8") if isinstance(key, str) else key


def sign(payload: dict[str, Any] | str, key: bytes | str, header: str = HEADER) -> str:
    """A compact JWS: ``b64url(header).b64url(payload).b64url(HMAC-SHA256(key, those two))``."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    signing_input = f"{b64url(header.encode())}.{b64url(text.encode())}"
    signature = hmac.new(_key(key), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def read(token: str, key: bytes | str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of ``token``, after checking its HMAC with ``key`` (AssertionError if wrong)."""
    header, payload, signature = token.split(".")
    expected = hmac.new(_key(key), f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
    assert hmac.compare_digest(b64url_decode(signature), expected), "the HMAC does not match"
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def access_token_key(client_secret: str) -> bytes:
    """The access-token key as docs/openweb-oauth.md states it: HMAC-SHA256(client_secret, the label)."""
    return hmac.new(client_secret.encode("utf-8"), b"webhook-intake access token v1", hashlib.sha256).digest()


def with_raw(claims: dict[str, Any], **raw: str) -> str:
    """``claims`` as JSON text, with the named claims set to raw JSON text (``exp="Infinity"``)."""
    kept = json.dumps({name: value for name, value in claims.items() if name not in raw})
    return kept[:-1] + "".join(f', "{name}": {text}' for name, text in raw.items()) + "}"


NOT_A_TIME = ["Infinity", "-Infinity", "NaN", "1e400", "-1e400", "1" + "0" * 400, "-1"]
"""Time claims no NumericDate check may take: non-finite (Python's json reads the first five),
a 401-digit integer, and a moment before 1970."""
