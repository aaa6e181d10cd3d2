"""OpenWeb's side of ``client_secret_jwt``: the client assertion it signs and the token request it sends.

The stack only verifies these; ``intake send --auth oauth`` and the tests make them.
The values are OpenWeb's documented ones, written out here rather than taken from the token
route's code, so that a change on our side shows up as a refused request instead of moving
both sides at once.
"""

from __future__ import annotations

import uuid
import warnings
from urllib.parse import urlencode

import jwt
from jwt.warnings import InsecureKeyLengthWarning

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHM = "HS256"
ASSERTION_LIFETIME = 600
"""OpenWeb's assertions live 600 s."""


def client_assertion(
    client_id: str,
    client_secret: str,
    audience: str,
    now: float,
    *,
    jti: str | None = None,
) -> str:
    """A client assertion as OpenWeb makes one: HS256 with the client secret, ``iss`` = ``sub`` = client id."""
    issued_at = int(now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + ASSERTION_LIFETIME,
        "jti": jti or uuid.uuid4().hex,
    }
    # PyJWT warns (a warning with a line of its code) of an HMAC key under 32 bytes: the key is the
    # secret the stack under test holds (the local stack's fake one, or whatever an operator set), and
    # these are test requests; the warning told the operator nothing they could act on here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, client_secret, algorithm=ALGORITHM)


def token_request_body(assertion: str, **extra: str) -> bytes:
    """The form body of a token request for ``assertion`` (``extra``: ``client_id``, ``scope``...)."""
    return urlencode(
        {"grant_type": GRANT_TYPE, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, **extra}
    ).encode("ascii")
