"""What every vendor's ingest contract provides, and the shared header-token scheme."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_intake.auth import matches_any, secret_list
from webhook_intake.http import Response

if TYPE_CHECKING:
    from webhook_intake.http import Request


class RejectedError(Exception):
    """A delivery refused with a 4xx, a short machine-readable code and a human message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def envelope_error(message: str) -> RejectedError:
    """A 400 for a JSON body that lacks the vendor's envelope."""
    return RejectedError(400, "invalid_envelope", message)


def require_object(document: Any) -> dict[str, Any]:
    """The body as a JSON object, or a 400."""
    if not isinstance(document, dict):
        raise envelope_error("body must be a JSON object")
    return document


def require_object_list(document: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """``document[field]`` as a list of JSON objects, or a 400."""
    items = document.get(field)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise envelope_error(f"'{field}' must be an array of objects")
    return items


def require_id(document: dict[str, Any], field: str) -> None:
    """``document[field]`` is a non-empty string or a number, or a 400."""
    value = document.get(field)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise envelope_error(f"'{field}' is required")


@dataclass(frozen=True)
class Contract:
    """A vendor's ingest contract. Subclasses override what differs from the defaults.

    The ``client_*`` methods are the vendor's side of the same contract: how it calls us.
    ``intake send``, the demo and the tests use them to make correctly signed requests.
    """

    vendor: str
    path: str
    auth_failure_status: int = 401
    deadline_seconds: float = 8.0
    """How long the ingest path may take before answering (inside the vendor's own timeout)."""

    def authenticate(self, request: Request, secret: dict[str, Any], now: float) -> bool:
        """True when the request carries a valid credential for ``secret``."""
        raise NotImplementedError

    def check_route(self, request: Request) -> None:
        """Refuse a request the route should not take (raises :class:`RejectedError`)."""

    def check_envelope(self, request: Request, document: Any) -> None:
        """Refuse a JSON body without the vendor's envelope (raises :class:`RejectedError`)."""
        require_object(document)

    def accepted(self, request: Request, document: Any) -> Response:
        """The answer once the delivery is on the queue."""
        return Response(200, {"accepted": True})

    def correlation_id(self, request: Request) -> str:
        """The id that follows this delivery through logs: the vendor's, else API Gateway's."""
        return request.header("x-request-id") or request.request_id

    def client_route(self, sample_name: str) -> tuple[str, str]:
        """The method and path the vendor uses for a sample (by its file name)."""
        return "POST", self.path

    def client_headers(self, body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
        """The headers the vendor sends with ``body``, credential included."""
        raise NotImplementedError

    def refusal(self) -> Response:
        """The answer to a missing or wrong credential."""
        code = "forbidden" if self.auth_failure_status == 403 else "unauthorized"
        return Response(self.auth_failure_status, {"error": code, "message": "authentication failed"})


@dataclass(frozen=True)
class HeaderTokenContract(Contract):
    """Authentication by a header equal to one of the secret's ``tokens``."""

    header: str = "authorization"

    def accepted_tokens(self, secret: dict[str, Any]) -> list[str]:
        """The tokens that authenticate a delivery (several at once during a rotation)."""
        return secret_list(secret.get("tokens"))

    def authenticate(self, request: Request, secret: dict[str, Any], now: float) -> bool:
        return matches_any(request.header(self.header), self.accepted_tokens(secret))

    def client_headers(self, body: bytes, secret: dict[str, Any], now: float) -> dict[str, str]:
        tokens = self.accepted_tokens(secret)
        return {self.header: tokens[0] if tokens else "", "content-type": "application/json; charset=utf-8"}
